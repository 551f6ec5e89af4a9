"""Starting over: a reset of the sync, or another mailbox after a Disconnect."""

from odoo import Command, fields, models


class MicrosoftContactsAccountReset(models.Model):
    _inherit = "microsoft.contacts.account"

    folder_reset = fields.Boolean(
        groups="base.group_system",
        copy=False,
        help="The sync was reset: the next run finds its folder by name again and reads it whole.",
    )

    def action_reset_outlook_sync(self):
        """Start over: the folder is found by name again and read whole, behind a preview.

        What the user decided stays: contacts left out, pairs no longer synced, contacts
        archived or deleted in Odoo keep their links, so nothing comes back unasked. The pairs
        of a folder that is not the same any more are forgotten by the next run, which matches
        the contacts in the new folder again (see _links).
        """
        self._check_can_manage()
        for account in self.sudo():
            account._hold_sync_lock()
            account._read_odoo_whole_next()
            account.write(
                {"delta_link": False, "folder_reset": True, "initial_sync_confirmed": False}
            )
            self.env["microsoft.contacts.sync.retry"].sudo().search(
                [("account_id", "=", account.id)]
            ).unlink()
        return True

    def _forget_mailbox(self):
        """Another mailbox signs in after a Disconnect: nothing of the old one applies.

        Contacts the user stopped syncing stay left out; the rest is matched anew, behind the
        preview of a first sync.
        """
        for account in self.sudo():
            account._hold_sync_lock()
            account._read_odoo_whole_next()
            stopped = account.link_ids.filtered("excluded").partner_id
            account.excluded_partner_ids = [Command.link(pid) for pid in stopped.ids]
            account.link_ids.unlink()
            self.env["microsoft.contacts.sync.retry"].sudo().search(
                [("account_id", "=", account.id)]
            ).unlink()
            account.write(
                {
                    "folder_id": False,
                    "delta_link": False,
                    "folder_reset": False,
                    "initial_sync_confirmed": False,
                }
            )
