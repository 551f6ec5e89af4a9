import { registry } from "@web/core/registry";

const SYNC_BUTTON = ".o_control_panel .o_microsoft_contacts_sync_button";
const PREVIEW = ".modal:has(.o_form_view):contains(first sync with Outlook)";

function waitForUnload() {
    return new Promise((resolve) =>
        window.addEventListener("beforeunload", resolve, { once: true })
    );
}

registry.category("web_tour.tours").add("microsoft_contacts_sync_with_outlook", {
    url: "/odoo/contacts",
    steps: () => [
        {
            content: "Not connected yet: Sync with Outlook sends the user to Microsoft's sign-in",
            trigger: `.o_kanban_view ${SYNC_BUTTON}:enabled`,
            timeout: 30000,
            async run(helpers) {
                const unloading = waitForUnload();
                await helpers.click();
                await unloading;
            },
        },
        {
            content: "After consenting, the browser is back on the Contacts view",
            trigger: `.o_kanban_view ${SYNC_BUTTON}:enabled`,
            timeout: 30000,
            run() {
                if (window.location.pathname !== "/odoo/contacts") {
                    throw new Error(`Came back to ${window.location.href}, not to Contacts`);
                }
            },
        },
        {
            content: "Connected: Sync with Outlook opens the preview of the first sync",
            trigger: `.o_kanban_view ${SYNC_BUTTON}:enabled`,
            run: "click",
        },
        {
            content: "The preview lists what would come from Outlook",
            trigger: `${PREVIEW} .nav-link:contains(Create in Odoo)`,
            timeout: 30000,
            run: "click",
        },
        {
            trigger: `${PREVIEW} .o_data_row:contains(Adele Vance)`,
        },
        {
            content: "Apply the first sync",
            trigger: `${PREVIEW} .modal-footer button[name=action_apply]`,
            run: "click",
        },
        {
            content: "The preview closes and the contacts from Outlook are in Odoo",
            trigger: "body:not(:has(.modal)) .o_kanban_record:contains(Adele Vance)",
            timeout: 30000,
        },
        {
            trigger: ".o_kanban_record:contains(Alex Wilber)",
        },
        {
            content: "They are in the list view too",
            trigger: ".o_control_panel .o_switch_view.o_list",
            run: "click",
        },
        {
            trigger: `.o_list_view ${SYNC_BUTTON}`,
        },
        {
            trigger: ".o_list_view .o_data_row:contains(Adele Vance)",
        },
        {
            content: "Open the Sync Log",
            trigger: `button[data-menu-xmlid="contacts.res_partner_menu_config"]`,
            run: "click",
        },
        {
            trigger: `a[data-menu-xmlid="microsoft_contacts.menu_microsoft_contacts_sync_log"]`,
            run: "click",
        },
        {
            content: "Open the run of the first sync",
            trigger: ".o_list_view .o_data_row td[name=summary]:contains(To Odoo: 3 created)",
            run: "click",
        },
        {
            content: "Undo this run",
            trigger: ".o_form_view button[name=action_undo]",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The new run puts back what the first sync did",
            trigger: ".o_form_view .o_field_widget[name=undo_of_id]",
            timeout: 30000,
        },
        {
            trigger: ".o_form_view .o_field_widget[name=summary]:contains(Undo of run)",
        },
        {
            trigger: ".o_form_view:not(:has(button[name=action_undo]))",
        },
    ],
});
