from odoo import fields, models


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
