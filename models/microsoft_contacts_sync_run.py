from odoo import api, fields, models


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
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
        ],
        default="running",
        required=True,
        readonly=True,
    )
    full_sync = fields.Boolean("Full Read", readonly=True)
    message = fields.Text(readonly=True)
    count_new = fields.Integer("New", readonly=True)
    count_updated = fields.Integer("Updated", readonly=True)
    count_unchanged = fields.Integer("Unchanged", readonly=True)
    count_archived = fields.Integer("Archived", readonly=True)
    count_failed = fields.Integer("Failed", readonly=True)
    line_ids = fields.One2many("microsoft.contacts.sync.run.line", "run_id", readonly=True)

    @api.depends("source", "started_at", "directory_id", "account_id")
    def _compute_display_name(self):
        for run in self:
            origin = run.directory_id.display_name or run.account_id.display_name or ""
            started = fields.Datetime.to_string(run.started_at) if run.started_at else ""
            run.display_name = f"{origin} {started}".strip()

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
