"""What users and administrators control on an account: pause and resume, the overview
of every account, and the notice of a background run that waits for its user."""

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError

from .microsoft_contacts_outlook_sync_read import MAX_ATTEMPTS

HELD_ACTIVITY = "microsoft_contacts.mail_activity_type_sync_held"
# The path of the "My Outlook Sync" action: the account page, with its Preview button.
MY_SYNC_PATH = "my-outlook-sync"


class MicrosoftContactsAccountControl(models.Model):
    _inherit = "microsoft.contacts.account"

    # The newest run, for the administrator's overview of every account.
    last_run_id = fields.Many2one(
        "microsoft.contacts.sync.run", "Last Run", compute="_compute_last_run"
    )
    last_run_state = fields.Selection(
        lambda self: self.env["microsoft.contacts.sync.run"]._fields["state"].selection,
        "Last Run Status",
        compute="_compute_last_run",
    )
    last_run_summary = fields.Char("Last Run Result", compute="_compute_last_run")
    paused_at = fields.Datetime("Paused On", readonly=True, copy=False)
    sync_held = fields.Boolean(
        "Waits for You",
        readonly=True,
        copy=False,
        help="The last background run stopped at the mass-deletion guard or at a stuck "
        "contact: open the preview to confirm the deletions or leave contacts out.",
    )

    stuck_count = fields.Integer("Stuck Contacts", compute="_compute_stuck_count")

    def _stuck_domain(self):
        """The records of these accounts that failed MAX_ATTEMPTS runs in a row (stuck)."""
        return [("account_id", "in", self.ids), ("attempts", ">=", MAX_ATTEMPTS)]

    def _compute_stuck_count(self):
        counts = dict(
            self.env["microsoft.contacts.sync.retry"]
            .sudo()
            ._read_group(self._stuck_domain(), ["account_id"], ["__count"])
        )
        for account in self:
            account.stuck_count = counts.get(account._origin, 0)

    def action_open_stuck_lines(self):
        """The log lines of the contacts still stuck, with why: fix them on either side, or
        leave them out (Stop syncing for me, on the contact)."""
        self.ensure_one()
        self._check_can_manage()
        retries = self.env["microsoft.contacts.sync.retry"].sudo().search(self._stuck_domain())
        keys = retries.mapped("key")
        partner_ids = [int(key.split(":", 1)[1]) for key in keys if key.startswith("partner:")]
        outlook_ids = [key.split(":", 1)[1] for key in keys if key.startswith("outlook:")]
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "microsoft_contacts.action_microsoft_contacts_sync_run_line"
        )
        return {
            **action,
            "name": self.env._("Stuck Contacts"),
            "domain": [
                ("run_id.account_id", "=", self.id),
                ("action", "=", "stuck"),
                "|",
                ("partner_id", "in", partner_ids),
                ("external_id", "in", outlook_ids),
            ],
            "context": {},
        }

    def _compute_last_run(self):
        """The newest run of each account, in one query for all of them."""
        last = dict(
            self.env["microsoft.contacts.sync.run"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["id:max"]
            )
        )
        Run = self.env["microsoft.contacts.sync.run"]
        for account in self:
            run = Run.browse(last.get(account._origin, ()))
            account.last_run_id = run
            account.last_run_state = run.state
            account.last_run_summary = run.summary

    # -- pause and resume -----------------------------------------------------------------

    def action_pause(self):
        """Stop the background sync of these accounts until resumed; nothing is forgotten."""
        self._check_can_manage()
        accounts = self.sudo().filtered(lambda a: a.state == "connected")
        if not accounts:
            raise UserError(self.env._("Only a connected Outlook sync can be paused."))
        accounts.write(
            {"state": "paused", "paused_at": fields.Datetime.now(), "sync_requested_by_id": False}
        )
        for account in accounts:
            account.message_post(body=self.env._("Outlook sync paused by %s.", self.env.user.name))
        return True

    def action_resume(self):
        """Back to the background sync; the next run catches up on what changed meanwhile."""
        self._check_can_manage()
        accounts = self.sudo().filtered(lambda a: a.state == "paused")
        if not accounts:
            raise UserError(self.env._("Only a paused Outlook sync can be resumed."))
        accounts.write({"state": "connected", "paused_at": False})
        for account in accounts:
            account.message_post(body=self.env._("Outlook sync resumed by %s.", self.env.user.name))
            if account.initial_sync_confirmed:
                account._request_sync(self.env.user)
        return True

    def _check_may_write_outlook(self):
        """What the user asks by hand (a preview's Apply, an undo) waits like the background
        sync: nothing is written for an account that is paused or not connected."""
        for account in self.sudo():
            if account.state == "paused":
                raise UserError(
                    self.env._(
                        "The Outlook sync of %s is paused: resume it first.",
                        account.user_id.name,
                    )
                )
            if account.state != "connected":
                raise UserError(
                    self.env._(
                        "The Outlook sync of %s is not connected: connect it first.",
                        account.user_id.name,
                    )
                )

    # -- a held run is never silent -------------------------------------------------------

    def _tell_held_run(self, run, toast=True):
        """A run that stopped and waits for the user (deletions held by the guard, contacts
        stuck): an activity (Odoo notifies its user) and a toast, both leading to the
        preview. One open activity per account: the guard holds every run until the user
        decides, and a stuck contact stays stuck until it changes or is left out."""
        self.ensure_one()
        stuck = self.env["microsoft.contacts.sync.retry"].sudo().search_count(self._stuck_domain())
        if not run.held_deletions and not stuck:
            if self.sync_held:
                self.sync_held = False
                self.activity_unlink([HELD_ACTIVITY])
            return
        newly_held = not self.sync_held
        self.sync_held = True
        if run.held_deletions:
            summary = self.env._("Confirm or leave out the Outlook sync's deletions")
            reason = run.message or ""
        else:
            summary = self.env._("%s contacts are stuck in your Outlook sync", stuck)
            reason = self.env._(
                "%s contacts failed several runs in a row; they are left as they are until "
                "they change. See why under Stuck Contacts, then fix them on either side, or "
                "leave them out (Stop syncing for me, on the contact).",
                stuck,
            )
        note = Markup("<p>%s</p><p>%s <a href='/odoo/%s'>%s</a></p>") % (
            reason,
            self.env._("The background sync waits for you:"),
            MY_SYNC_PATH,
            self.env._("open My Outlook Sync and click Preview"),
        )
        held_type = self.env.ref(HELD_ACTIVITY)
        if not self.activity_ids.filtered(lambda a: a.activity_type_id == held_type):
            self.activity_schedule(
                HELD_ACTIVITY, user_id=self.user_id.id, summary=summary, note=note
            )
        if not toast or not newly_held:
            return  # told by the toast of the run they asked for, or when it first held
        self.user_id.partner_id._bus_send(
            "simple_notification",
            {
                "type": "warning",
                "title": summary,
                "message": self.env._(
                    "%s Open Contacts > My Outlook Sync > Preview to decide.", reason
                ),
                "sticky": True,
            },
        )
