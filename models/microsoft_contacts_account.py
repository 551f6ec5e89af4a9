import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..graph import GraphClient, GraphError, pacer_for, resolve_endpoints
from ..graph.auth import ConsentRequiredError, MicrosoftIdentity
from ..graph.session import shared_session

_logger = logging.getLogger(__name__)

DEFAULT_TENANT = "organizations"
CONNECT_ROUTE = "/microsoft_contacts/connect"
CALLBACK_ROUTE = "/microsoft_account/authentication"


DIRECTION_SELECTION = [
    ("two_way", "Both ways"),
    ("odoo_to_outlook", "Odoo to Outlook only"),
    ("outlook_to_odoo", "Outlook to Odoo only"),
]
CONFLICT_SELECTION = [
    ("odoo", "Odoo wins"),
    ("outlook", "Outlook wins"),
    ("newest", "Newest change wins"),
]
OUTLOOK_DELETION_SELECTION = [
    ("unlink", "Stop syncing the contact"),
    ("archive", "Archive the Odoo contact"),
    ("recreate", "Create it again in Outlook"),
]
ODOO_DELETION_SELECTION = [
    ("delete_in_outlook", "Delete it in Outlook"),
    ("keep", "Keep the Outlook copy"),
]
SCOPE_SELECTION = [
    ("reachable", "People with an email or a phone"),
    ("all", "All people"),
    ("my", "My contacts (I am the salesperson)"),
    ("tags", "Contacts with these tags"),
    ("domain", "Custom domain"),
]
COMPANY_LINKING_SELECTION = [
    ("create", "Create the company"),
    ("text", "Keep the name as text"),
]
# Settings default (ir.config_parameter microsoft_contacts.default_<name>) -> (selection or
# None for text, the default when Settings hold nothing valid). Policies match
# sync.planner.Policies.
SETTING_DEFAULTS = {
    "direction": (DIRECTION_SELECTION, "two_way"),
    "conflict_policy": (CONFLICT_SELECTION, "odoo"),
    "outlook_deletion": (OUTLOOK_DELETION_SELECTION, "unlink"),
    "odoo_deletion": (ODOO_DELETION_SELECTION, "delete_in_outlook"),
    "folder_name": (None, "Odoo Contacts"),
    "scope": (SCOPE_SELECTION, "reachable"),
}
# What the owner of an account may change on it; everything else (state, Microsoft sign-in,
# folder, delta position, exclusions) is written by the actions and the sync, as sudo.
OWNER_WRITABLE_FIELDS = frozenset(
    {
        "sync_direction",
        "conflict_policy",
        "outlook_deletion",
        "odoo_deletion",
        "outlook_may_clear",
        "mass_delete_percent",
        "mass_delete_minimum",
        "sync_scope",
        "sync_tag_ids",
        "sync_domain",
        "company_linking",
        "include_companies",
        "sync_categories",
        "sync_photos",
        "folder_name",
        "import_default_folder",
    }
)


class MicrosoftContactsAccount(models.Model):
    _name = "microsoft.contacts.account"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Outlook Contacts Account"
    _rec_name = "user_id"
    _order = "user_id"

    user_id = fields.Many2one(
        "res.users",
        string="User",
        required=True,
        ondelete="cascade",
        index=True,
        default=lambda self: self.env.user,
    )
    company_id = fields.Many2one(related="user_id.company_id", store=True)
    state = fields.Selection(
        [
            ("not_connected", "Not connected"),
            ("connected", "Connected"),
            ("needs_reconnect", "Needs reconnect"),
            ("paused", "Paused"),
            ("error", "Error"),
        ],
        default="not_connected",
        required=True,
        readonly=True,
        copy=False,
    )
    microsoft_username = fields.Char("Microsoft Account", readonly=True, copy=False)
    microsoft_tenant_id = fields.Char("Microsoft Tenant", readonly=True, copy=False)
    # The mailbox this account syncs (Entra object id + tenant), kept after a Disconnect: a
    # sign-in as someone else is refused while connected, and starts the sync over after.
    microsoft_object_id = fields.Char(groups="base.group_system", copy=False, readonly=True)
    connected_at = fields.Datetime("Connected On", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    # The MSAL cache holds refresh tokens: system only, never copied, never prefetched.
    token_cache = fields.Text(groups="base.group_system", copy=False, prefetch=False)
    home_account_id = fields.Char(groups="base.group_system", copy=False, prefetch=False)

    # -- sync settings (defaults match sync.planner.Policies, except tags: off) ----------
    sync_direction = fields.Selection(
        DIRECTION_SELECTION,
        "Direction",
        default=lambda self: self._setting_default("direction"),
        required=True,
        help="Which way changes travel. One way only: changes made on the other side are "
        "neither copied nor undone.",
    )
    conflict_policy = fields.Selection(
        CONFLICT_SELECTION,
        "On Conflict",
        default=lambda self: self._setting_default("conflict_policy"),
        required=True,
        help="When the same field of a contact changed in Odoo and in Outlook since the last "
        "sync, the value kept. Fields changed on one side only always follow that side.",
    )
    outlook_deletion = fields.Selection(
        OUTLOOK_DELETION_SELECTION,
        "Deleted in Outlook",
        default=lambda self: self._setting_default("outlook_deletion"),
        required=True,
        help="What a contact deleted in your Outlook folder does to its Odoo contact. Odoo "
        "contacts are never deleted by the sync.",
    )
    odoo_deletion = fields.Selection(
        ODOO_DELETION_SELECTION,
        "Archived or Deleted in Odoo",
        default=lambda self: self._setting_default("odoo_deletion"),
        required=True,
        help="What an Odoo contact archived, deleted or moved out of the contacts to sync does "
        "to its copy in your Outlook folder.",
    )
    outlook_may_clear = fields.Boolean(
        "Outlook May Clear Values",
        help="When off, a value emptied in Outlook is refilled from Odoo.",
    )
    mass_delete_percent = fields.Integer(
        "Mass Deletion Guard (%)",
        default=10,
        help="A run that would delete, archive or unlink more than this share of the synced "
        "contacts (and at least the minimum) waits for a confirmation.",
    )
    mass_delete_minimum = fields.Integer(
        "Mass Deletion Guard (minimum)",
        default=10,
        help="Fewer deletions than this never wait for a confirmation.",
    )
    sync_scope = fields.Selection(
        SCOPE_SELECTION,
        "Contacts to Sync",
        default=lambda self: self._setting_default("scope"),
        required=True,
        help="The Odoo contacts copied to your Outlook folder. Contacts you stopped syncing "
        "are left out whatever the choice.",
    )
    sync_tag_ids = fields.Many2many(
        "res.partner.category",
        "microsoft_contacts_account_sync_tag_rel",
        "account_id",
        "category_id",
        string="Tags to Sync",
        help="With the scope 'Contacts with these tags': the contacts holding any of them.",
    )
    sync_domain = fields.Char(
        "Custom Domain",
        help="With the scope 'Custom domain': a domain on contacts, e.g. "
        "[('country_id.code', '=', 'BE')].",
    )
    company_linking = fields.Selection(
        COMPANY_LINKING_SELECTION,
        "Company Names from Outlook",
        default="text",
        required=True,
        help="An Outlook company name is linked to the company of that exact name (the "
        "earliest created), else to the single company whose name contains it; otherwise "
        "the company is created, or the name is kept as text.",
    )
    include_companies = fields.Boolean(
        "Include Companies", help="When off, only people are synced, not company contacts."
    )
    sync_categories = fields.Boolean(
        "Sync Tags as Categories",
        help="Odoo contact tags and Outlook categories follow each other; missing tags are "
        "created in Odoo.",
    )
    sync_photos = fields.Boolean(
        "Sync Photos",
        default=True,
        help="Contact photos follow each other: the contact's image in Odoo and its photo in "
        "Outlook. A photo is sent only when it changed; large images are made smaller for "
        "Outlook. Generated avatars are never sent.",
    )
    folder_name = fields.Char(
        "Outlook Folder",
        default=lambda self: self._setting_default("folder_name"),
        required=True,
        help="The Outlook contacts folder the sync owns, created when missing. After the first "
        "sync, a new name is used once the Outlook sync is reset.",
    )
    folder_id = fields.Char(groups="base.group_system", copy=False)
    delta_link = fields.Char(groups="base.group_system", copy=False)
    last_sync_at = fields.Datetime("Last Sync", readonly=True, copy=False)
    link_ids = fields.One2many("microsoft.contacts.link", "account_id", "Synced Contacts")
    excluded_partner_ids = fields.Many2many(
        "res.partner",
        "microsoft_contacts_account_excluded_partner_rel",
        "account_id",
        "partner_id",
        string="Contacts Not Synced",
        help="Contacts the owner stopped syncing before they reached Outlook: they stay out of "
        "the contacts to sync.",
    )
    synced_partner_count = fields.Integer(
        "Synced Contacts Count", compute="_compute_synced_partner_count"
    )
    sync_run_ids = fields.One2many("microsoft.contacts.sync.run", "account_id", "Sync Runs")
    sync_run_count = fields.Integer("Sync Run Count", compute="_compute_sync_run_count")

    _sql_constraints = [
        ("user_unique", "UNIQUE(user_id)", "Each user has a single Outlook contacts account."),
    ]

    def init(self):
        # One Odoo account per mailbox: the check in _save_sign_in explains, this enforces it
        # when two sign-ins race.
        self.env.cr.execute(
            SQL(
                """CREATE UNIQUE INDEX IF NOT EXISTS microsoft_contacts_account_mailbox_unique
                   ON %s (microsoft_tenant_id, microsoft_object_id)
                   WHERE state != 'not_connected' AND microsoft_object_id IS NOT NULL""",
                SQL.identifier(self._table),
            )
        )

    def _compute_synced_partner_count(self):
        counts = dict(
            self.env["microsoft.contacts.link"]._read_group(
                [
                    ("account_id", "in", self.ids),
                    ("detached", "=", False),
                    ("partner_id", "!=", False),
                ],
                ["account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.synced_partner_count = counts.get(account, 0)

    def _compute_sync_run_count(self):
        counts = dict(
            self.env["microsoft.contacts.sync.run"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.sync_run_count = counts.get(account, 0)

    def write(self, vals):
        """Owners change their sync policies; the rest is for the system and its actions."""
        if not self.env.su and not self.env.user.has_group("base.group_system"):
            refused = set(vals) - OWNER_WRITABLE_FIELDS
            if refused:
                raise AccessError(
                    self.env._(
                        "You can only change the sync settings of your Outlook connection, "
                        "not: %s",
                        ", ".join(sorted(refused)),
                    )
                )
        result = super().write(vals)
        if OWNER_WRITABLE_FIELDS & set(vals):
            self._read_odoo_whole_next()
        return result

    # -- configuration --------------------------------------------------------------------

    @api.model
    def _get_endpoints(self):
        get_param = self.env["ir.config_parameter"].sudo().get_param
        try:
            return resolve_endpoints(
                get_param("microsoft_contacts.cloud") or "global",
                get_param("microsoft_contacts.login_endpoint") or None,
                get_param("microsoft_contacts.graph_endpoint") or None,
            )
        except ValueError as error:
            raise UserError(
                self.env._("The Microsoft endpoints in Settings are not valid: %s", error)
            ) from error

    @api.model
    def _get_identity(self):
        get_param = self.env["ir.config_parameter"].sudo().get_param
        client_id = get_param("microsoft_contacts_client_id")
        client_secret = get_param("microsoft_contacts_client_secret")
        if not client_id or not client_secret:
            raise UserError(
                self.env._(
                    "Outlook Contacts is not configured yet: an administrator must enter the "
                    "Microsoft application's client ID and secret in Settings > General "
                    "Settings > Integrations."
                )
            )
        return MicrosoftIdentity(
            client_id,
            client_secret,
            self._get_endpoints(),
            get_param("microsoft_contacts_tenant_id") or DEFAULT_TENANT,
            session=shared_session(),
        )

    @api.model
    def _setting_default(self, name):
        """The default of a new account's setting, as chosen in Settings."""
        selection, fallback = SETTING_DEFAULTS[name]
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(f"microsoft_contacts.default_{name}", "")
            .strip()
        )
        if not value or (selection and value not in dict(selection)):
            return fallback
        return value

    @api.model
    def _get_redirect_uri(self):
        return self.get_base_url() + CALLBACK_ROUTE

    @api.model
    def _get_my_account(self):
        """The current user's account, created on first use; for users who may sync."""
        self.env.user._microsoft_contacts_check_may_sync()
        account = self.search([("user_id", "=", self.env.uid)], limit=1)
        return account or self.sudo().create({"user_id": self.env.uid}).sudo(False)

    # -- actions --------------------------------------------------------------------------

    def _get_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("My Outlook Sync"),
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "current",
        }

    def action_open_synced_partners(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Contacts Synced with Outlook"),
            "res_model": "res.partner",
            "views": [(False, "kanban"), (False, "list"), (False, "form")],
            "domain": [
                (
                    "microsoft_contacts_link_ids",
                    "any",
                    [("account_id", "=", self.id), ("detached", "=", False)],
                )
            ],
        }

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

    def _check_can_manage(self):
        """Users manage their own account, administrators any; the actions then run as sudo."""
        self.check_access("read")
        if not self.env.user.has_group("base.group_system") and any(
            account.user_id != self.env.user for account in self
        ):
            raise AccessError(self.env._("You can only manage your own Outlook connection."))

    def action_connect(self):
        self.ensure_one()
        self._check_can_manage()
        if self.user_id != self.env.user:
            raise UserError(self.env._("Only %s can connect their own Outlook.", self.user_id.name))
        self._get_identity()  # fail here, readably, when Settings are incomplete
        return {"type": "ir.actions.act_url", "url": CONNECT_ROUTE, "target": "self"}

    def action_disconnect(self):
        self._check_can_manage()
        self.sudo()._disconnect()
        return True

    def _disconnect(self):
        """Sign out and remove the tokens; the mailbox's identity stays (see _save_sign_in)."""
        for account in self:
            if account.token_cache and account.home_account_id:
                try:
                    account.token_cache = account._get_identity().sign_out(
                        account.token_cache, account.home_account_id
                    )
                except (GraphError, UserError) as error:
                    _logger.info("Outlook account %s: sign-out skipped (%s)", account.id, error)
            account.write(
                {
                    "state": "not_connected",
                    "token_cache": False,
                    "home_account_id": False,
                    "microsoft_username": False,
                    "connected_at": False,
                    "last_error": False,
                    "sync_requested_by_id": False,
                }
            )

    # -- offboarding ----------------------------------------------------------------------

    def _is_offboarded(self):
        """The user left (archived, deleted, no longer an internal user), or may no longer
        sync since Settings restrict the sync to a group."""
        self.ensure_one()
        user = self.user_id.with_context(active_test=False)
        return not user.exists() or not user.active or not user.microsoft_contacts_may_sync

    @api.model
    def _offboarded_domain(self):
        left = [("user_id.active", "=", False), ("user_id.share", "=", True)]
        if self.env["res.users"]._microsoft_contacts_sync_restricted():
            group = self.env.ref("microsoft_contacts.group_microsoft_contacts_user")
            left.append(("user_id.groups_id", "not in", group.ids))
        return expression.AND(
            [[("state", "!=", "not_connected")], expression.OR([[leaf] for leaf in left])]
        )

    def _offboard(self):
        """Disconnect the accounts of users who left, and say so in their log.

        Their mailboxes may be anywhere (tenant "organizations"): no more of the company's
        contacts go there. A user made active again connects anew.
        """
        for account in self.sudo().filtered(lambda a: a.state != "not_connected"):
            user = account.user_id.with_context(active_test=False)
            if user.active and user._is_internal():
                reason = self.env._(
                    "Disconnected: %s may no longer sync Outlook contacts (Settings restrict "
                    "the sync to the group “Outlook Contacts Sync / User”). Tokens were removed; "
                    "a new Connect is needed once the user is in the group.",
                    user.name,
                )
            else:
                reason = self.env._(
                    "Disconnected: %s is no longer an active internal user of Odoo. Tokens "
                    "were removed; a new Connect is needed once the user is active again.",
                    user.name,
                )
            _logger.warning("Outlook account %s: %s", account.id, reason)
            account._disconnect()
            account.last_error = reason
            self.env["microsoft.contacts.sync.run"].sudo().create(
                {
                    "source": "outlook",
                    "account_id": account.id,
                    "state": "failed",
                    "message": reason,
                    "finished_at": fields.Datetime.now(),
                }
            )
            account.message_post(body=reason)

    # -- tokens ---------------------------------------------------------------------------

    def _save_sign_in(self, sign_in):
        """Bind this account to the mailbox that signed in, or refuse with a UserError.

        One identity per account: while connected (or waiting for a reconnect) a sign-in as
        someone else is refused; after a Disconnect it starts the sync over. One account per
        mailbox: a mailbox another user's account holds is refused.
        """
        self.ensure_one()
        account = self.sudo()
        if account._is_offboarded():
            raise UserError(self.env._("Only active internal users can connect Outlook."))
        mailbox = (sign_in.tenant_id or False, sign_in.object_id or False)
        bound = (account.microsoft_tenant_id or False, account.microsoft_object_id or False)
        other_mailbox = bound[1] and bound != mailbox
        if other_mailbox and account.state != "not_connected":
            raise UserError(
                self.env._(
                    "This Odoo user syncs the Outlook of %(current)s; you signed in as "
                    "%(new)s. To sync another mailbox, Disconnect first, then Connect.",
                    current=account.microsoft_username or bound[1],
                    new=sign_in.username,
                )
            )
        holder = self.sudo().search(
            [
                ("id", "!=", account.id),
                ("state", "!=", "not_connected"),
                ("microsoft_tenant_id", "=", mailbox[0]),
                ("microsoft_object_id", "=", mailbox[1]),
            ],
            limit=1,
        )
        if mailbox[1] and holder:
            raise UserError(
                self.env._(
                    "The mailbox %(mailbox)s is already synced by %(user)s. A mailbox syncs "
                    "with one Odoo user only: %(user)s must disconnect it first.",
                    mailbox=sign_in.username,
                    user=holder.user_id.name,
                )
            )
        if other_mailbox:
            account._forget_mailbox()
        account.write(
            {
                "state": "connected",
                "token_cache": sign_in.token_cache,
                "home_account_id": sign_in.home_account_id,
                "microsoft_username": sign_in.username,
                "microsoft_tenant_id": mailbox[0],
                "microsoft_object_id": mailbox[1],
                "connected_at": fields.Datetime.now(),
                "last_error": False,
            }
        )
        self.sudo().activity_feedback(
            ["mail.mail_activity_data_todo"], feedback=self.env._("Reconnected.")
        )

    def _get_access_token(self, force_refresh=False):
        """A valid access token; the refreshed cache is written back under a row lock.

        The lock makes a second worker wait for the first one's refresh and then read the
        rotated cache, instead of both refreshing from the same stale copy.
        """
        self.ensure_one()
        # A cache rotated earlier in this transaction may still sit in the ORM cache.
        self.sudo().flush_recordset(["token_cache", "home_account_id"])
        self.env.cr.execute(
            SQL(
                "SELECT token_cache, home_account_id FROM %s WHERE id = %s FOR NO KEY UPDATE",
                SQL.identifier(self._table),
                self.id,
            )
        )
        token_cache, home_account_id = self.env.cr.fetchone()
        if not token_cache or not home_account_id:
            self._mark_needs_reconnect(self.env._("This account was never connected."))
            raise ConsentRequiredError("no Microsoft sign-in is stored for this account")
        try:
            token, new_cache = self._get_identity().access_token(
                token_cache, home_account_id, force_refresh=force_refresh
            )
        except ConsentRequiredError as error:
            self._mark_needs_reconnect(str(error))
            raise
        if new_cache:
            self.sudo().token_cache = new_cache
        return token

    def _get_graph_client(self, **options):
        """A client paced to Outlook's limits for this mailbox (shared by the whole worker)."""
        self.ensure_one()
        options.setdefault("pacer", pacer_for(("outlook", self.id)))
        return GraphClient(
            self._get_endpoints().graph,
            lambda force_refresh: self._get_access_token(force_refresh=force_refresh),
            session=shared_session(),
            **options,
        )

    def _mark_needs_reconnect(self, reason):
        """Stop background work for this account and tell its user how to resume."""
        for account in self.sudo():
            was_connected = account.state != "needs_reconnect"
            account.write({"state": "needs_reconnect", "last_error": reason})
            if was_connected:
                account.activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=account.user_id.id,
                    summary=self.env._("Reconnect your Outlook contacts"),
                    note=self.env._(
                        "Microsoft asked for a new sign-in (%(reason)s). Open this account and "
                        "click Reconnect; background sync is paused until then.",
                        reason=reason,
                    ),
                )
                account.user_id.partner_id._bus_send(
                    "simple_notification",
                    {
                        "type": "warning",
                        "sticky": True,
                        "title": self.env._("Outlook contacts: reconnect needed"),
                        "message": self.env._(
                            "Microsoft asks you to sign in again (%(reason)s). See your "
                            "activities, or open My Outlook Sync, and click Reconnect.",
                            reason=reason,
                        ),
                    },
                )
