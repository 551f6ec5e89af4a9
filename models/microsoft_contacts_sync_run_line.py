from odoo import api, fields, models

# What a run did to a record, as the CSV report names it; other actions keep the record type.
REPORT_TYPE_OF_ACTION = {
    "created": "new",
    "updated": "updated",
    "deleted": "deleted",
    "archived": "deleted",
}


class MicrosoftContactsSyncRunLine(models.Model):
    """One record a run touched or refused, with the reason an administrator can act on."""

    _name = "microsoft.contacts.sync.run.line"
    _description = "Outlook Contacts Sync Run Line"
    _order = "id"

    run_id = fields.Many2one(
        "microsoft.contacts.sync.run", required=True, ondelete="cascade", index=True
    )
    source = fields.Selection(related="run_id.source")
    owner_id = fields.Many2one("res.users", "User", related="run_id.owner_id", store=True)
    partner_id = fields.Many2one("res.partner", ondelete="set null", index="btree_not_null")
    email = fields.Char()
    name = fields.Char()
    external_id = fields.Char("Microsoft ID")
    record_type = fields.Selection(
        [("new", "New"), ("existing", "Existing")], string="Type", required=True
    )
    action = fields.Selection(
        [
            ("created", "Created"),
            ("updated", "Updated"),
            ("unchanged", "Unchanged"),
            ("archived", "Archived"),
            ("kept", "Kept"),
            ("refused", "Refused"),
            ("deleted", "Deleted"),
            ("linked", "Linked"),
            ("unlinked", "Unlinked"),
            ("conflict", "Conflict"),
            ("not_allowed", "Not Allowed"),
            ("stuck", "Stuck"),
        ],
        required=True,
    )
    direction = fields.Selection(
        [("to_odoo", "Microsoft → Odoo"), ("to_outlook", "Odoo → Outlook")],
        default="to_odoo",
        required=True,
    )
    status = fields.Selection(
        [("success", "Success"), ("failed", "Failed")], required=True, default="success"
    )
    reason = fields.Char("Result")
    report_type = fields.Selection(
        [
            ("new", "New"),
            ("existing", "Existing"),
            ("updated", "Updated"),
            ("deleted", "Deleted"),
        ],
        "Change",
        compute="_compute_report_type",
        help="Created (new), updated, deleted or archived (deleted) by the run; otherwise "
        "new or existing, as the record was.",
    )

    @api.depends("action", "record_type")
    def _compute_report_type(self):
        for line in self:
            line.report_type = REPORT_TYPE_OF_ACTION.get(line.action, line.record_type)
