from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

# Computed together from the links and the current user's exclusions.
STATUS_FIELDS = [
    "microsoft_contacts_synced",
    "microsoft_contacts_status",
    "microsoft_contacts_synced_at",
    "microsoft_contacts_other_users",
    "microsoft_contacts_other_count",
]

# A contact's link to an Entra ID user: which contact the directory import updates, archives
# and brings back. Set and changed by the import only, which runs as the system.
ENTRA_LINK_FIELDS = (
    "microsoft_entra_user_id",
    "microsoft_entra_directory_id",
    "microsoft_entra_archived",
    "microsoft_entra_archive_decision",
)


class ResPartner(models.Model):
    _inherit = "res.partner"

    # The scope "My contacts" of every account is read at every run: by salesperson.
    user_id = fields.Many2one(index="btree_not_null")

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
    microsoft_entra_archive_decision = fields.Selection(
        [("pending", "Waiting for Confirmation"), ("kept", "Kept by an Administrator")],
        "Entra ID Archive",
        copy=False,
        readonly=True,
        help="Waiting for Confirmation: the user was removed or disabled in Entra ID together with "
        "too many others for the import to archive the contact on its own; an administrator "
        "confirms or keeps it on the directory. Kept: the administrator chose to keep it. Both "
        "end when the user is back in Entra ID.",
    )
    microsoft_contacts_link_ids = fields.One2many(
        "microsoft.contacts.link", "partner_id", "Outlook Links", readonly=True
    )
    microsoft_contacts_synced = fields.Boolean(
        "Synced with My Outlook",
        compute="_compute_microsoft_contacts_status",
        search="_search_microsoft_contacts_synced",
        groups="base.group_user",
    )
    microsoft_contacts_status = fields.Selection(
        [
            ("synced", "In your Outlook"),
            ("stopped", "Stopped for you"),
            ("none", "Not in your Outlook"),
        ],
        "My Outlook",
        compute="_compute_microsoft_contacts_status",
        help="Stopped: the contact is no longer synced with your Outlook; a copy already in "
        "Outlook stays there, untouched.",
        groups="base.group_user",
    )
    microsoft_contacts_synced_at = fields.Datetime(
        "Last Synced with My Outlook",
        compute="_compute_microsoft_contacts_status",
        groups="base.group_user",
    )
    microsoft_contacts_other_users = fields.Char(
        "In the Outlook of",
        compute="_compute_microsoft_contacts_status",
        help="Other users whose Outlook contacts folder holds this contact.",
        groups="base.group_user",
    )
    microsoft_contacts_other_count = fields.Integer(
        "Other Users' Outlooks",
        compute="_compute_microsoft_contacts_status",
        groups="base.group_user",
    )

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        if not self.env.su and any(
            partner[name] for partner in partners for name in ENTRA_LINK_FIELDS
        ):
            # Checked on the result: values, context defaults and copy() all end here.
            raise partners._microsoft_entra_link_error()
        return partners

    def write(self, vals):
        if not self.env.su and self._microsoft_entra_link_changes(vals):
            raise self._microsoft_entra_link_error()
        return super().write(vals)

    def _microsoft_entra_link_changes(self, vals):
        """The link fields `vals` would change on any of these contacts (a same value is none)."""
        changed = []
        for name in ENTRA_LINK_FIELDS:
            if name not in vals:
                continue
            field = self._fields[name]
            new = field.convert_to_cache(vals[name] or False, self)
            if any(field.convert_to_cache(partner[name], partner) != new for partner in self):
                changed.append(name)
        return changed

    def _microsoft_entra_link_error(self):
        return AccessError(
            self.env._(
                "Only the Microsoft Entra ID directory import can link a contact to an Entra ID "
                "user, change that link or its archive state (Entra ID User, Entra ID Directory, "
                "Archived by the Entra ID Import, Entra ID Archive)."
            )
        )

    @api.depends(
        "microsoft_contacts_link_ids.detached",
        "microsoft_contacts_link_ids.synced_at",
        "microsoft_contacts_link_ids.account_id",
    )
    @api.depends_context("uid")
    def _compute_microsoft_contacts_status(self):
        """The current user's own pair, and the names of the others syncing the contact.

        Links are read as sudo: users see only their own, but who else syncs a contact (names
        only) is fine to show.
        """
        links = (
            self.env["microsoft.contacts.link"]
            .sudo()
            .search([("partner_id", "in", self._origin.ids)], order="id")
        )
        mine, others = {}, {}
        for link in links:
            if link.account_id.user_id.id == self.env.uid:
                mine[link.partner_id.id] = link
            elif not link.detached:
                others.setdefault(link.partner_id.id, []).append(link.account_id.user_id.name)
        excluded = set(self._microsoft_contacts_my_account().sudo().excluded_partner_ids.ids)
        for partner in self:
            link = mine.get(partner._origin.id)
            if link and not link.detached:
                status = "synced"
            elif link or partner._origin.id in excluded:
                status = "stopped"
            else:
                status = "none"
            names = sorted(others.get(partner._origin.id, []))
            partner.microsoft_contacts_status = status
            partner.microsoft_contacts_synced = status == "synced"
            partner.microsoft_contacts_synced_at = link.synced_at if link else False
            partner.microsoft_contacts_other_users = ", ".join(names) or False
            partner.microsoft_contacts_other_count = len(names)

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

    @api.model
    def _microsoft_contacts_my_account(self):
        """The current user's Outlook account, or an empty recordset (none is created)."""
        return self.env["microsoft.contacts.account"].search(
            [("user_id", "=", self.env.uid)], limit=1
        )

    def _microsoft_contacts_require_account(self):
        self.check_access("read")
        account = self._microsoft_contacts_my_account()
        if not account:
            raise UserError(
                self.env._(
                    "You have not connected Outlook yet: open My Outlook Sync (Contacts menu or "
                    "your preferences) first."
                )
            )
        return account.sudo()

    def action_microsoft_contacts_stop_sync(self):
        """Stop syncing these contacts with the current user's Outlook; nothing is deleted.

        The account leaves them out as a preview does (`_leave_out`): a synced pair is frozen
        (the Outlook copy stays as it is), a contact not synced yet stays out of the contacts to
        sync; the preview lists both under Left Out.
        """
        account = self._microsoft_contacts_require_account()
        account._leave_out(
            [
                (partner.id, None, account._left_out_label(partner.name, partner.email))
                for partner in self
            ]
        )
        self.invalidate_recordset(STATUS_FIELDS)
        return self._microsoft_contacts_notify(
            self.env._(
                "No longer synced with your Outlook: %s. Copies already in Outlook stay there.",
                self._microsoft_contacts_label(),
            )
        )

    def action_microsoft_contacts_resume_sync(self):
        """Sync these contacts with the current user's Outlook again, without duplicates.

        Same as including them again in a preview (`_include_again`): the frozen pair resumes
        and the next sync merges what changed on either side while it was stopped.
        """
        account = self._microsoft_contacts_require_account()
        account._include_again(self, self.env["microsoft.contacts.link"])
        self.invalidate_recordset(STATUS_FIELDS)
        return self._microsoft_contacts_notify(
            self.env._(
                "Synced with your Outlook again from the next sync: %s.",
                self._microsoft_contacts_label(),
            )
        )

    def _microsoft_contacts_label(self):
        if len(self) == 1:
            return self.display_name
        return self.env._("%s contacts", len(self))

    def _microsoft_contacts_notify(self, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": message,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
