from odoo import models

from .res_users import SYNC_GROUP


class ResGroups(models.Model):
    _inherit = "res.groups"

    def write(self, vals):
        """Users taken out of the group that may sync (from the group's form) stop at once,
        as when their own groups change (res.users.write)."""
        group = self.env.ref(SYNC_GROUP, raise_if_not_found=False)
        before = group.users if group and "users" in vals and group in self else None
        result = super().write(vals)
        if before is not None:
            (before - group.users)._microsoft_contacts_offboard()
        return result
