from odoo import Command, fields, models


class MicrosoftContactsLink(models.Model):
    """One synced pair: an Odoo partner and an Outlook contact of one account.

    This is the sync status database: the snapshot is the last synced neutral contact (the
    merge base), so the next run can tell which side changed what.
    """

    _name = "microsoft.contacts.link"
    _description = "Outlook Contact Link"
    _order = "account_id, id"
    _rec_name = "outlook_id"

    account_id = fields.Many2one(
        "microsoft.contacts.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    user_id = fields.Many2one(related="account_id.user_id")
    partner_id = fields.Many2one("res.partner", ondelete="set null", index=True, readonly=True)
    # The partner's id, kept when the partner itself is deleted (partner_id becomes empty):
    # the next run still knows which pair it was, and deletes the Outlook copy by policy.
    partner_ref = fields.Integer("Partner ID", readonly=True, index=True)
    outlook_id = fields.Char("Outlook ID", required=True, index=True, readonly=True)
    change_key = fields.Char(readonly=True)
    snapshot = fields.Text(readonly=True, help="JSON of the last synced contact (merge base).")
    fingerprint = fields.Char(readonly=True)
    detached = fields.Boolean(
        readonly=True,
        help="The pair is no longer synced (deleted on one side and kept on the other).",
    )
    synced_at = fields.Datetime(readonly=True)
    created_in_outlook = fields.Boolean(
        "Created by the Sync",
        readonly=True,
        help="The sync put this Outlook contact in the folder, as a copy of the Odoo contact. "
        "Otherwise it is the user's own Outlook contact: no Odoo filter ever deletes it.",
    )
    excluded = fields.Boolean(
        readonly=True,
        help="Left out by the user (Stop syncing for me, or unticked in a preview): kept as it "
        "is on both sides (detached) until included again.",
    )
    label = fields.Char(readonly=True, help="Name and email of a contact left out, as shown then.")
    # Photos (sync/photo.py): the checksum of each side's photo when last synced ("none":
    # no photo); empty while the sync never saw it (a pair synced before photos were).
    photo_odoo_hash = fields.Char("Odoo Photo Checksum", readonly=True)
    photo_outlook_hash = fields.Char("Outlook Photo Checksum", readonly=True)
    read_again = fields.Boolean(
        readonly=True,
        help="Taken in again after being left out: the next sync reads this Outlook contact "
        "by its id, as what changed in it meanwhile lies behind the position of the delta.",
    )

    _sql_constraints = [
        (
            "outlook_unique",
            "UNIQUE(account_id, outlook_id)",
            "An Outlook contact is linked at most once per account.",
        ),
        (
            "partner_unique",
            "UNIQUE(account_id, partner_id)",
            "A contact is linked at most once per account.",
        ),
    ]

    def _follow_partner_merge(self, src_partners, dst_partner):
        """Re-point the pairs of merged contacts at the survivor (see the merge wizard).

        Per account, the survivor's own pair stays, else the first synced one takes the
        survivor; the other Outlook copies are left out of the sync (kept as they are in
        Outlook, listed under Left Out in the preview) and logged. Nothing is deleted.
        """
        merged = src_partners | dst_partner
        rows = self.search([("partner_id", "in", merged.ids)], order="detached, id")
        if not rows:
            return
        accounts = rows.account_id
        accounts._hold_sync_lock()
        accounts._read_odoo_whole_next()
        self.env["microsoft.contacts.sync.retry"].sudo().search(
            [("account_id", "in", accounts.ids), ("partner_id", "in", src_partners.ids)]
        ).unlink()
        for account in accounts:
            pairs = rows.filtered(lambda row, account=account: row.account_id == account)
            survivor = pairs.filtered(lambda row: row.partner_id == dst_partner)[:1] or pairs[0]
            others = pairs - survivor
            lines = [
                {
                    "partner_id": dst_partner.id,
                    "external_id": row.outlook_id,
                    "name": row.partner_id.name,
                    "email": row.partner_id.email or False,
                    "record_type": "existing",
                    "action": "unlinked",
                    "reason": self.env._(
                        "%(name)s was merged into %(survivor)s in Odoo: this Outlook copy is "
                        "no longer synced and is kept as it is (Left Out in the preview); "
                        "delete it in Outlook if it is a duplicate",
                        name=row.partner_id.display_name,
                        survivor=dst_partner.display_name,
                    ),
                }
                for row in others
            ]
            for row in others:
                row.write(
                    {
                        "partner_id": False,
                        "partner_ref": 0,
                        "detached": True,
                        "excluded": True,
                        "read_again": False,
                        "label": account._left_out_label(row.partner_id.name, row.partner_id.email),
                    }
                )
            survivor.write({"partner_id": dst_partner.id, "partner_ref": dst_partner.id})
            if lines:
                self.env["microsoft.contacts.sync.run"].sudo().create(
                    {
                        "source": "outlook",
                        "account_id": account.id,
                        "state": "done",
                        "finished_at": fields.Datetime.now(),
                        "message": self.env._("Contacts merged in Odoo."),
                        "line_ids": [Command.create(line) for line in lines],
                    }
                )
