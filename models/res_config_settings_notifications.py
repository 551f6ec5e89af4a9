from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .microsoft_contacts_account_subscription import (
    DEFAULT_DEBOUNCE,
    ENABLED_PARAM,
    ERROR_PARAM,
    MAX_DEBOUNCE,
)


class ResConfigSettingsNotifications(models.TransientModel):
    """Settings of the change notifications (R12): on only where Graph can reach Odoo."""

    _inherit = "res.config.settings"

    microsoft_contacts_notifications = fields.Boolean(
        "Odoo is reachable from the internet over HTTPS",
        config_parameter=ENABLED_PARAM,
        groups="base.group_system",
        help="Microsoft Graph tells Odoo when a contact of a user's Outlook folder changes, "
        "and the change reaches Odoo within a minute. Graph must reach this Odoo's public "
        "HTTPS address (web.base.url, or the system parameter "
        "microsoft_contacts.notification_url). The scheduled sync keeps running as the "
        "safety net, and still carries Odoo's changes to Outlook.",
    )
    microsoft_contacts_notification_debounce = fields.Integer(
        "Wait After a Notification (s)",
        config_parameter="microsoft_contacts.notification_debounce",
        default=DEFAULT_DEBOUNCE,
        groups="base.group_system",
        help="Notifications that arrive within these seconds make one sync.",
    )
    microsoft_contacts_notification_endpoint = fields.Char(
        "Notification Address",
        compute="_compute_microsoft_contacts_notification_endpoint",
        groups="base.group_system",
    )
    microsoft_contacts_notification_error = fields.Char(
        "Last Notification Problem",
        compute="_compute_microsoft_contacts_notification_endpoint",
        groups="base.group_system",
    )

    @api.depends("microsoft_contacts_notifications")
    def _compute_microsoft_contacts_notification_endpoint(self):
        Account = self.env["microsoft.contacts.account"]
        try:
            endpoint = Account._notification_urls()[0]
        except UserError:
            endpoint = Account._notification_base_url() or "web.base.url"
        error = self.env["ir.config_parameter"].sudo().get_param(ERROR_PARAM) or False
        for settings in self:
            settings.microsoft_contacts_notification_endpoint = endpoint
            settings.microsoft_contacts_notification_error = error

    @api.constrains("microsoft_contacts_notification_debounce")
    def _check_microsoft_contacts_notification_debounce(self):
        for settings in self:
            if not 0 <= settings.microsoft_contacts_notification_debounce <= MAX_DEBOUNCE:
                raise ValidationError(
                    self.env._("The wait after a notification is 0 to %s seconds.", MAX_DEBOUNCE)
                )

    def set_values(self):
        Account = self.env["microsoft.contacts.account"]
        was_enabled = Account._notifications_enabled()
        if self.microsoft_contacts_notifications and not was_enabled:
            Account._notification_urls()  # refuses, saying what to set, when Graph cannot call
        result = super().set_values()
        if Account._notifications_enabled() != was_enabled:
            Account._set_notification_error(False)
            Account._trigger_subscription_cron()  # subscribe everyone, or unsubscribe
        return result
