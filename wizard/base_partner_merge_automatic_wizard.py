from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        """Move the Outlook pairs to the surviving contact before Odoo rewrites the columns.

        Odoo would rewrite partner_id but not the partner_ref the sync reads, and would delete
        a pair that clashes with the survivor's: the merged contact would read as deleted (its
        Outlook copy deleted, a new one made). Here the survivor keeps one Outlook copy per
        account and the others are left out of the sync, with a line in the user's log.
        """
        for model in ("microsoft.contacts.link", "microsoft.contacts.import.link"):
            self.env[model].sudo()._follow_partner_merge(src_partners, dst_partner)
        return super()._update_foreign_keys(src_partners, dst_partner)
