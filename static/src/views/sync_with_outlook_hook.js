import { useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { session } from "@web/session";
import { useService } from "@web/core/utils/hooks";

/**
 * The "Sync with Outlook" button of the Contacts views: the server decides what comes next
 * (connect first, preview the first sync, or queue one) and answers with an action to run.
 * The current address goes along so that a sign-in started here comes back to this view.
 * Users the administrator did not allow to sync do not see the button (the server refuses
 * them too).
 *
 * @param {Object} [options]
 * @param {Function} [options.onClose] called when a dialog the answer opened (the preview
 *      of the first sync) is closed, e.g. to show the contacts it brought in
 */
export function useSyncWithOutlook({ onClose } = {}) {
    const orm = useService("orm");
    const actionService = useService("action");
    const state = useState({ pending: false });

    async function run() {
        if (state.pending) {
            return;
        }
        state.pending = true;
        try {
            const { pathname, search } = browser.location;
            const action = await orm.call(
                "microsoft.contacts.account",
                "action_sync_from_contacts",
                [`${pathname}${search}`]
            );
            if (action) {
                await actionService.doAction(action, { onClose });
            }
        } finally {
            state.pending = false;
        }
    }

    // Settings may restrict the sync to a group: the server says whether this user may.
    const allowed = session.microsoft_contacts_may_sync === true;

    return { state, run, allowed };
}
