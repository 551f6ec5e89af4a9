import time

from odoo import api, fields, models
from odoo.exceptions import AccessError

# What can turn an internal user into someone who left: archiving, or a change of groups.
OFFBOARDING_KEYS = ("active", "groups_id")
SYNC_GROUP = "microsoft_contacts.group_microsoft_contacts_user"
RESTRICT_PARAM = "microsoft_contacts.restrict_to_group"
# Users taken out in bulk (a group edited, Settings restricting who may sync): the Graph calls
# that delete their subscriptions share this many seconds; the request never waits longer.
BULK_OFFBOARD_SECONDS = 20


class ResUsers(models.Model):
    _inherit = "res.users"

    microsoft_contacts_may_sync = fields.Boolean(
        "May Sync Outlook Contacts", compute="_compute_microsoft_contacts_may_sync"
    )

    @api.depends("share", "groups_id")
    def _compute_microsoft_contacts_may_sync(self):
        restricted = self._microsoft_contacts_sync_restricted()
        group = self.env.ref(SYNC_GROUP, raise_if_not_found=False)
        for user in self:
            user.microsoft_contacts_may_sync = user._is_internal() and (
                not restricted or (group and group in user.groups_id)
            )

    @api.model
    def _microsoft_contacts_sync_restricted(self):
        """Settings restrict the Outlook sync to the group 'Outlook Contacts Sync / User'."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        return bool(get_param(RESTRICT_PARAM))

    def _microsoft_contacts_check_may_sync(self):
        """Refuse, readably, a user the administrator did not allow to sync."""
        self.ensure_one()
        if not self._is_internal():
            raise AccessError(self.env._("Only internal users can sync Outlook contacts."))
        if not self.sudo().microsoft_contacts_may_sync:
            raise AccessError(
                self.env._(
                    "Your administrator allows only some users to sync their Outlook contacts. "
                    "Ask to be added to the group “Outlook Contacts Sync / User”."
                )
            )

    def write(self, vals):
        result = super().write(vals)
        if any(
            key in OFFBOARDING_KEYS or key.startswith(("in_group_", "sel_groups_")) for key in vals
        ):
            self._microsoft_contacts_offboard()
        return result

    def _microsoft_contacts_offboard(self):
        """Users archived, made portal users or no longer allowed to sync stop at once (R9)."""
        users = self.with_context(active_test=False)
        left = users.filtered(lambda user: not user.active or not user.microsoft_contacts_may_sync)
        if left:
            Account = self.env["microsoft.contacts.account"].sudo()
            Account.search(
                [("user_id", "in", left.ids), ("state", "!=", "not_connected")]
            ).with_context(
                microsoft_contacts_unsubscribe_deadline=time.time() + BULK_OFFBOARD_SECONDS
            )._offboard()

    def action_open_microsoft_contacts_account(self):
        """Open one's own Outlook sync page from the preferences (created on first use)."""
        self.ensure_one()
        if self != self.env.user:
            raise AccessError(self.env._("You can only open your own Outlook sync."))
        self._microsoft_contacts_check_may_sync()
        return self.env["microsoft.contacts.account"]._get_my_account()._get_form_action()
