"""Undo a run of the Outlook sync: the button, who may press it, and what the undo run shows.

The undo itself is a step of the sync service (microsoft_contacts_outlook_sync_undo.py): it
runs under the account's sync lock, as the account's user, and logs a run of its own.
"""

from collections import Counter

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL


class MicrosoftContactsSyncRunUndo(models.Model):
    _inherit = "microsoft.contacts.sync.run"

    source = fields.Selection(selection_add=[("undo", "Undo")], ondelete={"undo": "cascade"})
    undo_of_id = fields.Many2one(
        "microsoft.contacts.sync.run",
        "Undo Of",
        ondelete="set null",
        index="btree_not_null",
        readonly=True,
        help="The run this undo put back.",
    )
    undo_ids = fields.One2many("microsoft.contacts.sync.run", "undo_of_id", "Undone By")
    can_undo = fields.Boolean(
        compute="_compute_can_undo",
        help="The run changed contacts that an undo may still put back, and you may undo it.",
    )
    count_restored = fields.Integer("Restored in Odoo", compute="_compute_count_restored")

    def _compute_can_undo(self):
        candidates = self.filtered(
            lambda run: run.source == "outlook"
            and run.state != "running"
            and run.account_id
            and run._may_undo()
        )
        open_ = candidates._runs_with_lines_to_undo()
        for run in self:
            run.can_undo = run in open_

    def _may_undo(self):
        """The run's own user, or an administrator (record rules keep the others out)."""
        self.ensure_one()
        return self.account_id.sudo().user_id == self.env.user or self.env.user.has_group(
            "base.group_system"
        )

    def _runs_with_lines_to_undo(self):
        """Those of these runs with a line that kept undo data and that no undo put back yet:
        one query for all."""
        if not self.ids:
            return self.browse()
        Line = self.env["microsoft.contacts.sync.run.line"]
        Line.flush_model(["run_id", "undo_data", "undo_line_id", "status"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT line.run_id FROM %(table)s AS line
                    WHERE line.run_id IN %(ids)s AND line.undo_data IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM %(table)s AS undo
                                       WHERE undo.undo_line_id = line.id
                                         AND undo.status = 'success')""",
                table=SQL.identifier(Line._table),
                ids=tuple(self.ids),
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    @api.depends("line_ids.action", "line_ids.status")
    def _compute_count_restored(self):
        counts = Counter()
        if self.ids:
            groups = self.env["microsoft.contacts.sync.run.line"]._read_group(
                [
                    ("run_id", "in", self.ids),
                    ("action", "=", "restored"),
                    ("status", "=", "success"),
                ],
                ["run_id"],
                ["__count"],
            )
            counts.update({run.id: count for run, count in groups})
        for run in self:
            run.count_restored = counts[run._origin.id]

    def _get_summary_message(self):
        summary = super()._get_summary_message()
        if self.source != "undo":
            return summary
        sentences = [self.env._("Undo of run #%s.", self.undo_of_id.id)] if self.undo_of_id else []
        if self.count_restored:
            sentences.append(self.env._("Restored in Odoo: %s.", self.count_restored))
            if summary == self.env._("Nothing to change."):
                summary = ""
        return " ".join(filter(None, [*sentences, summary]))

    # -- the button -------------------------------------------------------------------------

    def action_undo(self):
        """Put back what this run did to contacts, as a new run; open it."""
        self.ensure_one()
        self._check_undo_allowed()
        undo = self.env["microsoft.contacts.outlook.sync"]._undo(
            self.account_id.sudo(), self.sudo(), self.env.user
        )
        return undo._get_form_action()

    def _check_undo_allowed(self):
        self.check_access("read")
        if not self.account_id or not self._may_undo():
            raise AccessError(
                self.env._("Only the user whose sync it is, or an administrator, may undo a run.")
            )
        if not self.env.user.has_group("base.group_system"):
            self.env.user._microsoft_contacts_check_may_sync()
        if self.account_id.sudo()._is_offboarded():
            raise UserError(
                self.env._(
                    "%s may no longer sync Outlook contacts: the run cannot be undone.",
                    self.account_id.sudo().user_id.name,
                )
            )
        self.account_id._check_may_write_outlook()
        if self.source == "undo":
            raise UserError(
                self.env._(
                    "An undo is not undone in turn: its lines say what it put back. Change the "
                    "contacts themselves; the next sync carries what you change."
                )
            )
        if self.source != "outlook":
            raise UserError(self.env._("Only Outlook syncs can be undone."))
        if self.state == "running":
            raise UserError(self.env._("This run is still running; undo it once it is done."))
        if not self._runs_with_lines_to_undo():
            done = self.sudo().undo_ids.filtered(lambda run: run.state != "failed")[:1]
            if done:
                raise UserError(self.env._("This run was undone already (run #%s).", done.id))
            raise UserError(
                self.env._(
                    "This run changed no contact that an undo could put back (runs made before "
                    "undo existed kept no previous values)."
                )
            )
