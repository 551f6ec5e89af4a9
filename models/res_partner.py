from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    microsoft_entra_user_id = fields.Char(
        "Entra ID User", copy=False, index="btree_not_null", readonly=True
    )
    microsoft_entra_directory_id = fields.Many2one(
        "microsoft.contacts.directory",
        "Entra ID Directory",
        copy=False,
        index="btree_not_null",
        readonly=True,
        ondelete="set null",
    )
    microsoft_entra_archived = fields.Boolean(
        "Archived by the Entra ID Import",
        copy=False,
        readonly=True,
        help="Set when the directory import archived this contact; only such contacts come "
        "back when their user is enabled again.",
    )
    microsoft_contacts_link_ids = fields.One2many(
        "microsoft.contacts.link", "partner_id", "Outlook Links", readonly=True
    )
    microsoft_contacts_synced = fields.Boolean(
        "Synced with My Outlook",
        compute="_compute_microsoft_contacts_synced",
        search="_search_microsoft_contacts_synced",
    )

    @api.depends_context("uid")
    def _compute_microsoft_contacts_synced(self):
        links = (
            self.env["microsoft.contacts.link"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", self.ids),
                    ("account_id.user_id", "=", self.env.uid),
                    ("detached", "=", False),
                ]
            )
        )
        synced = set(links.partner_id.ids)
        for partner in self:
            partner.microsoft_contacts_synced = partner.id in synced

    def _search_microsoft_contacts_synced(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        links = (
            self.env["microsoft.contacts.link"]
            .sudo()
            .search([("account_id.user_id", "=", self.env.uid), ("detached", "=", False)])
        )
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", links.partner_id.ids)]
