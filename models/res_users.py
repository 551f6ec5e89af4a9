from odoo import models
from odoo.exceptions import AccessError

# What can turn an internal user into someone who left: archiving, or a change of groups.
OFFBOARDING_KEYS = ("active", "groups_id")


class ResUsers(models.Model):
    _inherit = "res.users"

    def write(self, vals):
        result = super().write(vals)
        if any(
            key in OFFBOARDING_KEYS or key.startswith(("in_group_", "sel_groups_")) for key in vals
        ):
            self._microsoft_contacts_offboard()
        return result

    def _microsoft_contacts_offboard(self):
        """Users archived or made portal users stop syncing at once (R9)."""
        left = self.with_context(active_test=False).filtered(
            lambda user: not user.active or user.share
        )
        if left:
            Account = self.env["microsoft.contacts.account"].sudo()
            Account.search(
                [("user_id", "in", left.ids), ("state", "!=", "not_connected")]
            )._offboard()

    def action_open_microsoft_contacts_account(self):
        """Open one's own Outlook sync page from the preferences (created on first use)."""
        self.ensure_one()
        if self != self.env.user or not self.env.user._is_internal():
            raise AccessError(self.env._("You can only open your own Outlook sync."))
        return self.env["microsoft.contacts.account"]._get_my_account()._get_form_action()
