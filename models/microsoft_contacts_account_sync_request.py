"""How a user asks for an Outlook sync: the Contacts button, Sync Now, and the first preview.

The button and Sync Now never run a sync inside the request: they queue it for the cron
worker, which serves the requested accounts first and toasts the result to whoever asked.
Nothing is synced before the user has seen the preview of the first sync (or skipped it).
"""

from urllib.parse import urlencode

from odoo import api, fields, models

from .microsoft_contacts_account import CONNECT_ROUTE


class MicrosoftContactsAccountSyncRequest(models.Model):
    _inherit = "microsoft.contacts.account"

    initial_sync_confirmed = fields.Boolean(
        "First Sync Confirmed",
        readonly=True,
        copy=False,
        help="Set once the user has seen the preview of the first sync (or skipped it): "
        "until then the background sync leaves this account alone.",
    )
    sync_requested_by_id = fields.Many2one(
        "res.users",
        "Sync Requested By",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="A sync was asked for and waits for the background worker, which tells this "
        "user the result.",
    )

    # -- entry points ---------------------------------------------------------------------

    @api.model
    def action_sync_from_contacts(self, return_url=None):
        """The Contacts "Sync with Outlook" button: connect, preview, or queue a sync."""
        self.env.user._microsoft_contacts_check_may_sync()
        account = self.search([("user_id", "=", self.env.uid)], limit=1)
        if account.state == "paused":
            return account._notify_paused()
        if not account or account.state != "connected":
            return self._action_connect_and_return(return_url)
        return account._action_sync()

    def action_sync_now(self):
        """The account form's Sync Now: same as the Contacts button, for this account."""
        self.ensure_one()
        self._check_can_manage()
        if self.state == "paused":
            return self._notify_paused()
        if self.state != "connected":
            return self._notify_sync(
                "warning",
                self.env._("Connect this account to Outlook before syncing it."),
            )
        return self._action_sync()

    def _action_sync(self):
        self.ensure_one()
        if not self.initial_sync_confirmed:
            return self._action_open_preview()
        if self._is_sync_running():
            return self._notify_sync(
                "warning",
                self.env._(
                    "A sync of your Outlook contacts is already running; its result appears "
                    "when it is done."
                ),
            )
        self._request_sync(self.env.user)
        return self._notify_sync(
            "success",
            self.env._(
                "Sync started: your Outlook contacts sync in the background and you are told "
                "when it is done."
            ),
            title=self.env._("Sync started"),
        )

    def _request_sync(self, user):
        """Queue a sync for the cron workers, which serve requested accounts first."""
        self.sudo().write({"sync_requested_by_id": user.id})
        for cron in self._get_sync_crons():
            cron._trigger()

    def action_preview(self):
        """The account form's Preview: what the next sync would do, to choose from."""
        self.ensure_one()
        self._check_can_manage()
        if self.state == "paused":
            return self._notify_paused()
        if self.state != "connected":
            return self._notify_sync(
                "warning",
                self.env._("Connect this account to Outlook before previewing its sync."),
            )
        return self._action_open_preview()

    def _action_open_preview(self):
        """Plan a dry run now and show it in a dialog."""
        self.ensure_one()
        preview = self.env["microsoft.contacts.sync.preview"].create({"account_id": self.id})
        preview._load_plan()
        return preview._action_reopen()

    @api.model
    def _action_connect_and_return(self, return_url=None):
        """Sign in first; the connect route sends the browser back to `return_url` after."""
        url = CONNECT_ROUTE
        if return_url and return_url.startswith("/") and not return_url.startswith("//"):
            url = f"{CONNECT_ROUTE}?{urlencode({'redirect': return_url})}"
        return {"type": "ir.actions.act_url", "url": url, "target": "self"}

    def _notify_paused(self):
        return self._notify_sync(
            "warning",
            self.env._(
                "Your Outlook sync is paused. Resume it from Contacts > My Outlook Sync to "
                "sync again."
            ),
        )

    def _notify_sync(self, kind, message, title=None):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": kind,
                "title": title or self.env._("Outlook contacts"),
                "message": message,
                "sticky": False,
            },
        }
