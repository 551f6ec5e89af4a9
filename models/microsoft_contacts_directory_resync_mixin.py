from odoo import api, fields, models


class MicrosoftContactsDirectoryResyncMixin(models.AbstractModel):
    """A line of a directory that decides what is read (a group, a mapped attribute):
    creating, changing or deleting one makes the next import read everything again."""

    _name = "microsoft.contacts.directory.resync.mixin"
    _description = "Entra ID Directory Line That Resyncs"

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
