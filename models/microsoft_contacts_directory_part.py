from odoo import api, fields, models


class MicrosoftContactsDirectoryPart(models.AbstractModel):
    """A line of a directory that decides what is read: changing it means reading all again."""

    _name = "microsoft.contacts.directory.part"
    _description = "Entra ID Directory Line"

    directory_id = fields.Many2one(
        "microsoft.contacts.directory", required=True, ondelete="cascade", index=True
    )

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records.directory_id._reset_delta()
        return records

    def write(self, vals):
        self.directory_id._reset_delta()
        result = super().write(vals)
        self.directory_id._reset_delta()
        return result

    def unlink(self):
        self.directory_id._reset_delta()
        return super().unlink()
