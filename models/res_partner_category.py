from odoo import fields, models


class ResPartnerCategory(models.Model):
    _inherit = "res.partner.category"

    def write(self, vals):
        """A renamed tag: its Outlook category is renamed on every synced mailbox at its next
        sync (the tag's name wins), noted here without touching the accounts."""
        if "name" not in vals:
            return super().write(vals)
        before = {tag.id: tag.name for tag in self}
        result = super().write(vals)
        renames = [
            {"old_name": before[tag.id], "new_name": tag.name}
            for tag in self
            if before[tag.id] and tag.name and before[tag.id] != tag.name
        ]
        if renames:
            self.env["microsoft.contacts.category.rename"].sudo().create(renames)
            self.env["ir.config_parameter"].sudo().set_param(
                "microsoft_contacts.tags_renamed_at",
                fields.Datetime.to_string(fields.Datetime.now()),
            )
        return result
