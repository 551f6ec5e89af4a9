"""What a run tells: a line per record touched or refused, counts, records that keep failing."""

from odoo import api, fields, models

from ..sync import planner as sp
from .microsoft_contacts_outlook_sync_read import MAX_ATTEMPTS

# kind -> (line action, line direction, record type)
LINE_OF_KIND = {
    sp.CREATE_IN_OUTLOOK: ("created", "to_outlook", "new"),
    sp.RECREATE_IN_OUTLOOK: ("created", "to_outlook", "new"),
    sp.UPDATE_OUTLOOK: ("updated", "to_outlook", "existing"),
    sp.DELETE_IN_OUTLOOK: ("deleted", "to_outlook", "existing"),
    sp.CREATE_IN_ODOO: ("created", "to_odoo", "new"),
    sp.UPDATE_ODOO: ("updated", "to_odoo", "existing"),
    sp.ARCHIVE_PARTNER: ("archived", "to_odoo", "existing"),
    sp.LINK: ("linked", "to_odoo", "existing"),
    sp.UNLINK: ("unlinked", "to_odoo", "existing"),
    sp.CONFLICT: ("conflict", "to_odoo", "existing"),
    sp.INVALID: ("refused", "to_odoo", "existing"),
    sp.NOT_ALLOWED: ("not_allowed", "to_odoo", "existing"),
    sp.SKIP: ("kept", "to_odoo", "existing"),
    sp.UNCHANGED: ("unchanged", "to_odoo", "existing"),
    sp.UPDATE_OUTLOOK_PHOTO: ("updated", "to_outlook", "existing"),
    sp.UPDATE_ODOO_PHOTO: ("updated", "to_odoo", "existing"),
    sp.READ_PHOTO: ("unchanged", "to_odoo", "existing"),
    sp.KEEP_PHOTO: ("unchanged", "to_odoo", "existing"),
}
COUNT_OF_ACTION = {
    "created": "new",
    "updated": "updated",
    "archived": "archived",
    "deleted": "archived",
    "unchanged": "unchanged",
}


class MicrosoftContactsOutlookSyncLog(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    @api.model
    def _line(self, job, record, action, status="success", reason=None):
        line_action, direction, record_type = LINE_OF_KIND[action.kind]
        pid = record.partner_id
        name, email = (
            job.partner_labels.get(pid) or job.item_labels.get(record.outlook_id) or (None, None)
        )
        if action.values and not name:
            name, email = action.values.get("name"), action.values.get("email")
        problems = "; ".join([*(p.message for p in action.problems if p.message), *record.notes])
        text = reason or action.reason or ""
        if problems and problems not in text:
            text = f"{text} ({problems})" if text else problems
        return {
            "partner_id": pid if pid in job.existing_partners else False,
            "external_id": record.outlook_id or False,
            "name": name or False,
            "email": email or False,
            "record_type": record_type,
            "action": line_action,
            "direction": direction,
            "status": status,
            "reason": text[:500] or False,
        }

    @api.model
    def _line_effect(self, job, record, action):
        """The line and count of an action, once its writes are kept."""

        def effect():
            if action.kind == sp.INVALID:
                job.counts["failed"] += 1
                job.lines.append(self._line(job, record, action, status="failed"))
                return
            if action.kind == sp.SKIP and record.key in job.held_keys:
                return  # left out, or stuck and reported when it stuck: not every run
            line = self._line(job, record, action)
            key = COUNT_OF_ACTION.get(line["action"])
            if key:
                job.counts[key] += 1
            if action.kind == sp.UNCHANGED and not action.problems:
                return  # counted, not logged: unchanged pairs would flood the log
            job.lines.append(line)

        return effect

    @api.model
    def _fail(self, job, record, action, reason):
        """The record stops here; its Outlook contact is read again next round (the position
        is kept). A record that failed MAX_ATTEMPTS runs in a row is reported stuck instead:
        the position moves on, and the record is tried again once it changes."""
        record.actions.clear()
        retry = job.retries.get(record.key)
        attempts = (retry.attempts if retry else 0) + 1
        job.failed[record.key] = (attempts, reason, record.partner_id or action.partner_id)
        job.counts["failed"] += 1
        line = self._line(job, record, action, status="failed", reason=reason)
        if attempts >= MAX_ATTEMPTS:
            line["action"] = "stuck"
            line["reason"] = self.env._(
                "stuck after %(attempts)s failed attempts: %(reason)s. It is left as it is on "
                "both sides and tried again when it changes.",
                attempts=attempts,
                reason=reason,
            )[:500]
        else:
            job.incomplete = True
        job.lines.append(line)

    @api.model
    def _keep_retries(self, job, plan):
        """Count the failures of this run; forget those of the records it synced."""
        Retry = self.env["microsoft.contacts.sync.retry"].sudo()
        now = fields.Datetime.now()
        new = []
        for key, (attempts, reason, partner_id) in job.failed.items():
            values = {
                "attempts": attempts,
                "reason": (reason or "")[:500],
                "last_failed_at": now,
                "partner_id": partner_id if partner_id and partner_id > 0 else False,
            }
            if key in job.retries:
                job.retries[key].write(values)
            else:
                new.append(
                    {
                        **values,
                        "account_id": job.account.id,
                        "target": job.target.name,
                        "key": key,
                    }
                )
        Retry.create(new)
        synced = {a.group for a in plan.actions} - set(job.failed) - job.held_keys
        done = Retry.browse([job.retries[key].id for key in synced if key in job.retries])
        done.unlink()
        job.retries = {key: r for key, r in job.retries.items() if r not in done}
        job.failed = {}

    @api.model
    def _save_lines(self, job):
        for line in job.lines:
            line["run_id"] = job.run.id
        self.env["microsoft.contacts.sync.run.line"].sudo().create(job.lines)
        job.lines = []

    @api.model
    def _done_reading_again(self, job):
        """The contacts taken in again were read and applied: from now on the delta does.

        An Outlook contact alone that was not taken in (gone, or refused) is forgotten.
        """
        rows = job.read_again.exists()
        rows.filtered(lambda row: not row.partner_ref).unlink()
        rows.exists().write({"read_again": False})
