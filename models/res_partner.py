from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    microsoft_entra_user_id = fields.Char(
        "Entra ID User", copy=False, index="btree_not_null", readonly=True
    )
    microsoft_entra_directory_id = fields.Many2one(
        "microsoft.contacts.directory",
        "Entra ID Directory",
        copy=False,
        index="btree_not_null",
        readonly=True,
        ondelete="set null",
    )
