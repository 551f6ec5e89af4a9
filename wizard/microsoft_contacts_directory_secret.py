from odoo import api, fields, models


class MicrosoftContactsDirectorySecret(models.TransientModel):
    """Re-authorise a directory: a new client secret, checked at once.

    The same application with a new secret goes on where the import was (its delta link is
    kept); another application reads the tenant whole again.
    """

    _name = "microsoft.contacts.directory.secret"
    _description = "Re-authorise an Entra ID Directory"

    directory_id = fields.Many2one("microsoft.contacts.directory", required=True)
    use_main_app = fields.Boolean(related="directory_id.use_main_app")
    client_id = fields.Char("Client ID", required=True)
    client_secret = fields.Char("New Client Secret", required=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        directory = self.env["microsoft.contacts.directory"].browse(values.get("directory_id"))
        if directory and "client_id" in fields_list:
            values["client_id"] = directory._get_client_id()
        return values

    def action_apply(self):
        self.ensure_one()
        directory = self.directory_id
        directory.write(
            {
                "use_main_app": False,
                "client_id": self.client_id.strip(),
                "client_secret": self.client_secret.strip(),
            }
        )
        result = directory.action_test()
        if result["params"]["type"] == "success" and directory._resume_import():
            result["params"]["message"] = self.env._(
                "%s The import starts in the background, from where it stopped.",
                result["params"]["message"],
            )
        return result
