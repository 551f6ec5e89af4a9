import { registry } from "@web/core/registry";
import { KanbanController } from "@web/views/kanban/kanban_controller";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { useSyncWithOutlook } from "./sync_with_outlook_hook";

export class MicrosoftContactsKanbanController extends KanbanController {
    setup() {
        super.setup();
        this.syncWithOutlook = useSyncWithOutlook({ onClose: () => this.model.load() });
    }
}

export const microsoftContactsKanbanView = {
    ...kanbanView,
    Controller: MicrosoftContactsKanbanController,
    buttonTemplate: "microsoft_contacts.KanbanView.Buttons",
};

registry.category("views").add("microsoft_contacts_kanban", microsoftContactsKanbanView);
