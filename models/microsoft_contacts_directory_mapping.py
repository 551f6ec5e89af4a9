from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..sync.directory import USER_ATTRIBUTES


class MicrosoftContactsDirectoryMapping(models.Model):
    """Which Entra ID user attribute fills which partner field, and whether it overwrites."""

    _name = "microsoft.contacts.directory.mapping"
    _inherit = ["microsoft.contacts.directory.resync.mixin"]
    _description = "Entra ID Attribute Mapping"
    _order = "sequence, id"

    sequence = fields.Integer(default=10)
    attribute = fields.Selection(list(USER_ATTRIBUTES), "Entra ID Attribute", required=True)
    field_id = fields.Many2one(
        "ir.model.fields",
        "Contact Field",
        required=True,
        ondelete="cascade",
        domain="[('model', '=', 'res.partner'), ('store', '=', True), ('readonly', '=', False),"
        " ('ttype', 'in', ('char', 'text', 'html', 'integer', 'float', 'monetary', 'boolean',"
        " 'selection', 'many2one'))]",
    )
    field_name = fields.Char(related="field_id.name")
    overwrite = fields.Boolean(
        "Overwrite Existing Values",
        default=True,
        help="When off, the attribute only fills the field where the contact has no value yet.",
    )

    _sql_constraints = [
        (
            "field_unique",
            "UNIQUE(directory_id, field_id)",
            "Each contact field can be filled by one attribute only.",
        ),
    ]

    @api.constrains("field_id")
    def _check_field_id(self):
        Directory = self.env["microsoft.contacts.directory"]
        for mapping in self:
            refusal = Directory._target_field(mapping.field_id).refusal()
            if refusal:
                raise ValidationError(
                    self.env._(
                        "%(field)s cannot be mapped: %(reason)s.",
                        field=mapping.field_id.field_description,
                        reason=refusal,
                    )
                )
