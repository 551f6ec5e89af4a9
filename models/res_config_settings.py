import time

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..graph import GraphError
from .microsoft_contacts_account import (
    CONFLICT_SELECTION,
    DEFAULT_TENANT,
    DIRECTION_SELECTION,
    ODOO_DELETION_SELECTION,
    OUTLOOK_DELETION_SELECTION,
    SCOPE_SELECTION,
)
from .microsoft_contacts_account_schedule import (
    DEFAULT_EVERY_HOURS,
    DEFAULT_SCHEDULE,
    DEFAULT_SYNC_WORKERS,
    MAX_SYNC_WORKERS,
    SCHEDULE_SELECTION,
)
from .microsoft_contacts_sync_run import DEFAULT_KEEP_RUNS
from .res_users import BULK_OFFBOARD_SECONDS, RESTRICT_PARAM, SYNC_GROUP

CLOUD_SELECTION = [
    ("global", "Global (Microsoft 365)"),
    ("us_gov", "US Government (GCC High)"),
    ("us_gov_dod", "US Government DoD"),
    ("china", "China (operated by 21Vianet)"),
]


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    microsoft_contacts_client_id = fields.Char(
        "Outlook Contacts Client ID", config_parameter="microsoft_contacts_client_id"
    )
    microsoft_contacts_client_secret = fields.Char(
        "Outlook Contacts Client Secret",
        config_parameter="microsoft_contacts_client_secret",
        groups="base.group_system",
    )
    microsoft_contacts_tenant_id = fields.Char(
        "Outlook Contacts Tenant",
        config_parameter="microsoft_contacts_tenant_id",
        default=DEFAULT_TENANT,
        help="'organizations' lets users of any work or school account sign in; enter your "
        "tenant ID or primary domain to accept only your own organisation.",
    )
    microsoft_contacts_cloud = fields.Selection(
        CLOUD_SELECTION,
        string="Microsoft Cloud",
        config_parameter="microsoft_contacts.cloud",
        default="global",
        required=True,
    )
    # Defaults of new users' Outlook sync accounts (each user may change theirs).
    microsoft_contacts_default_direction = fields.Selection(
        DIRECTION_SELECTION,
        "Default Sync Direction",
        config_parameter="microsoft_contacts.default_direction",
        default="two_way",
    )
    microsoft_contacts_default_conflict_policy = fields.Selection(
        CONFLICT_SELECTION,
        "Default Conflict Policy",
        config_parameter="microsoft_contacts.default_conflict_policy",
        default="odoo",
    )
    microsoft_contacts_default_outlook_deletion = fields.Selection(
        OUTLOOK_DELETION_SELECTION,
        "Default When Deleted in Outlook",
        config_parameter="microsoft_contacts.default_outlook_deletion",
        default="unlink",
    )
    microsoft_contacts_default_odoo_deletion = fields.Selection(
        ODOO_DELETION_SELECTION,
        "Default When Archived or Deleted in Odoo",
        config_parameter="microsoft_contacts.default_odoo_deletion",
        default="delete_in_outlook",
    )
    microsoft_contacts_default_folder_name = fields.Char(
        "Default Outlook Folder",
        config_parameter="microsoft_contacts.default_folder_name",
        default="Odoo Contacts",
    )
    microsoft_contacts_default_scope = fields.Selection(
        SCOPE_SELECTION,
        "Default Contacts to Sync",
        config_parameter="microsoft_contacts.default_scope",
        default="reachable",
    )
    microsoft_contacts_default_import_default_folder = fields.Boolean(
        "Import Users' Outlook Contacts Folder",
        config_parameter="microsoft_contacts.default_import_default_folder",
        help="New users also import their default Outlook Contacts folder into Odoo, one way.",
    )
    # When the background sync runs for every connected account; the cron follows on save.
    microsoft_contacts_sync_schedule = fields.Selection(
        SCHEDULE_SELECTION,
        "Background Sync",
        config_parameter="microsoft_contacts.sync_schedule",
        default=DEFAULT_SCHEDULE,
        required=True,
    )
    microsoft_contacts_sync_every_hours = fields.Integer(
        "Sync Every (Hours)",
        config_parameter="microsoft_contacts.sync_every_hours",
        default=DEFAULT_EVERY_HOURS,
    )
    microsoft_contacts_sync_daily_at = fields.Float(
        "Daily Sync At",
        config_parameter="microsoft_contacts.sync_daily_at",
        default=0.0,
        help="In the company's timezone (yours when the company has none).",
    )
    microsoft_contacts_sync_workers = fields.Integer(
        "Parallel Syncs",
        config_parameter="microsoft_contacts.sync_workers",
        default=DEFAULT_SYNC_WORKERS,
        help="How many accounts sync at the same time, each on a cron thread of its own: Odoo "
        "needs at least as many cron threads (max_cron_threads, or workers in multiprocess "
        "mode). Each account is synced by one of them at a time.",
    )
    microsoft_contacts_log_keep_runs = fields.Integer(
        "Runs Kept in the Sync Log",
        config_parameter="microsoft_contacts.log_keep_runs",
        default=DEFAULT_KEEP_RUNS,
        help="The last runs kept per Outlook account and per Entra ID directory; older runs "
        "and their lines are deleted every day.",
    )
    microsoft_contacts_restrict_to_group = fields.Boolean(
        "Only Some Users May Sync",
        config_parameter=RESTRICT_PARAM,
        help="When on, only the members of the group “Outlook Contacts Sync / User” may sync "
        "their Outlook contacts; the accounts of other users are disconnected. When off, "
        "every internal user may.",
    )
    microsoft_contacts_sync_user_count = fields.Integer(
        compute="_compute_microsoft_contacts_sync_user_count"
    )
    microsoft_contacts_field_directions = fields.Char(
        "Field by Field", compute="_compute_microsoft_contacts_field_directions"
    )
    microsoft_contacts_redirect_uri = fields.Char(
        "Redirect URI", compute="_compute_microsoft_contacts_redirect_uri"
    )
    microsoft_contacts_can_reuse_calendar_app = fields.Boolean(
        compute="_compute_microsoft_contacts_can_reuse_calendar_app"
    )

    @api.constrains(
        "microsoft_contacts_sync_schedule",
        "microsoft_contacts_sync_every_hours",
        "microsoft_contacts_sync_daily_at",
        "microsoft_contacts_log_keep_runs",
        "microsoft_contacts_sync_workers",
    )
    def _check_microsoft_contacts_schedule(self):
        for settings in self:
            if (
                settings.microsoft_contacts_sync_schedule == "every_hours"
                and settings.microsoft_contacts_sync_every_hours < 1
            ):
                raise ValidationError(self.env._("Enter a number of hours of 1 or more."))
            if not 0 <= settings.microsoft_contacts_sync_daily_at < 24:
                raise ValidationError(
                    self.env._("The daily sync time must be between 00:00 and 23:59.")
                )
            if settings.microsoft_contacts_log_keep_runs < 1:
                raise ValidationError(self.env._("The sync log keeps at least one run."))
            if not 1 <= settings.microsoft_contacts_sync_workers <= MAX_SYNC_WORKERS:
                raise ValidationError(
                    self.env._("Parallel syncs: enter a number from 1 to %s.", MAX_SYNC_WORKERS)
                )

    def set_values(self):
        Account = self.env["microsoft.contacts.account"]
        schedule = Account._get_sync_schedule()
        result = super().set_values()
        Account._apply_sync_schedule(changed=Account._get_sync_schedule() != schedule)
        if self.env["res.users"]._microsoft_contacts_sync_restricted():
            # Restricted now: users outside the group stop at once, not at the next cycle.
            Account.sudo().search(Account._offboarded_domain()).with_context(
                microsoft_contacts_unsubscribe_deadline=time.time() + BULK_OFFBOARD_SECONDS
            )._offboard()
        return result

    def _compute_microsoft_contacts_sync_user_count(self):
        group = self.env.ref(SYNC_GROUP)
        count = self.env["res.users"].search_count(
            [("groups_id", "in", group.ids), ("share", "=", False)]
        )
        for settings in self:
            settings.microsoft_contacts_sync_user_count = count

    def action_microsoft_contacts_open_sync_group(self):
        """The group that may sync when Settings restrict it: add or remove its users."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Users Who May Sync Outlook Contacts"),
            "res_model": "res.groups",
            "res_id": self.env.ref(SYNC_GROUP).id,
            "views": [(False, "form")],
            "target": "current",
        }

    @api.depends("company_id")
    def _compute_microsoft_contacts_field_directions(self):
        """One line on the settings page: which fields do not travel both ways."""
        Direction = self.env["microsoft.contacts.field.direction"]
        labels = dict(Direction._fields["direction"]._description_selection(self.env))
        fields_ = dict(Direction._fields["field_key"]._description_selection(self.env))
        rows = Direction.sudo()._sync_directions()
        summary = (
            "; ".join(f"{fields_.get(key, key)}: {labels[way]}" for key, way in rows)
            if rows
            else self.env._("Every field both ways")
        )
        for settings in self:
            settings.microsoft_contacts_field_directions = summary

    def action_microsoft_contacts_field_directions(self):
        """The list of mapped fields with their direction (a row for each, made if missing)."""
        self.env["microsoft.contacts.field.direction"]._ensure_rows()
        return self.env["ir.actions.act_window"]._for_xml_id(
            "microsoft_contacts.action_microsoft_contacts_field_direction"
        )

    @api.depends("company_id")
    def _compute_microsoft_contacts_redirect_uri(self):
        self.microsoft_contacts_redirect_uri = self.env[
            "microsoft.contacts.account"
        ]._get_redirect_uri()

    @api.depends("microsoft_contacts_client_id")
    def _compute_microsoft_contacts_can_reuse_calendar_app(self):
        get_param = self.env["ir.config_parameter"].sudo().get_param
        calendar_configured = bool(
            get_param("microsoft_calendar_client_id")
            and get_param("microsoft_calendar_client_secret")
        )
        for settings in self:
            settings.microsoft_contacts_can_reuse_calendar_app = (
                calendar_configured
                and settings.microsoft_contacts_client_id
                != get_param("microsoft_calendar_client_id")
            )

    def action_microsoft_contacts_reuse_calendar_app(self):
        """One Azure app for calendar and contacts: same redirect URI, one more permission."""
        self.ensure_one()
        get_param = self.env["ir.config_parameter"].sudo().get_param
        self.microsoft_contacts_client_id = get_param("microsoft_calendar_client_id")
        self.microsoft_contacts_client_secret = get_param("microsoft_calendar_client_secret")
        self.execute()
        return self._microsoft_contacts_notify(
            "info",
            self.env._(
                "The Outlook Calendar application is now used for contacts too. In Azure, add "
                "the delegated permissions Contacts.ReadWrite and User.Read to it."
            ),
        )

    def action_microsoft_contacts_test_connection(self):
        """Check what can be checked without a user: the authority and, for a tenant, the secret."""
        self.ensure_one()
        self.execute()
        account_model = self.env["microsoft.contacts.account"]
        try:
            identity = account_model._get_identity()
            if identity.tenant in ("organizations", "common", "consumers"):
                identity._application()  # discovery of the authority
                message = self.env._(
                    "Microsoft's sign-in service answers for %(authority)s. The client secret "
                    "is checked at the first user sign-in (enter your tenant ID to check it "
                    "now).",
                    authority=identity.authority,
                )
            else:
                identity.app_token()
                message = self.env._(
                    "The client ID and secret are valid for tenant %s.", identity.tenant
                )
        except (GraphError, UserError) as error:
            return self._microsoft_contacts_notify(
                "danger", self.env._("Connection test failed: %s", error)
            )
        return self._microsoft_contacts_notify("success", message)

    def _microsoft_contacts_notify(self, kind, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": kind,
                "title": self.env._("Outlook Contacts"),
                "message": message,
                "sticky": kind == "danger",
                "next": {"type": "ir.actions.client", "tag": "reload"},
            },
        }
