import json
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import email_normalize

from ..graph import ForbiddenError, GraphClient, GraphError, SyncStateLostError, pacer_for
from ..graph.auth import MicrosoftIdentity
from ..graph.directory import DirectoryReader, UserChanges
from ..graph.session import shared_session
from ..sync.directory import (
    DEFAULT_MAPPING,
    Lookups,
    MappingLine,
    TargetField,
    convert_user,
    group_scope_changes,
    selected_attributes,
)
from ..sync.schedule import next_daily_at

_logger = logging.getLogger(__name__)

# Changing these changes who or what is read: the delta link no longer fits.
RESET_DELTA_FIELDS = frozenset(
    {"tenant_id", "scope", "use_main_app", "client_id", "include_guests", "include_disabled"}
)
# Archiving more than this share (and at least MASS_ARCHIVE_MINIMUM) waits for a person.
MASS_ARCHIVE_SHARE = 0.10
MASS_ARCHIVE_MINIMUM = 10


class MicrosoftContactsDirectory(models.Model):
    """One Entra ID tenant whose users are imported as contacts (app-only access)."""

    _name = "microsoft.contacts.directory"
    _inherit = ["mail.thread"]
    _description = "Entra ID Directory Import"
    _order = "name, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    tenant_id = fields.Char(
        "Tenant",
        required=True,
        tracking=True,
        help="The directory (tenant) ID or a verified domain of the tenant to import.",
    )
    use_main_app = fields.Boolean(
        "Use the Outlook Contacts Application",
        default=True,
        help="Use the client ID and secret of Settings > Outlook Contacts. That application "
        "needs the application permissions User.Read.All and GroupMember.Read.All with admin "
        "consent in this tenant.",
    )
    client_id = fields.Char("Client ID")
    client_secret = fields.Char(groups="base.group_system", copy=False)
    scope = fields.Selection(
        [("all", "All users"), ("groups", "Members of chosen groups")],
        default="all",
        required=True,
        tracking=True,
    )
    group_ids = fields.One2many("microsoft.contacts.directory.group", "directory_id", "Groups")
    include_guests = fields.Boolean("Include Guests", help="Import guest users too.")
    include_disabled = fields.Boolean(
        "Include Disabled Accounts", help="Import users whose sign-in is blocked too."
    )
    removed_policy = fields.Selection(
        [("keep", "Keep the contact"), ("archive", "Archive the contact")],
        "Users Removed or Disabled",
        default="keep",
        required=True,
        tracking=True,
    )
    mapping_ids = fields.One2many(
        "microsoft.contacts.directory.mapping", "directory_id", "Mapping", copy=True
    )
    sync_hour = fields.Float(
        "Daily Import At",
        default=0.0,
        help="Time of the daily import, in the company's timezone.",
    )
    next_sync_at = fields.Datetime("Next Import", copy=False)
    delta_link = fields.Char(groups="base.group_system", copy=False)
    # The chosen groups' member ids at the last import (JSON list): who joined or left since.
    group_members_seen = fields.Text(groups="base.group_system", copy=False, prefetch=False)
    run_ids = fields.One2many("microsoft.contacts.sync.run", "directory_id", "Imports")
    last_run_id = fields.Many2one(
        "microsoft.contacts.sync.run", compute="_compute_last_run_id", string="Last Import"
    )
    last_run_state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("failed", "Failed")],
        compute="_compute_last_run_id",
        string="Last Import Status",
    )
    partner_count = fields.Integer(compute="_compute_partner_count", string="Contacts")
    archive_pending_count = fields.Integer(
        compute="_compute_archive_pending_count",
        string="Waiting to Be Archived",
        help="Contacts whose users were removed or disabled in Entra ID together with too many "
        "others for the import to archive them on its own: they wait for Confirm Archive or "
        "Keep Them.",
    )

    @api.depends("run_ids")
    def _compute_last_run_id(self):
        runs = self.env["microsoft.contacts.sync.run"].search(
            [("directory_id", "in", self.ids)], order="started_at desc, id desc"
        )
        last_runs = {}
        for run in runs:
            last_runs.setdefault(run.directory_id, run)
        for directory in self:
            directory.last_run_id = last_runs.get(directory, runs.browse())
            directory.last_run_state = directory.last_run_id.state

    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]
            .with_context(active_test=False)
            ._read_group(
                [("microsoft_entra_directory_id", "in", self.ids)],
                ["microsoft_entra_directory_id"],
                ["__count"],
            )
        )
        for directory in self:
            directory.partner_count = counts.get(directory, 0)

    def _compute_archive_pending_count(self):
        # As the system: the number Confirm Archive acts on, whatever companies the viewer has.
        counts = dict(
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(
                [
                    ("microsoft_entra_directory_id", "in", self.ids),
                    ("microsoft_entra_archive_decision", "=", "pending"),
                ],
                ["microsoft_entra_directory_id"],
                ["__count"],
            )
        )
        for directory in self:
            directory.archive_pending_count = counts.get(directory, 0)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.setdefault(
                "mapping_ids",
                [
                    (0, 0, {"attribute": attribute, "field_id": field.id, "overwrite": overwrite})
                    for attribute, name, overwrite in DEFAULT_MAPPING
                    if (field := self.env["ir.model.fields"]._get("res.partner", name))
                ],
            )
            vals.setdefault("next_sync_at", fields.Datetime.now())
        directories = super().create(vals_list)
        # The first import runs right after saving, in the background.
        self.env.ref("microsoft_contacts.ir_cron_microsoft_contacts_directory")._trigger()
        return directories

    def write(self, vals):
        # Another population (tenant, application, who is imported): read it all again. The same
        # values written again (a new secret for the same application) keep the delta link, so
        # a re-authorised import goes on where it was.
        before = {d.id: d._population() for d in self} if RESET_DELTA_FIELDS & set(vals) else {}
        restored = self.filtered(lambda d: not d.active) if vals.get("active") else self.browse()
        result = super().write(vals)
        moved = self.filtered(lambda d: d.id in before and d._population() != before[d.id])
        if moved:
            moved._reset_delta()
        if "sync_hour" in vals:
            now = fields.Datetime.now()
            for directory in self:
                directory.next_sync_at = directory._next_daily_run(now)
        if restored:
            # Back from the archive: import at once, from where it stopped when the delta link
            # is still valid (7 days), else whole.
            restored.next_sync_at = fields.Datetime.now()
            self.env.ref("microsoft_contacts.ir_cron_microsoft_contacts_directory")._trigger()
        return result

    def _population(self):
        """What decides who is read, and through which application."""
        self.ensure_one()
        return (
            (self.tenant_id or "").strip().lower(),
            self._get_client_id(),
            self.scope,
            self.include_guests,
            self.include_disabled,
        )

    def _get_client_id(self):
        """The client ID the import signs in with: the directory's own, or Settings'."""
        self.ensure_one()
        if self.use_main_app:
            return (
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("microsoft_contacts_client_id", "")
                .strip()
            )
        return (self.client_id or "").strip()

    def unlink(self):
        """Deleting a directory leaves its contacts as they are, released from it.

        They keep their Entra ID user, their tag and their archive state, so that a directory
        of the same tenant added later finds them again instead of duplicating them; the
        decisions taken on this directory's mass archive (waiting, kept) go with it. Its import
        log goes too.
        """
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("microsoft_entra_directory_id", "in", self.ids),
                    ("microsoft_entra_archive_decision", "!=", False),
                ]
            )
        )
        partners.write({"microsoft_entra_archive_decision": False})
        return super().unlink()

    def _resume_import(self):
        """Queue an import when the last one did not succeed (after a consent, a new secret);
        it goes on from the delta link the failed imports left as it was."""
        self.ensure_one()
        if not self.active or self.last_run_state == "done":
            return False
        self.next_sync_at = fields.Datetime.now()
        self.env.ref("microsoft_contacts.ir_cron_microsoft_contacts_directory")._trigger()
        return True

    def _reset_delta(self):
        """Called when what is read changes (mapping, groups): the next import reads all."""
        self.sudo().write({"delta_link": False})

    @api.constrains("sync_hour")
    def _check_sync_hour(self):
        if any(not 0 <= directory.sync_hour < 24 for directory in self):
            raise ValidationError(
                self.env._("The daily import time must be between 00:00 and 23:59.")
            )

    # -- Microsoft access -----------------------------------------------------------------

    def _get_identity(self):
        self.ensure_one()
        Account = self.env["microsoft.contacts.account"]
        if self.use_main_app:
            main = Account._get_identity()
            client_id, client_secret = main.client_id, main._client_secret
        else:
            client_id, client_secret = self.client_id, self.sudo().client_secret
            if not client_id or not client_secret:
                raise UserError(
                    self.env._("Enter the client ID and secret of the directory application.")
                )
        return MicrosoftIdentity(
            client_id,
            client_secret,
            Account._get_endpoints(),
            self.tenant_id.strip(),
            session=shared_session(),
        )

    def _get_graph_client(self):
        identity = self._get_identity()
        token = {"value": identity.app_token()}

        def token_provider(force_refresh):
            if force_refresh:
                token["value"] = identity.app_token()
            return token["value"]

        return GraphClient(
            identity.endpoints.graph,
            token_provider,
            session=shared_session(),
            pacer=pacer_for((identity.client_id, "tenant", self.tenant_id)),
        )

    # -- actions --------------------------------------------------------------------------

    def action_test(self):
        self.ensure_one()
        try:
            reader = DirectoryReader(self._get_graph_client())
            reader.check_users_readable()
            for group in self.group_ids:
                group.name = reader.group_name(group.group_object_id)
        except ForbiddenError as error:
            return self._notify(
                "danger",
                self.env._(
                    "Test failed: Entra ID does not let the application read users in tenant "
                    "%(tenant)s (%(error)s). Grant Admin Consent on this form (or in the Azure "
                    "portal) for the application permissions User.Read.All and "
                    "GroupMember.Read.All, then Test again.",
                    tenant=self.tenant_id,
                    error=error,
                ),
            )
        except (GraphError, UserError) as error:
            return self._notify("danger", self.env._("Test failed: %s", error))
        return self._notify(
            "success",
            self.env._("Entra ID answers: users can be read in tenant %s.", self.tenant_id),
        )

    def action_sync_now(self):
        """Queue the import for the background worker: a large tenant outlasts a request."""
        archived = self.filtered(lambda d: not d.active)
        if archived:
            raise UserError(
                self.env._(
                    "%s is archived: its imports are stopped. Restore it (Action > Unarchive) "
                    "to import again.",
                    archived[0].name,
                )
            )
        self.write({"next_sync_at": fields.Datetime.now()})
        self.env.ref("microsoft_contacts.ir_cron_microsoft_contacts_directory")._trigger()
        return self._notify(
            "info",
            self.env._(
                "The import has started in the background; its result appears in the import " "log."
            ),
        )

    def action_download_last_report(self):
        self.ensure_one()
        if not self.last_run_id:
            raise UserError(self.env._("No import has run yet."))
        return self.last_run_id.action_download_csv()

    def action_open_partners(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Contacts from %s", self.name),
            "res_model": "res.partner",
            "view_mode": "list,form",
            "domain": [("microsoft_entra_directory_id", "=", self.id)],
            "context": {"active_test": False},
        }

    def action_open_archive_pending(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Waiting to Be Archived: %s", self.name),
            "res_model": "res.partner",
            "view_mode": "list,form",
            "domain": [
                ("microsoft_entra_directory_id", "=", self.id),
                ("microsoft_entra_archive_decision", "=", "pending"),
            ],
            "context": {"active_test": False},
        }

    def action_confirm_archive(self):
        """Archive the contacts the mass-archive guard held back: a person checked Entra ID."""
        return self._decide_archive_pending(archive=True)

    def action_keep_archive_pending(self):
        """Keep them: later imports leave them active until their users come back and go again."""
        return self._decide_archive_pending(archive=False)

    def action_open_reauthorise(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Re-authorise %s", self.name),
            "res_model": "microsoft.contacts.directory.secret",
            "view_mode": "form",
            "target": "new",
            "context": {"default_directory_id": self.id},
        }

    def _notify(self, kind, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": kind, "message": message, "sticky": kind == "danger"},
        }

    # -- scheduling -----------------------------------------------------------------------

    def _next_daily_run(self, after):
        """The next `sync_hour` o'clock in the company's timezone, as naive UTC."""
        self.ensure_one()
        # The company's timezone, not the user who happens to run it (the cron runs as root).
        return next_daily_at(after, self.sync_hour, self.company_id.partner_id.tz)

    @api.model
    def _cron_import_directories(self):
        """One due directory per call; the cron calls again while some remain."""
        due = self.search([("next_sync_at", "<=", fields.Datetime.now())], order="next_sync_at, id")
        if not due:
            return
        due[0]._run_import()
        self.env["ir.cron"]._notify_progress(done=1, remaining=len(due) - 1)

    # -- the import -----------------------------------------------------------------------

    def _run_import(self):
        """Import now; a failure is logged on the run and never leaves half an import."""
        self.ensure_one()
        Run = self.env["microsoft.contacts.sync.run"].sudo()
        run = Run.create({"source": "directory", "directory_id": self.id, "user_id": self.env.uid})
        self.next_sync_at = self._next_daily_run(fields.Datetime.now())
        try:
            with self.env.cr.savepoint():
                self.sudo()._import(run)
        except (GraphError, UserError) as error:
            _logger.info("Entra ID import %s failed: %s", self.id, error)
            run.write(
                {"state": "failed", "message": str(error), "finished_at": fields.Datetime.now()}
            )
        except Exception as error:
            _logger.exception("Entra ID import %s failed unexpectedly", self.id)
            run.write(
                {
                    "state": "failed",
                    "message": self.env._("Unexpected error: %s", error),
                    "finished_at": fields.Datetime.now(),
                }
            )
        return run

    def _import(self, run):
        mapping = [
            MappingLine(line.attribute, line.field_id.name, line.overwrite)
            for line in self.mapping_ids
        ]
        if not mapping:
            raise UserError(self.env._("The directory has no attribute mapping."))
        targets = {line.field: self._target_field_by_name(line.field) for line in mapping}
        if self.scope == "groups" and not self.group_ids:
            raise UserError(self.env._("Choose at least one group, or import all users."))
        reader = DirectoryReader(self._get_graph_client(), selected_attributes(mapping))
        if self.scope == "groups":
            changes, listed = self._read_groups(reader)
        else:
            changes, listed = self._read_all(reader), None
        wanted, gone = [], dict(changes.removed)
        for user in changes.users:
            if not isinstance(user.get("id"), str):
                continue  # not a user Graph could name: nothing to match or log
            reason = self._exclusion_reason(user)
            if reason:
                gone[user["id"]] = reason
            else:
                wanted.append(user)
        if changes.full:
            # Users deleted (or gone from the groups) while no delta link existed: whoever is
            # not listed anymore.
            if listed is None:
                listed, unlisted = {user["id"] for user in changes.users}, "deleted"
            else:
                unlisted = "deleted, or no longer in the chosen groups"
            for partner in self._linked_partners():
                if partner.microsoft_entra_user_id not in listed:
                    gone.setdefault(partner.microsoft_entra_user_id, unlisted)

        lookups = self._lookups()
        converted = [convert_user(user, mapping, targets, lookups) for user in wanted]
        names = {user["id"]: user.get("displayName") for user in wanted}
        counts = dict.fromkeys(("new", "updated", "unchanged", "archived", "failed"), 0)
        lines = []
        self._apply_users(converted, names, mapping, targets, counts, lines)
        self._apply_gone(gone, counts, lines)
        for line in lines:
            line["run_id"] = run.id
        self.env["microsoft.contacts.sync.run.line"].create(lines)
        self.delta_link = changes.delta_link
        self.group_members_seen = json.dumps(sorted(listed)) if listed is not None else False
        pending = len(self._archive_pending_partners())
        run.write(
            {
                "state": "done",
                "full_sync": changes.full,
                # Every run tells while contacts wait, not only the one that held them back.
                "message": self._archive_pending_message(pending) if pending else False,
                "finished_at": fields.Datetime.now(),
                **{f"count_{key}": value for key, value in counts.items()},
            }
        )

    def _archive_pending_message(self, count):
        return self.env._(
            "%s contacts are waiting for a confirmation to be archived: Confirm Archive or Keep "
            "Them on the directory.",
            count,
        )

    def _read_all(self, reader):
        """Every user of the tenant: changes since the delta link, else a full read."""
        if self.delta_link:
            try:
                return reader.changed_users(self.delta_link)
            except SyncStateLostError:
                _logger.info("Entra ID import %s: delta link expired, reading all users", self.id)
        return reader.all_users()

    def _read_groups(self, reader):
        """The chosen groups' users: (changes, the member ids now).

        The users delta says which users changed; it says nothing of group membership, so the
        groups' transitive members are listed at every run (999 a page, with the mapped
        attributes) and compared with the members of the last import: who joined is imported,
        who left is gone. Without a delta link or the last members, every member is imported.
        """
        previous = self._members_seen()
        delta = None
        if self.delta_link and previous is not None:
            try:
                delta = reader.changed_users(self.delta_link)
            except SyncStateLostError:
                _logger.info("Entra ID import %s: delta link expired, reading all members", self.id)
        # The delta link first, the members next: a change in between comes again next time.
        delta_link = delta.delta_link if delta else reader.latest_delta_link()
        members = reader.group_users(self.group_ids.mapped("group_object_id"))
        users, gone = group_scope_changes(
            members,
            previous if delta else None,
            delta.users if delta else (),
            delta.removed if delta else None,
        )
        changes = UserChanges(users=users, removed=gone, delta_link=delta_link, full=not delta)
        return changes, set(members)

    def _members_seen(self):
        """The member ids of the last import limited to groups, None when unknown."""
        try:
            seen = json.loads(self.group_members_seen or "null")
        except ValueError:
            return None
        return set(seen) if isinstance(seen, list) else None

    def _exclusion_reason(self, user):
        if user.get("userType") == "Guest" and not self.include_guests:
            return "guest user"
        if user.get("accountEnabled") is False and not self.include_disabled:
            return "account disabled"
        return None

    def _linked_partners(self):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("microsoft_entra_directory_id", "=", self.id)])
        )

    def _apply_users(self, converted, names, mapping, targets, counts, lines):
        Partner = self.env["res.partner"].with_context(active_test=False)
        by_user = {
            p.microsoft_entra_user_id: p
            for p in Partner.search(
                [("microsoft_entra_user_id", "in", [c.user_id for c in converted])]
            )
        }
        # By email only partners no other Entra user holds: two tenants or two users never
        # fight over one contact.
        emails = {email_normalize(c.email) for c in converted if c.email} - {False}
        by_email = {}
        for partner in Partner.search(
            [("email_normalized", "in", list(emails)), ("microsoft_entra_user_id", "=", False)],
            order="active desc, id",
        ):
            by_email.setdefault(partner.email_normalized, partner)
        tag = self.env.ref("microsoft_contacts.res_partner_category_entra")
        to_create, create_lines, claimed = [], [], {}
        for user in converted:
            normalized = email_normalize(user.email or "") or None
            partner = by_user.get(user.user_id) or by_email.get(normalized)
            line = {
                "external_id": user.user_id,
                "email": user.email,
                "name": names.get(user.user_id),
                "record_type": "existing" if partner else "new",
                "partner_id": partner.id if partner else False,
            }
            owner = claimed.get(partner.id if partner else normalized)
            if owner and owner != user.user_id:
                user.problems.append(
                    f"another Entra ID user ({owner}) has the same email in this import"
                )
            elif partner or normalized:
                claimed[partner.id if partner else normalized] = user.user_id
            if not user.ok:
                counts["failed"] += 1
                reason = "; ".join(user.problems)
                lines.append({**line, "action": "refused", "status": "failed", "reason": reason})
                continue
            if not partner:
                to_create.append(
                    {
                        **user.values,
                        "microsoft_entra_user_id": user.user_id,
                        "microsoft_entra_directory_id": self.id,
                        "category_id": [(4, tag.id)],
                    }
                )
                create_lines.append(line)
                continue
            values = self._update_values(partner, user.values, mapping, targets)
            if partner.microsoft_entra_user_id != user.user_id:
                values["microsoft_entra_user_id"] = user.user_id
            if partner.microsoft_entra_directory_id != self:
                values["microsoft_entra_directory_id"] = self.id
            if tag not in partner.category_id:
                values["category_id"] = [(4, tag.id)]
            if not partner.active and partner.microsoft_entra_archived:
                # Archived by an import, back in scope; an archive by a person stays.
                values.update(active=True, microsoft_entra_archived=False)
            if partner.microsoft_entra_archive_decision:
                # Back in Entra ID: no longer waiting for, or kept by, a decision to archive.
                values["microsoft_entra_archive_decision"] = False
            if not values:
                counts["unchanged"] += 1
                lines.append({**line, "action": "unchanged"})
                continue
            try:
                with self.env.cr.savepoint():
                    partner.write(values)
            except Exception as error:
                counts["failed"] += 1
                lines.append(
                    {**line, "action": "refused", "status": "failed", "reason": str(error)[:500]}
                )
                continue
            counts["updated"] += 1
            lines.append({**line, "action": "updated", "reason": ", ".join(sorted(values))})
        self._create_partners(to_create, create_lines, counts, lines)

    def _update_values(self, partner, new_values, mapping, targets):
        values = {}
        for line in mapping:
            target = targets[line.field]
            current = partner[line.field]
            if target.type == "many2one":
                current = current.id
            new = new_values.get(line.field, False)
            if new in (False, None, "") or new == current:
                continue  # an empty directory value never wipes a contact's data
            if line.overwrite or current in (False, None, "", 0):
                values[line.field] = new
        return values

    def _create_partners(self, to_create, create_lines, counts, lines):
        if not to_create:
            return
        Partner = self.env["res.partner"]
        try:
            with self.env.cr.savepoint():
                partners = Partner.create(to_create)
        except Exception:
            partners = None
        if partners is not None:
            for partner, line in zip(partners, create_lines, strict=True):
                lines.append({**line, "partner_id": partner.id, "action": "created"})
            counts["new"] += len(partners)
            return
        for values, line in zip(to_create, create_lines, strict=True):
            try:
                with self.env.cr.savepoint():
                    partner = Partner.create(values)
            except Exception as error:
                counts["failed"] += 1
                lines.append(
                    {**line, "action": "refused", "status": "failed", "reason": str(error)[:500]}
                )
            else:
                counts["new"] += 1
                lines.append({**line, "partner_id": partner.id, "action": "created"})

    def _apply_gone(self, gone, counts, lines):
        """Archive or keep the contacts of users removed from the import, as the policy says.

        Too many archives at once (MASS_ARCHIVE_*) are held back instead: the contacts wait,
        marked pending, for an administrator's Confirm Archive or Keep Them on the directory,
        since the users will not be reported gone again once the delta link moves on.
        """
        if not gone:
            return
        partners = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search(
                [
                    ("microsoft_entra_user_id", "in", list(gone)),
                    ("microsoft_entra_directory_id", "=", self.id),
                ]
            )
        )
        archive = self.removed_policy == "archive"
        held_back = ""
        held = to_archive = partners.browse()
        if archive:
            # An employee's own partner stays: Odoo refuses to archive a user's partner. So do
            # the contacts waiting for, or kept by, an administrator's decision.
            to_archive = partners.filtered(
                lambda p: p.active and not p.user_ids and not p.microsoft_entra_archive_decision
            )
            linked = len(self._linked_partners())
            if len(to_archive) >= MASS_ARCHIVE_MINIMUM and (
                len(to_archive) > MASS_ARCHIVE_SHARE * linked
            ):
                held_back = self.env._(
                    "held back: this import would archive %(count)s of %(total)s contacts; "
                    "waiting for an administrator to check Entra ID, then Confirm Archive or "
                    "Keep Them on the directory",
                    count=len(to_archive),
                    total=linked,
                )
                held, to_archive = to_archive, partners.browse()
                held.write({"microsoft_entra_archive_decision": "pending"})
            to_archive.write({"active": False, "microsoft_entra_archived": True})
        counts["archived"] += len(to_archive)
        kept_reasons = {
            "pending": self.env._(
                "kept: waiting for an administrator to Confirm Archive or Keep Them on the "
                "directory"
            ),
            "kept": self.env._("kept: an administrator chose to keep it"),
        }
        for partner in partners:
            if archive and not partner.active and partner not in to_archive:
                continue  # archived already: nothing happened this time
            reason = gone[partner.microsoft_entra_user_id]
            if archive and partner not in to_archive:
                if partner in held:
                    kept = held_back
                elif partner.microsoft_entra_archive_decision:
                    kept = kept_reasons[partner.microsoft_entra_archive_decision]
                else:
                    kept = self.env._("kept: it is the contact of an Odoo user")
                reason = f"{reason}; {kept}"
            lines.append(
                self._partner_line(partner, "archived" if partner in to_archive else "kept", reason)
            )

    @api.model
    def _partner_line(self, partner, action, reason):
        return {
            "external_id": partner.microsoft_entra_user_id,
            "email": partner.email,
            "name": partner.name,
            "partner_id": partner.id,
            "record_type": "existing",
            "action": action,
            "reason": reason,
        }

    def _archive_pending_partners(self):
        """The contacts held back by the mass-archive guard, as the system (it archives them)."""
        self.ensure_one()
        return (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("microsoft_entra_directory_id", "=", self.id),
                    ("microsoft_entra_archive_decision", "=", "pending"),
                ]
            )
        )

    def _decide_archive_pending(self, archive):
        """Archive (or keep) the contacts waiting for a confirmation, logged as a run of its own."""
        self.ensure_one()
        self.check_access("write")
        partners = self._archive_pending_partners()
        if not partners:
            raise UserError(
                self.env._(
                    "No contact of %s is waiting for a confirmation to be archived.", self.name
                )
            )
        run = (
            self.env["microsoft.contacts.sync.run"]
            .sudo()
            .create({"source": "directory", "directory_id": self.id, "user_id": self.env.uid})
        )
        to_archive = partners.browse()
        if archive:
            to_archive = partners.filtered(lambda p: p.active and not p.user_ids)
            to_archive.write(
                {
                    "active": False,
                    "microsoft_entra_archived": True,
                    "microsoft_entra_archive_decision": False,
                }
            )
        (partners - to_archive).write(
            {"microsoft_entra_archive_decision": False if archive else "kept"}
        )
        user = self.env.user.name
        lines = []
        for partner in partners:
            if partner in to_archive:
                line = self._partner_line(
                    partner, "archived", self.env._("archive confirmed by %s", user)
                )
            elif not archive:
                line = self._partner_line(partner, "kept", self.env._("kept by %s", user))
            elif not partner.active:
                line = self._partner_line(partner, "kept", self.env._("kept: archived already"))
            else:
                line = self._partner_line(
                    partner, "kept", self.env._("kept: it is the contact of an Odoo user")
                )
            lines.append({**line, "run_id": run.id})
        self.env["microsoft.contacts.sync.run.line"].sudo().create(lines)
        if archive:
            message = self.env._(
                "Archive confirmed by %(user)s: %(count)s contacts archived.",
                user=user,
                count=len(to_archive),
            )
        else:
            message = self.env._(
                "Archive dismissed by %(user)s: %(count)s contacts kept; later imports leave "
                "them active until their users are back in Entra ID.",
                user=user,
                count=len(partners),
            )
        run.write(
            {
                "state": "done",
                "finished_at": fields.Datetime.now(),
                "count_archived": len(to_archive),
                "message": message,
            }
        )
        action = self._notify("success", message)
        action["params"]["next"] = run._get_form_action()
        return action

    # -- field and country knowledge for sync/directory.py --------------------------------

    @api.model
    def _target_field(self, field):
        """TargetField of an ir.model.fields record of res.partner."""
        return self._target_field_by_name(field.name)

    @api.model
    def _target_field_by_name(self, name):
        field = self.env["res.partner"]._fields[name]
        selection = ()
        if field.type == "selection":
            selection = tuple(key for key, _label in field._description_selection(self.env) or ())
        return TargetField(
            name=name,
            type=field.type,
            label=field.get_description(self.env)["string"],
            size=getattr(field, "size", None),
            required=field.required,
            relation=field.comodel_name if field.type == "many2one" else None,
            selection=selection,
        )

    @api.model
    def _lookups(self):
        countries = {}
        for country in self.env["res.country"].search_read([], ["code", "name"]):
            countries[country["code"].lower()] = country["id"]
            countries[country["name"].lower()] = country["id"]
        states = {}
        for state in self.env["res.country.state"].search_read([], ["code", "name", "country_id"]):
            states[(state["country_id"][0], state["code"].lower())] = state["id"]
            states[(state["country_id"][0], state["name"].lower())] = state["id"]
        return Lookups(countries=countries, states=states)
