"""Tags renamed in Odoo, for the master category lists of the synced mailboxes."""

from datetime import timedelta

from odoo import api, fields, models

# A mailbox that did not sync for this long takes a renamed tag as a new category.
KEEP_RENAMES = timedelta(days=90)


class MicrosoftContactsCategoryRename(models.Model):
    """One rename of a tag: each account applies the renames it has not seen yet to its
    mailbox's master categories (microsoft.contacts.account.category_renames_seen); the
    contacts themselves follow through the merge of their tags."""

    _name = "microsoft.contacts.category.rename"
    _description = "Outlook Contacts Sync: Renamed Tag"
    _order = "id"

    old_name = fields.Char(required=True, readonly=True)
    new_name = fields.Char(required=True, readonly=True)

    @api.autovacuum
    def _gc_old_renames(self):
        self.sudo().search([("create_date", "<", fields.Datetime.now() - KEEP_RENAMES)]).unlink()
