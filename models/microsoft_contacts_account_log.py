from odoo import models


class MicrosoftContactsAccountLog(models.Model):
    """The sync log as seen from an Outlook account."""

    _inherit = "microsoft.contacts.account"

    def action_open_sync_runs(self):
        """This account's runs: its user's own log, or any account's for an administrator."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "microsoft_contacts.action_microsoft_contacts_sync_run"
        )
        return {
            **action,
            "name": self.env._("Sync Log of %s", self.display_name),
            "domain": [("account_id", "=", self.id)],
            "context": {},
        }
