"""Contacts left out of a user's sync, and taken in again.

One mechanism for "not synced with my Outlook": the partner form's Stop / Resume syncing for
me, and the preview's unticked lines and Left Out tab, all come here.
"""

from odoo import Command, api, models


class MicrosoftContactsAccountLeftOut(models.Model):
    _inherit = "microsoft.contacts.account"

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
        self._read_odoo_whole_next()
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
        self._read_odoo_whole_next()
        Link = self.env["microsoft.contacts.link"].sudo()
        links = links.sudo()
        if partners:
            self.sudo().excluded_partner_ids = [Command.unlink(pid) for pid in partners.ids]
            links |= Link.search([("account_id", "=", self.id), ("partner_id", "in", partners.ids)])
        links.filtered(lambda row: row.account_id == self and row.detached).write(
            {"detached": False, "excluded": False, "label": False, "read_again": True}
        )

    def _left_out_partner_ids(self):
        """Partners the user stopped syncing (partner form, preview): never touched."""
        self.ensure_one()
        links = (
            self.env["microsoft.contacts.link"]
            .sudo()
            .search_read(
                [
                    ("account_id", "=", self.id),
                    ("excluded", "=", True),
                    ("partner_id", "!=", False),
                ],
                ["partner_id"],
                load=None,
            )
        )
        return set(self.sudo().excluded_partner_ids.ids) | {link["partner_id"] for link in links}
