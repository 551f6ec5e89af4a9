from odoo import api, fields, models
from odoo.exceptions import AccessError

SECTION_SELECTION = [
    ("create_outlook", "Create in Outlook"),
    ("create_odoo", "Create in Odoo"),
    ("update_outlook", "Update Outlook"),
    ("update_odoo", "Update Odoo"),
    ("link", "Link matching contacts"),
    ("conflict", "Conflicts"),
    ("kept", "Kept on one side"),
    ("invalid", "Invalid"),
    ("deletion", "Deletions and archives"),
    ("excluded", "Left out"),
]


class MicrosoftContactsSyncPreviewLine(models.TransientModel):
    """One contact of a sync preview: what would happen to it, and whether to do it."""

    _name = "microsoft.contacts.sync.preview.line"
    _description = "Outlook Sync Preview Line"
    _order = "preview_id, sequence, id"

    preview_id = fields.Many2one(
        "microsoft.contacts.sync.preview", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer()
    section = fields.Selection(SECTION_SELECTION, required=True, readonly=True)
    selected = fields.Boolean(
        "Apply", help="Ticked: applied. Unticked: the contact is left out of the sync."
    )
    selectable = fields.Boolean(readonly=True)
    group_key = fields.Char(readonly=True)
    kinds = fields.Char(readonly=True, help="The planned actions, checked again at apply time.")
    partner_id = fields.Many2one("res.partner", "Odoo Contact", readonly=True)
    partner_ref = fields.Integer(readonly=True)
    outlook_id = fields.Char("Outlook ID", readonly=True)
    link_id = fields.Many2one("microsoft.contacts.link", readonly=True, ondelete="cascade")
    name = fields.Char(readonly=True)
    email = fields.Char(readonly=True)
    changes = fields.Text("What Changes", readonly=True)
    reason = fields.Text(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(self.env._("Preview lines are made by the preview itself."))
        return super().create(vals_list)

    def write(self, vals):
        # What a line says is checked again at apply time; a user only ticks or unticks it.
        if not self.env.su and set(vals) - {"selected"}:
            raise AccessError(self.env._("Only the Apply box of a preview line can be changed."))
        return super().write(vals)
