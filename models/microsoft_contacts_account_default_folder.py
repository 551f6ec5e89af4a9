"""The one-way import of the user's default Outlook Contacts folder (a policy, off by default).

When on, each sync first reads the default Contacts folder through its own delta link and
creates or updates partners from it, matched like the synced folder's contacts (our extended
property, then a unique email or phone), so that no partner is duplicated: the sync service's
second target (microsoft_contacts_outlook_sync.py). Nothing is ever written to that folder or
deleted from it; a partner it holds (or held) is not copied into the synced folder either,
where it would be a second copy in Outlook.
"""

from odoo import api, fields, models
from odoo.tools import str2bool

DEFAULT_FOLDER_LINK_MODEL = "microsoft.contacts.default.folder.link"


class MicrosoftContactsAccountDefaultFolder(models.Model):
    _inherit = "microsoft.contacts.account"

    import_default_folder = fields.Boolean(
        "Import My Outlook Contacts",
        default=lambda self: self._setting_default_flag("import_default_folder"),
        help="Also import the contacts of your default Outlook Contacts folder into Odoo, one "
        "way: they are never changed or deleted in Outlook.",
    )
    default_folder_id = fields.Char(groups="base.group_system", copy=False)
    default_folder_delta_link = fields.Char(groups="base.group_system", copy=False)

    @api.model
    def _setting_default_flag(self, name):
        """A yes/no default of new accounts, as chosen in Settings (off when unset)."""
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(f"microsoft_contacts.default_{name}", "")
            .strip()
        )
        return str2bool(value or "false", False)

    def action_reset_outlook_sync(self):
        # The default folder stays the same: its pairs stay, and it is read whole again.
        result = super().action_reset_outlook_sync()
        self.sudo().write({"default_folder_delta_link": False})
        return result

    def _forget_mailbox(self):
        result = super()._forget_mailbox()
        self.env[DEFAULT_FOLDER_LINK_MODEL].sudo().search([("account_id", "in", self.ids)]).unlink()
        self.sudo().write({"default_folder_id": False, "default_folder_delta_link": False})
        return result

    def _default_folder_partner_ids(self):
        """Partners the imported default folder holds, or held until the user deleted them
        there (not to be brought back in another folder); none when the import is off."""
        self.ensure_one()
        if not self.import_default_folder:
            return []
        links = (
            self.env[DEFAULT_FOLDER_LINK_MODEL]
            .sudo()
            .search_read(
                [("account_id", "=", self.id), ("partner_id", "!=", False)],
                ["partner_id"],
                load=None,
            )
        )
        return [link["partner_id"] for link in links]
