from odoo import models
from odoo.exceptions import AccessError


class ResUsers(models.Model):
    _inherit = "res.users"

    def action_open_microsoft_contacts_account(self):
        """Open one's own Outlook sync page from the preferences (created on first use)."""
        self.ensure_one()
        if self != self.env.user or not self.env.user._is_internal():
            raise AccessError(self.env._("You can only open your own Outlook sync."))
        return self.env["microsoft.contacts.account"]._get_my_account()._get_form_action()
