"""How a user asks for an Outlook sync: the Contacts button, Sync Now, and the first preview.

The button and Sync Now never run a sync inside the request: they queue it for the cron
worker, which serves the requested accounts first and toasts the result to whoever asked.
Nothing is synced before the user has seen the preview of the first sync (or skipped it).
"""

from urllib.parse import urlencode

from odoo import Command, api, fields, models

from .microsoft_contacts_account import CONNECT_ROUTE

SYNC_CRON = "microsoft_contacts.ir_cron_microsoft_contacts_sync"


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
        account = self.search([("user_id", "=", self.env.uid)], limit=1)
        if not account or account.state != "connected":
            return self._action_connect_and_return(return_url)
        return account._action_sync()

    def action_sync_now(self):
        """The account form's Sync Now: same as the Contacts button, for this account."""
        self.ensure_one()
        self._check_can_manage()
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
        """Queue a sync for the cron worker, which serves requested accounts first."""
        self.sudo().write({"sync_requested_by_id": user.id})
        self.env.ref(SYNC_CRON)._trigger()

    def action_preview(self):
        """The account form's Preview: what the next sync would do, to choose from."""
        self.ensure_one()
        self._check_can_manage()
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

    # -- contacts left out ----------------------------------------------------------------
    # One mechanism for "not synced with my Outlook": the partner form's Stop / Resume
    # syncing for me and the preview's unticked lines and Left Out tab all come here.

    @api.model
    def _left_out_label(self, name, email):
        """How a contact left out is named in the preview's Left Out tab."""
        return " ".join(filter(None, [name, email and f"<{email}>"])) or False

    def _leave_out(self, records):
        """Keep these records out of every later sync, until included again.

        `records`: (partner id or 0, Outlook id or None, label). A record already linked, or
        matched to an Outlook contact, is frozen through a detached link marked excluded, its
        snapshot (the last synced state) kept; an Odoo contact alone is left out of the scope;
        an Outlook contact alone gets a detached link with no partner. Both sides stay as they
        are. Takes the sync lock: a running sync would overwrite the links.
        """
        self.ensure_one()
        self._hold_sync_lock()
        Link = self.env["microsoft.contacts.link"].sudo()
        pids = [pid for pid, _oid, _label in records if pid]
        oids = [oid for _pid, oid, _label in records if oid]
        rows = Link.search(
            [
                ("account_id", "=", self.id),
                "|",
                ("partner_ref", "in", pids),
                ("outlook_id", "in", oids),
            ]
        )
        by_partner = {row.partner_ref: row for row in rows if row.partner_ref}
        by_outlook = {row.outlook_id: row for row in rows}
        new_links, partners = [], []
        for pid, oid, label in records:
            row = by_partner.get(pid) or by_outlook.get(oid)
            if row:
                row.write({"detached": True, "excluded": True, "label": label, "read_again": False})
            elif oid:
                new_links.append(
                    {
                        "account_id": self.id,
                        "partner_id": pid or False,
                        "partner_ref": pid or 0,
                        "outlook_id": oid,
                        "detached": True,
                        "excluded": True,
                        "label": label,
                    }
                )
            elif pid:
                partners.append(pid)
        Link.create(new_links)
        if partners:
            self.sudo().excluded_partner_ids = [Command.link(pid) for pid in partners]

    def _include_again(self, partners, links):
        """Undo `_leave_out`: the next sync takes these records in again, without duplicates.

        `partners` leave the contacts left out of the scope, and their detached pairs resume
        (whether the user or a sync detached them); `links` are detached links of this account
        to resume (the preview's Left Out lines). A pair resumes from its last synced state and
        its Outlook contact is read again by the next sync: the three-way merge then sees what
        changed on either side meanwhile (an Outlook copy deleted meanwhile is created again).
        An Outlook contact alone is read again and taken in as a new one. The delta position is
        kept: no full read of the folder. Takes the sync lock, as `_leave_out` does.
        """
        self.ensure_one()
        self._hold_sync_lock()
        Link = self.env["microsoft.contacts.link"].sudo()
        links = links.sudo()
        if partners:
            self.sudo().excluded_partner_ids = [Command.unlink(pid) for pid in partners.ids]
            links |= Link.search([("account_id", "=", self.id), ("partner_id", "in", partners.ids)])
        links.filtered(lambda row: row.account_id == self and row.detached).write(
            {"detached": False, "excluded": False, "label": False, "read_again": True}
        )

    @api.model
    def _action_connect_and_return(self, return_url=None):
        """Sign in first; the connect route sends the browser back to `return_url` after."""
        url = CONNECT_ROUTE
        if return_url and return_url.startswith("/") and not return_url.startswith("//"):
            url = f"{CONNECT_ROUTE}?{urlencode({'redirect': return_url})}"
        return {"type": "ir.actions.act_url", "url": url, "target": "self"}

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
