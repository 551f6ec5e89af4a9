from odoo import fields, models


class MicrosoftContactsDirectorySecret(models.TransientModel):
    """Re-authorise a directory: a new client secret, checked at once."""

    _name = "microsoft.contacts.directory.secret"
    _description = "Re-authorise an Entra ID Directory"

    directory_id = fields.Many2one("microsoft.contacts.directory", required=True)
    client_id = fields.Char("Client ID", required=True)
    client_secret = fields.Char("New Client Secret", required=True)

    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        directory = self.env["microsoft.contacts.directory"].browse(values.get("directory_id"))
        if directory and "client_id" in fields_list:
            values["client_id"] = directory.client_id
        return values

    def action_apply(self):
        self.ensure_one()
        self.directory_id.write(
            {
                "use_main_app": False,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        )
        return self.directory_id.action_test()
