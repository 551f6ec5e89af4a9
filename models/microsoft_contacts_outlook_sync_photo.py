"""Applying a plan's photos: the last action of a record, never a reason for it to fail.

Outlook's photos that the plan could not know are read first (the items the delta reported
changed, and the pairs looked at again), then each photo goes one way (sync/photo.py decides):
Odoo's image, made to fit, to Outlook in requests of their own (graph.ContactFolder), or
Outlook's photo into the contact's image, as the user. The link records both sides' checksums.
A photo Outlook refuses, or an image that cannot be read, is one line and the record stays
synced; it is tried again once that photo changes.
"""

import base64
import logging
from dataclasses import replace

from odoo import api, models

from ..graph import PacingDeadlineError, PhotoWrite
from ..sync import planner as sp
from ..sync.photo import (
    CLEAR_PHOTO,
    PUT_PHOTO,
    SET_PHOTO,
    PhotoBase,
    PhotoError,
    change_reason,
    photo_checksum,
    prepare_photo,
    sent_base,
)
from .microsoft_contacts_outlook_sync_read import StoredLink

_logger = logging.getLogger(__name__)


class PhotoWork:
    """One record's photo on its way through the stage."""

    __slots__ = ("action", "base", "decided_here", "failure", "record", "sent", "step", "wrote")

    def __init__(self, record, action):
        self.record = record
        self.action = action
        self.step = action.photo
        self.decided_here = action.photo.decision is None
        self.sent = None  # the PreparedPhoto sent to Outlook
        self.base = None  # what the link records once done; None: not done this run
        self.failure = ""  # why the photo did not go (a line)
        self.wrote = False

    @property
    def decision(self):
        return self.step.decision

    def refuse(self, reason):
        """Not synced: both sides recorded as they are, so it is tried once one changes."""
        self.failure = reason
        self.base = self.decision.seen


class MicrosoftContactsOutlookSyncPhoto(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    @api.model
    def _apply_photo_actions(self, job, records):
        """The photo action ending each record: read, decide, write, record, log. Graph asking
        to wait past the run's time is raised once what was done is recorded."""
        works = [PhotoWork(record, record.actions.popleft()) for record in records]
        paused = self._read_outlook_photos(job, works)
        outlook = [w for w in works if w.decision and w.decision.to_outlook]
        paused = self._photos_to_outlook(job, outlook) or paused
        self._photos_to_odoo(job, [w for w in works if w.decision and w.decision.to_odoo])
        for work in works:
            if work.decision is not None and work.decision.write is None:
                work.base = work.decision.base
            self._photo_done(job, work)
        if paused is not None:
            raise paused

    @api.model
    def _read_outlook_photos(self, job, works):
        """Outlook's photos that are still to be decided, or to be written into Odoo and not
        read before planning; a photo that could not be read is looked at again later."""
        wanted = [
            w
            for w in works
            if w.decision is None
            or (w.decision.write == SET_PHOTO and w.record.outlook_id not in job.outlook_photos)
        ]
        if not wanted:
            return None
        paused = None
        try:
            reads = job.folder.read_photos([w.record.outlook_id for w in wanted])
        except PacingDeadlineError as error:
            reads, paused = error.photo_results, error
        for work in wanted:
            read = reads.get(work.record.outlook_id)
            if read is None:
                continue  # Graph asked to wait: the next run
            if not read.ok:
                work.failure = self.env._(
                    "photo not read from Outlook: %s; it is read again on a later sync",
                    read.error,
                )
                known = work.step.base.odoo if work.step.base else None
                work.base = PhotoBase(known, None)  # unknown: read again (_photo_checks)
                work.step = replace(work.step, decision=None)
                continue
            if work.decision is None:
                work.step = work.step.decide(photo_checksum(read.data))
            if work.decision.write == SET_PHOTO:
                job.outlook_photos[work.record.outlook_id] = read  # kept until written
        return paused

    @api.model
    def _photos_to_outlook(self, job, works):
        """Odoo's images, made to fit, to Outlook; removals. Returns Graph's pause, if any."""
        puts = [w for w in works if w.decision.write == PUT_PHOTO]
        images = self._partner_images(job, [w.record.partner_id for w in puts])
        sendable = []
        for work in works:
            if work.decision.write != PUT_PHOTO:
                sendable.append((work, PhotoWrite(work.record.outlook_id, None)))
                continue
            try:
                work.sent = prepare_photo(images.get(work.record.partner_id) or b"")
            except PhotoError as error:
                work.refuse(self.env._("photo not synced: the Odoo image %s", error))
                continue
            write = PhotoWrite(work.record.outlook_id, work.sent.data, work.sent.content_type)
            sendable.append((work, write))
        if not sendable:
            return None
        paused = None
        try:
            results = job.folder.write_photos([write for _work, write in sendable])
        except PacingDeadlineError as error:
            results, paused = error.photo_results, error
        for (work, _write), result in zip(sendable, results, strict=True):
            if result is None:
                continue  # not sent: the next run
            if not result.ok:
                work.refuse(
                    self.env._(
                        "photo not synced: Outlook refused it (%s); it is tried again when the "
                        "photo changes",
                        result.error,
                    )
                )
                continue
            # Outlook keeps the bytes sent, maybe re-encoded: what it holds when next read is
            # that photo (sync.photo.sent_base), never a change to bring back into Odoo.
            if work.sent:
                work.base = sent_base(work.decision.base.odoo, work.sent.checksum)
            else:  # a DELETE
                work.base = PhotoBase(work.decision.base.odoo, work.decision.base.outlook)
            work.wrote = True
        return paused

    @api.model
    def _partner_images(self, job, partner_ids):
        """Partner id -> the bytes of its image (image_1920, never the generated avatar)."""
        if not partner_ids:
            return {}
        rows = job.Partner.sudo().browse(partner_ids).read(["image_1920"])
        return {row["id"]: base64.b64decode(row["image_1920"]) for row in rows if row["image_1920"]}

    @api.model
    def _photos_to_odoo(self, job, works):
        """Outlook's photos into the contacts' images, as the user, one by one: an image Odoo
        refuses (not an image, too many pixels) or a right the user lacks is that record's
        line only."""
        written = []
        for work in works:
            partner = job.Partner.browse(work.record.partner_id)
            if work.decision.write == CLEAR_PHOTO:
                value = False
            else:
                read = job.outlook_photos.pop(work.record.outlook_id, None)
                value = base64.b64encode(read.data) if read and read.data else None
                if value is None:
                    continue  # not read: Graph asked to wait, the next run
            try:
                with self.env.cr.savepoint():
                    partner.write({"image_1920": value})
            except Exception as error:  # Odoo's image checks raise several kinds
                work.refuse(
                    self.env._(
                        "photo not synced: Odoo could not take the Outlook photo (%s); it is "
                        "tried again when it changes in Outlook",
                        str(error)[:200],
                    )
                )
                continue
            written.append(work)
        checksums = self._odoo_photos(job, [w.record.partner_id for w in written])
        for work in written:
            work.base = PhotoBase(checksums[work.record.partner_id], work.decision.base.outlook)
            work.wrote = True

    @api.model
    def _photo_done(self, job, work):
        """The link's record of the photos (with the link operation the action carries), the
        record's line, and its count."""
        record, action = work.record, work.action
        if work.base is None and action.link_op:
            return  # not done, nor is its link: the item comes again in the next round
        if work.base is None:
            # Not done, but the record's link moved on: looked at again (_photo_checks).
            known = work.step.base.odoo if work.step.base else None
            work.base = PhotoBase(known, None)
        self._record_photos(job, record, action, work.base)
        alone = work.step.alone
        done = action
        if work.decision is not None and work.decision.write is not None:
            kind = sp.UPDATE_OUTLOOK_PHOTO if work.decision.to_outlook else sp.UPDATE_ODOO_PHOTO
            done = replace(action, kind=kind, reason=change_reason(work.step))
        if work.failure:
            job.counts["failed"] += 1
            line = self._line(job, record, done, status="failed", reason=work.failure)
            job.lines.append({**line, "action": "refused"})
            return
        if not work.wrote:
            if alone:
                job.counts["unchanged"] += 1
                if action.problems:
                    job.lines.append(self._line(job, record, action))
            return
        if work.decided_here and work.decision.conflict:
            conflict = replace(action, kind=sp.CONFLICT, reason=done.reason, problems=())
            job.lines.append(self._line(job, record, conflict))
        if alone:
            job.counts["updated"] += 1
        job.lines.append(self._line(job, record, done))

    @api.model
    def _record_photos(self, job, record, action, base):
        """Write what the link records of the photos, with the action's own link operation."""
        if action.link_op:
            new_links = []
            effects = self._link_op(job, record, replace(action, photo_base=base), new_links)
            if new_links:
                rows = job.Link.create([values for values, _holder in new_links])
                for (_values, holder), row in zip(new_links, rows, strict=True):
                    holder.append(StoredLink.of(row))
            for effect in effects:
                effect()
            return
        if base == (action.photo.base or PhotoBase()):
            return
        row = job.by_partner.get(record.partner_id) or job.by_outlook.get(record.outlook_id)
        if row is None:
            _logger.info("Outlook account %s: no link to record a photo on", job.account.id)
            return
        job.Link.browse(row.id).write(
            {"photo_odoo_hash": base.odoo or False, "photo_outlook_hash": base.outlook or False}
        )
