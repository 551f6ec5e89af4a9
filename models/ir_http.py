from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The Contacts views show "Sync with Outlook" only to users who may sync."""
        result = super().session_info()
        user = self.env.user
        result["microsoft_contacts_may_sync"] = bool(
            user._is_internal() and user.sudo().microsoft_contacts_may_sync
        )
        return result
