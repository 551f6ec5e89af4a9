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

    excluded_partner_ids = fields.Many2many(
        "res.partner",
        "microsoft_contacts_account_excluded_partner_rel",
        "account_id",
        "partner_id",
        string="Contacts Left Out",
        readonly=True,
        help="Odoo contacts the user left out in a preview: never sent to Outlook until "
        "included again.",
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

    def _partner_scope_domain(self):
        domain = super()._partner_scope_domain()
        if self.excluded_partner_ids:
            domain.append(("id", "not in", self.excluded_partner_ids.ids))
        return domain

    def _leave_out(self, records):
        """Keep these records out of every later sync, as the user unticked them.

        `records`: (partner id or 0, Outlook id or None, label). A record already linked, or
        matched to an Outlook contact, is frozen through a detached link; an Odoo contact
        alone is left out of the scope; an Outlook contact alone gets a detached link with no
        partner. Both sides stay as they are.
        """
        self.ensure_one()
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
                row.write({"detached": True, "excluded": True, "label": label})
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
        """Undo `_leave_out`: the next sync takes these records in again.

        A frozen pair resumes from its last synced state; an Outlook contact alone is
        forgotten. The folder is then read in full once, as those contacts may not change
        again in Outlook for a long time.
        """
        self.ensure_one()
        if partners:
            self.sudo().excluded_partner_ids = [Command.unlink(p.id) for p in partners]
        links = links.sudo().filtered(lambda row: row.account_id == self and row.excluded)
        if not links:
            return
        links.filtered(lambda row: not row.partner_ref).unlink()
        links.exists().write({"detached": False, "excluded": False, "label": False})
        self.sudo().delta_link = False

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
