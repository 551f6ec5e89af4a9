from odoo import api, fields, models


class MicrosoftContactsDirectoryGroup(models.Model):
    _name = "microsoft.contacts.directory.group"
    _description = "Entra ID Group to Import"
    _order = "name, id"

    directory_id = fields.Many2one(
        "microsoft.contacts.directory", required=True, ondelete="cascade", index=True
    )
    group_object_id = fields.Char(
        "Group Object ID", required=True, help="The group's Object ID in Microsoft Entra ID."
    )
    name = fields.Char(help="Read from Entra ID by Test.")

    _sql_constraints = [
        (
            "group_unique",
            "UNIQUE(directory_id, group_object_id)",
            "This group is already listed for this directory.",
        ),
    ]

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
