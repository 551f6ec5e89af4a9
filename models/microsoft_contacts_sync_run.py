import logging
from collections import Counter, defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

DEFAULT_KEEP_RUNS = 50
# (field, direction, action) of the per-direction counts, read from the successful lines.
DIRECTION_COUNTS = (
    ("count_to_outlook_created", "to_outlook", "created"),
    ("count_to_outlook_updated", "to_outlook", "updated"),
    ("count_to_outlook_deleted", "to_outlook", "deleted"),
    ("count_to_odoo_created", "to_odoo", "created"),
    ("count_to_odoo_updated", "to_odoo", "updated"),
    ("count_to_odoo_archived", "to_odoo", "archived"),
)


class MicrosoftContactsSyncRun(models.Model):
    """One run of an Outlook sync or of a directory import, with its counts and lines."""

    _name = "microsoft.contacts.sync.run"
    _description = "Outlook Contacts Sync Run"
    _order = "started_at desc, id desc"
    _rec_name = "display_name"

    source = fields.Selection(
        [("outlook", "Outlook sync"), ("directory", "Entra ID import")],
        required=True,
        readonly=True,
    )
    account_id = fields.Many2one(
        "microsoft.contacts.account", ondelete="cascade", index=True, readonly=True
    )
    directory_id = fields.Many2one(
        "microsoft.contacts.directory", ondelete="cascade", index=True, readonly=True
    )
    user_id = fields.Many2one("res.users", "Requested By", readonly=True)
    started_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    finished_at = fields.Datetime(readonly=True)
    duration = fields.Float(compute="_compute_duration")  # hours, shown as hh:mm:ss
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("paused", "Paused"),
            ("failed", "Failed"),
        ],
        default="running",
        required=True,
        readonly=True,
    )
    full_sync = fields.Boolean("Full Read", readonly=True)
    held_deletions = fields.Boolean(
        "Deletions Held",
        readonly=True,
        help="The mass-deletion guard stopped this run: nothing was applied, and the "
        "deletions wait for the user's confirmation in the preview.",
    )
    # Whose sync it was, stored for the log's graphs and pivots (per user).
    owner_id = fields.Many2one(
        "res.users", "User", related="account_id.user_id", store=True, index="btree_not_null"
    )
    message = fields.Text(readonly=True)
    count_new = fields.Integer("New", readonly=True)
    count_updated = fields.Integer("Updated", readonly=True)
    count_unchanged = fields.Integer("Unchanged", readonly=True)
    count_archived = fields.Integer("Archived", readonly=True)
    count_failed = fields.Integer("Failed", readonly=True)
    line_ids = fields.One2many("microsoft.contacts.sync.run.line", "run_id", readonly=True)
    # Read from the lines (one query for all runs shown): what changed on which side.
    line_count = fields.Integer("Records", compute="_compute_line_counts")
    count_conflict = fields.Integer("Conflicts", compute="_compute_line_counts")
    count_not_allowed = fields.Integer(
        "Not Allowed",
        compute="_compute_line_counts",
        help="Changes the user may not make in Odoo: Odoo's values were kept.",
    )
    count_to_outlook_created = fields.Integer("Created in Outlook", compute="_compute_line_counts")
    count_to_outlook_updated = fields.Integer("Updated in Outlook", compute="_compute_line_counts")
    count_to_outlook_deleted = fields.Integer("Deleted in Outlook", compute="_compute_line_counts")
    count_to_odoo_created = fields.Integer("Created in Odoo", compute="_compute_line_counts")
    count_to_odoo_updated = fields.Integer("Updated in Odoo", compute="_compute_line_counts")
    count_to_odoo_archived = fields.Integer("Archived in Odoo", compute="_compute_line_counts")
    summary = fields.Char(compute="_compute_line_counts")

    @api.depends("source", "started_at", "directory_id", "account_id")
    def _compute_display_name(self):
        for run in self:
            origin = run.directory_id.display_name or run.account_id.display_name or ""
            started = fields.Datetime.to_string(run.started_at) if run.started_at else ""
            run.display_name = f"{origin} {started}".strip()

    @api.depends("started_at", "finished_at", "state")
    def _compute_duration(self):
        now = fields.Datetime.now()
        for run in self:
            end = run.finished_at or (now if run.state == "running" else run.started_at)
            seconds = (end - run.started_at).total_seconds() if run.started_at and end else 0
            run.duration = max(seconds, 0) / 3600

    @api.depends(
        "line_ids.direction",
        "line_ids.action",
        "line_ids.status",
        "state",
        "message",
        "count_failed",
    )
    def _compute_line_counts(self):
        by_run = defaultdict(Counter)
        if self.ids:
            groups = self.env["microsoft.contacts.sync.run.line"]._read_group(
                [("run_id", "in", self.ids)],
                ["run_id", "direction", "action", "status"],
                ["__count"],
            )
            for run, direction, action, status, count in groups:
                counter = by_run[run.id]
                counter["lines"] += count
                if status == "success":
                    counter[direction, action] += count
        for run in self:
            counter = by_run[run._origin.id]
            run.line_count = counter["lines"]
            run.count_conflict = counter["to_odoo", "conflict"] + counter["to_outlook", "conflict"]
            run.count_not_allowed = counter["to_odoo", "not_allowed"]
            for field, direction, action in DIRECTION_COUNTS:
                run[field] = counter[direction, action]
            run.summary = run._get_summary_message()

    def _get_summary_message(self):
        """One translated sentence of what changed per direction, for the log and the toast.

        The run's message (why it failed or stopped) comes first; zero counts are left out.
        """
        self.ensure_one()
        to_outlook = []
        if self.count_to_outlook_created:
            to_outlook.append(self.env._("%s created", self.count_to_outlook_created))
        if self.count_to_outlook_updated:
            to_outlook.append(self.env._("%s updated", self.count_to_outlook_updated))
        if self.count_to_outlook_deleted:
            to_outlook.append(self.env._("%s deleted", self.count_to_outlook_deleted))
        to_odoo = []
        if self.count_to_odoo_created:
            to_odoo.append(self.env._("%s created", self.count_to_odoo_created))
        if self.count_to_odoo_updated:
            to_odoo.append(self.env._("%s updated", self.count_to_odoo_updated))
        if self.count_to_odoo_archived:
            to_odoo.append(self.env._("%s archived", self.count_to_odoo_archived))
        problems = []
        if self.count_conflict == 1:
            problems.append(self.env._("1 conflict"))
        elif self.count_conflict:
            problems.append(self.env._("%s conflicts", self.count_conflict))
        if self.count_not_allowed:
            problems.append(self.env._("%s not allowed", self.count_not_allowed))
        if self.count_failed:
            problems.append(self.env._("%s failed", self.count_failed))
        sentences = [self.message.strip()] if self.message and self.message.strip() else []
        if to_outlook:
            sentences.append(self.env._("To Outlook: %s.", ", ".join(to_outlook)))
        if to_odoo:
            sentences.append(self.env._("To Odoo: %s.", ", ".join(to_odoo)))
        if problems:
            sentences.append(", ".join(problems) + ".")
        return " ".join(sentences) or self.env._("Nothing to change.")

    # -- actions --------------------------------------------------------------------------

    def _get_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "current",
        }

    def action_download_csv(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/microsoft_contacts/run/{self.id}/csv",
            "target": "download",
        }

    def action_open_lines(self):
        return self._get_lines_action()

    def action_open_failed_lines(self):
        return self._get_lines_action("filter_failed")

    def action_open_conflict_lines(self):
        return self._get_lines_action("filter_conflict")

    def _get_lines_action(self, search_filter=None):
        """The run's lines in their own searchable list, optionally pre-filtered."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "microsoft_contacts.action_microsoft_contacts_sync_run_line"
        )
        context = {}
        if search_filter:
            context[f"search_default_{search_filter}"] = 1
        return {
            **action,
            "name": self.display_name,
            "domain": [("run_id", "=", self.id)],
            "context": context,
        }

    # -- retention ------------------------------------------------------------------------

    @api.model
    def _get_keep_runs(self):
        """How many runs the log keeps per Outlook account and per directory (Settings)."""
        value = self.env["ir.config_parameter"].sudo().get_param("microsoft_contacts.log_keep_runs")
        try:
            keep = int(value or DEFAULT_KEEP_RUNS)
        except ValueError:
            keep = DEFAULT_KEEP_RUNS
        return keep if keep >= 1 else DEFAULT_KEEP_RUNS

    @api.autovacuum
    def _gc_old_runs(self):
        """Drop the runs beyond the last N of each account and directory; lines go with them."""
        keep = self._get_keep_runs()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM (
                    SELECT id, row_number() OVER (
                        PARTITION BY source, account_id, directory_id
                        ORDER BY started_at DESC, id DESC
                    ) AS position
                    FROM %s
                ) AS ranked
                WHERE position > %s
                """,
                SQL.identifier(self._table),
                keep,
            )
        )
        old = self.browse(row[0] for row in self.env.cr.fetchall())
        if old:
            _logger.info("Sync log: deleting %s runs beyond the last %s", len(old), keep)
            old.sudo().unlink()
        return len(old)
