from odoo import fields, models


class MicrosoftContactsDirectoryGroup(models.Model):
    _name = "microsoft.contacts.directory.group"
    _inherit = ["microsoft.contacts.directory.resync.mixin"]
    _description = "Entra ID Group to Import"
    _order = "name, id"

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
