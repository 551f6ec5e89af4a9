from odoo import models


class IrUiMenu(models.Model):
    _inherit = "ir.ui.menu"

    def _load_menus_blacklist(self):
        """ "My Outlook Sync" is for users who may sync (Settings may restrict it to a group)."""
        result = super()._load_menus_blacklist()
        if not self.env.user.sudo().microsoft_contacts_may_sync:
            menu = self.env.ref(
                "microsoft_contacts.menu_microsoft_contacts_my_account", raise_if_not_found=False
            )
            if menu:
                result.append(menu.id)
        return result
