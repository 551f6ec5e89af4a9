import { registry } from "@web/core/registry";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";
import { useSyncWithOutlook } from "./sync_with_outlook_hook";

export class MicrosoftContactsListController extends ListController {
    setup() {
        super.setup();
        this.syncWithOutlook = useSyncWithOutlook({ onClose: () => this.model.load() });
    }
}

export const microsoftContactsListView = {
    ...listView,
    Controller: MicrosoftContactsListController,
    buttonTemplate: "microsoft_contacts.ListView.Buttons",
};

registry.category("views").add("microsoft_contacts_list", microsoftContactsListView);
