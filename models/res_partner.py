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
    microsoft_entra_archived = fields.Boolean(
        "Archived by the Entra ID Import",
        copy=False,
        readonly=True,
        help="Set when the directory import archived this contact; only such contacts come "
        "back when their user is enabled again.",
    )
