from odoo import fields, models


class MicrosoftContactsSyncRetry(models.Model):
    """A record whose sync failed in the last runs: how often, and why.

    A failed record keeps the delta position so that the next run tries it again; after a few
    failures in a row it is reported stuck and the position moves on (a record that fails for
    good must not hold the account's sync back forever). It is tried again when it changes.
    """

    _name = "microsoft.contacts.sync.retry"
    _description = "Outlook Contacts Sync Retry"
    _order = "account_id, id"

    account_id = fields.Many2one(
        "microsoft.contacts.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    target = fields.Selection(
        [("folder", "Synced folder"), ("default_folder", "Default Contacts folder")],
        required=True,
        default="folder",
        readonly=True,
    )
    key = fields.Char(
        required=True,
        readonly=True,
        help="The record, as the plan groups it: partner:<id> or " "outlook:<Outlook ID>.",
    )
    partner_id = fields.Many2one("res.partner", ondelete="cascade", readonly=True)
    attempts = fields.Integer(readonly=True)
    reason = fields.Char(readonly=True)
    last_failed_at = fields.Datetime(readonly=True)

    _sql_constraints = [
        (
            "key_unique",
            "UNIQUE(account_id, target, key)",
            "A record is counted once per account and folder.",
        ),
    ]
