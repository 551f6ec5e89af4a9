import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..graph import AuthExpiredError, FolderGoneError, GraphError
from ..sync.preview import SECTIONS, preview_entries
from .microsoft_contacts_sync_preview_line import SECTION_SELECTION

_logger = logging.getLogger(__name__)

LINE_MODEL = "microsoft.contacts.sync.preview.line"


def _section_lines(section):
    return fields.One2many(
        LINE_MODEL,
        "preview_id",
        domain=[("section", "=", section)],
        string=dict(SECTION_SELECTION)[section],
    )


class MicrosoftContactsSyncPreview(models.TransientModel):
    """A dry run of the next Outlook sync: the user ticks what goes ahead.

    Computing it writes nothing (no folder, no delta position, no partner, no link). Applying
    plans again and writes only the ticked contacts whose planned actions did not change;
    the unticked ones are left out of every later sync until included again here.
    """

    _name = "microsoft.contacts.sync.preview"
    _description = "Outlook Sync Preview"

    account_id = fields.Many2one("microsoft.contacts.account", required=True, ondelete="cascade")
    first_sync = fields.Boolean(readonly=True)
    import_default_folder = fields.Boolean(related="account_id.import_default_folder")
    error = fields.Text(readonly=True)
    summary = fields.Char(compute="_compute_summary")
    line_ids = fields.One2many(LINE_MODEL, "preview_id")
    create_outlook_line_ids = _section_lines("create_outlook")
    create_odoo_line_ids = _section_lines("create_odoo")
    update_outlook_line_ids = _section_lines("update_outlook")
    update_odoo_line_ids = _section_lines("update_odoo")
    link_line_ids = _section_lines("link")
    conflict_line_ids = _section_lines("conflict")
    kept_line_ids = _section_lines("kept")
    invalid_line_ids = _section_lines("invalid")
    deletion_line_ids = _section_lines("deletion")
    excluded_line_ids = _section_lines("excluded")

    @api.depends("line_ids.section", "error")
    def _compute_summary(self):
        labels = dict(SECTION_SELECTION)
        for preview in self:
            counts = {}
            for line in preview.line_ids:
                if line.section != "excluded":
                    counts[line.section] = counts.get(line.section, 0) + 1
            preview.summary = (
                ", ".join(f"{labels[s]}: {counts[s]}" for s in SECTIONS if s in counts)
                if counts
                else self.env._("Nothing to change: Odoo and Outlook agree.")
            )

    # -- building ------------------------------------------------------------------------

    def _load_plan(self):
        """Plan the next sync as a dry run and fill the lines."""
        self.ensure_one()
        account = self.account_id
        account._check_can_manage()
        self.first_sync = not account.initial_sync_confirmed
        self.line_ids.unlink()
        error = None
        # Held until this request ends: no sync reads the same delta meanwhile.
        if not account.sudo()._lock_sync():
            error = self.env._("A sync of this account is running: preview again once it is done.")
        else:
            try:
                # Outside the savepoint: a refreshed token cache must survive a failed plan.
                account.sudo()._get_access_token()
                with self.env.cr.savepoint():
                    plan, partner_labels, item_labels = account._plan_outlook_sync()
            except AuthExpiredError as failure:
                account._mark_needs_reconnect(str(failure))
                error = str(failure)
            except FolderGoneError:
                error = self.env._(
                    "The folder %s was deleted in Outlook. Reset the Outlook sync of this "
                    "account to sync again.",
                    account.folder_name,
                )
            except (GraphError, UserError) as failure:
                _logger.info("Outlook sync preview of account %s failed: %s", account.id, failure)
                error = str(failure)
        vals_list = []
        if error is None:
            vals_list = self._plan_lines(plan, partner_labels, item_labels)
        vals_list += self._left_out_lines()
        # Lines are written by the preview only (users may tick them, nothing else).
        self.sudo().write(
            {"error": error or False, "line_ids": [fields.Command.create(v) for v in vals_list]}
        )

    def _plan_lines(self, plan, partner_labels, item_labels):
        order = {section: index for index, section in enumerate(SECTIONS)}
        texts = self._preview_texts()
        entries = preview_entries(plan, lambda text: texts.get(text, text))
        pids = [e.partner_id for e in entries if e.partner_id and e.partner_id > 0]
        Partner = self.env["res.partner"].sudo().with_context(active_test=False)
        existing = set(Partner.browse(pids).exists().ids)
        vals_list = []
        for index, entry in enumerate(entries):
            name, email = (
                partner_labels.get(entry.partner_id)
                or item_labels.get(entry.outlook_id)
                or (None, None)
            )
            if not name and entry.values:
                name, email = entry.values.get("name"), entry.values.get("email")
            vals_list.append(
                {
                    "sequence": order[entry.section] * 1_000_000 + index,
                    "section": entry.section,
                    "group_key": entry.key,
                    "kinds": entry.signature,
                    "selectable": entry.optional,
                    "selected": entry.default_selected,
                    "partner_id": entry.partner_id if entry.partner_id in existing else False,
                    "partner_ref": entry.partner_id
                    if entry.partner_id and entry.partner_id > 0
                    else 0,
                    "outlook_id": entry.outlook_id or False,
                    "name": name or False,
                    "email": email or False,
                    "changes": entry.changes or False,
                    "reason": entry.reason or False,
                }
            )
        return vals_list

    def _preview_texts(self):
        """The words of the changes (sync.preview.TEXTS) in the user's language; literal
        here, where the translation tool finds them."""
        return {
            "(empty)": self.env._("(empty)"),
            "%(field)s: %(new)s": self.env._("%(field)s: %(new)s"),
            "%(field)s: %(old)s → %(new)s": self.env._("%(field)s: %(old)s → %(new)s"),
            "Outlook: %(changes)s": self.env._("Outlook: %(changes)s"),
            "Odoo: %(changes)s": self.env._("Odoo: %(changes)s"),
            "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept odoo's": self.env._(
                "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept odoo's"
            ),
            "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept outlook's": self.env._(
                "%(field)s: Odoo %(odoo)s / Outlook %(outlook)s, kept outlook's"
            ),
            "%(field)s: Outlook's %(outlook)s stays in Outlook (field synced one way)": (
                self.env._(
                    "%(field)s: Outlook's %(outlook)s stays in Outlook (field synced one way)"
                )
            ),
            "%(field)s: Odoo's %(odoo)s stays in Odoo (field synced one way)": self.env._(
                "%(field)s: Odoo's %(odoo)s stays in Odoo (field synced one way)"
            ),
            "%(field)s: not synced (Odoo %(odoo)s / Outlook %(outlook)s)": self.env._(
                "%(field)s: not synced (Odoo %(odoo)s / Outlook %(outlook)s)"
            ),
            "name": self.env._("name"),
            "title": self.env._("title"),
            "job title": self.env._("job title"),
            "company": self.env._("company"),
            "email": self.env._("email"),
            "phone": self.env._("phone"),
            "mobile": self.env._("mobile"),
            "street": self.env._("street"),
            "street 2": self.env._("street 2"),
            "city": self.env._("city"),
            "state": self.env._("state"),
            "ZIP": self.env._("ZIP"),
            "country": self.env._("country"),
            "website": self.env._("website"),
            "notes": self.env._("notes"),
            "tags": self.env._("tags"),
            "photo": self.env._("photo"),
            "a photo": self.env._("a photo"),
            "another photo": self.env._("another photo"),
            "changed": self.env._("changed"),
            "removed": self.env._("removed"),
        }

    def _left_out_lines(self):
        """Contacts left out earlier: ticking one includes it again."""
        account = self.account_id.sudo()
        sequence = len(SECTIONS) * 1_000_000
        vals_list = [
            {
                "sequence": sequence,
                "section": "excluded",
                "selectable": True,
                "partner_id": partner.id,
                "partner_ref": partner.id,
                "name": partner.name,
                "email": partner.email or False,
                "reason": self.env._("Odoo contact left out: not sent to Outlook."),
            }
            for partner in account.excluded_partner_ids
        ]
        links = (
            self.env["microsoft.contacts.link"]
            .sudo()
            .search([("account_id", "=", account.id), ("excluded", "=", True)])
        )
        for link in links:
            vals_list.append(
                {
                    "sequence": sequence + 1,
                    "section": "excluded",
                    "selectable": True,
                    "link_id": link.id,
                    "partner_id": link.partner_id.id,
                    "partner_ref": link.partner_ref,
                    "outlook_id": link.outlook_id,
                    "name": link.partner_id.name or link.label or False,
                    "email": link.partner_id.email or False,
                    "reason": self.env._("Left out: kept as it is on both sides, not synced."),
                }
            )
        return vals_list

    def _action_reopen(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Preview of your Outlook sync"),
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "new",
        }

    # -- actions -------------------------------------------------------------------------

    def action_select_all(self):
        self._plan_choices().write({"selected": True})
        return self._action_reopen()

    def action_select_none(self):
        self._plan_choices().write({"selected": False})
        return self._action_reopen()

    def action_refresh(self):
        self._load_plan()
        return self._action_reopen()

    def _plan_choices(self):
        return self.line_ids.filtered(lambda line: line.selectable and line.section != "excluded")

    def action_apply(self):
        """Leave the unticked contacts out, then sync the ticked ones (planned again)."""
        self.ensure_one()
        account = self.account_id
        account._check_can_manage()
        account._check_may_write_outlook()
        if self.error:
            raise UserError(self.env._("This preview could not be computed: %s", self.error))
        if account._is_sync_running():
            raise UserError(
                self.env._("A sync of this account is running: preview again once it is done.")
            )
        choices = self._plan_choices()
        unticked = choices.filtered(lambda line: not line.selected)
        # Takes the account's sync lock, held until this request ends: the run below is ours.
        account._leave_out(
            [
                (
                    line.partner_ref,
                    line.outlook_id or None,
                    account._left_out_label(line.name, line.email),
                )
                for line in unticked
            ]
        )
        account.sudo().initial_sync_confirmed = True
        chosen = {line.group_key: line.kinds for line in choices if line.selected}
        # In this request, as one transaction: no commit that a retried request would replay.
        account.with_context(microsoft_contacts_auto_commit=False)._sync_outlook(
            trigger_user=self.env.user, confirm_deletions=True, chosen=chosen
        )
        back = self.excluded_line_ids.filtered("selected")
        account._include_again(
            back.filtered(lambda line: not line.link_id).partner_id, back.link_id
        )
        return {"type": "ir.actions.act_window_close"}

    def action_sync_everything(self):
        """Skip the preview: confirm the first sync and queue a normal, complete one."""
        self.ensure_one()
        account = self.account_id
        account._check_can_manage()
        account.sudo().initial_sync_confirmed = True
        action = account._action_sync()
        action["params"]["next"] = {"type": "ir.actions.act_window_close"}
        return action
