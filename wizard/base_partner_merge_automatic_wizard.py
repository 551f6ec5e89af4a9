from odoo import api, models

from ..models.res_partner import ENTRA_LINK_FIELDS


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        """Move the Outlook pairs to the surviving contact before Odoo rewrites the columns.

        Odoo would rewrite partner_id but not the partner_ref the sync reads, and would delete
        a pair that clashes with the survivor's: the merged contact would read as deleted (its
        Outlook copy deleted, a new one made). Here the survivor keeps one Outlook copy per
        account and the others are left out of the sync, with a line in the user's log.
        """
        for model in ("microsoft.contacts.link", "microsoft.contacts.default.folder.link"):
            self.env[model].sudo()._follow_partner_merge(src_partners, dst_partner)
        return super()._update_foreign_keys(src_partners, dst_partner)

    @api.model
    def _update_values(self, src_partners, dst_partner):
        """Carry the Entra ID link over as one piece, as the system.

        Odoo copies each field from the last merged contact holding a value, as the user who
        merges: the link fields are the directory import's only (see res.partner), and taken
        field by field they could join one contact's Entra ID user to another's directory. The
        kept contact keeps its own link, else takes a merged contact's, so the import goes on
        updating it instead of creating that user's contact again. "Archived by the import"
        means nothing on a contact the merge leaves active: it is dropped there.
        """
        source = (src_partners + dst_partner).filtered("microsoft_entra_user_id")[-1:]
        link = {}
        if source and source != dst_partner:
            link = {
                name: source._fields[name].convert_to_write(source[name], source)
                for name in ENTRA_LINK_FIELDS
            }
        linked_sources = src_partners.filtered(
            lambda partner: any(partner[name] for name in ENTRA_LINK_FIELDS)
        )
        if linked_sources:
            # They are deleted after the merge; cleared first, Odoo's copy leaves the link alone.
            linked_sources.sudo().write(dict.fromkeys(ENTRA_LINK_FIELDS, False))
        if link:
            dst_partner.sudo().write(link)
        result = super()._update_values(src_partners, dst_partner)
        if dst_partner.active and dst_partner.microsoft_entra_archived:
            dst_partner.sudo().microsoft_entra_archived = False
        return result
