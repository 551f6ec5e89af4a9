from odoo import fields, models


class MicrosoftContactsSyncRunLineUndo(models.Model):
    """What a line keeps so that its run can be undone, and the line an undo line undoes."""

    _inherit = "microsoft.contacts.sync.run.line"

    action = fields.Selection(
        selection_add=[("restored", "Restored")], ondelete={"restored": "cascade"}
    )
    # The previous and new values of the fields the action changed (and what else the undo
    # needs: sync/undo.py, line_undo_data). Bookkeeping: read by the system only.
    undo_data = fields.Json(groups="base.group_system", readonly=True, copy=False)
    undo_line_id = fields.Many2one(
        "microsoft.contacts.sync.run.line",
        "Undoes",
        ondelete="set null",
        index="btree_not_null",
        readonly=True,
        help="The line of the undone run that this line put back.",
    )
