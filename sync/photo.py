"""Contact photos: what changed since the last sync, what to write, and the image Outlook gets.

A photo travels apart from the other fields: it is a file, read and written through requests of
its own (Graph's ``photo/$value``), so it is not a field of ``Contact``. What the sync compares
are checksums (SHA-1, the one Odoo keeps on the attachment of ``image_1920``; the same of the
bytes Graph returns), one per side: once the sync resized a picture for Outlook, the two sides
hold two files of one picture, so each side is compared with its own last synced checksum
(``PhotoBase``, kept on the link), never with the other side's. Equal checksums on both sides
mean the very same file.

``decide_photo`` is the three-way rule (the planner calls it when Outlook's checksum is known,
the adapter once it read the photo); ``prepare_photo`` makes an image Graph accepts. Pillow is
imported by ``prepare_photo`` only: the rest needs the standard library.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace
from typing import Any

from .merge import (
    CONFLICT_ODOO,
    NOT_SYNCED,
    ODOO_TO_OUTLOOK,
    OUTLOOK_TO_ODOO,
    TWO_WAY,
    _policy_winner,
)

PHOTO = "photo"  # the photo's name in changes, conflicts and labels
# Outlook's side of the base after the sync sent a photo: Outlook keeps what was sent, maybe
# re-encoded, so the photo it holds when next read *is* that one (see sent_base).
SENT = "sent:"


def sent_base(odoo: str | None, checksum: str) -> PhotoBase:
    """The base once a photo was sent to Outlook: Odoo's side, and a mark for Outlook's."""
    return PhotoBase(odoo, SENT + checksum)


def is_sent(value: str | None) -> bool:
    return bool(value) and value.startswith(SENT)


PHOTO_LABEL = "photo"
NO_PHOTO = "none"  # the checksum of "no photo"

# Writes, one side at a time.
PUT_PHOTO = "put"  # Outlook gets Odoo's image
DELETE_PHOTO = "delete"  # Outlook's photo is removed
SET_PHOTO = "set"  # Odoo gets Outlook's photo
CLEAR_PHOTO = "clear"  # Odoo's image is removed
TO_OUTLOOK_WRITES = frozenset({PUT_PHOTO, DELETE_PHOTO})
TO_ODOO_WRITES = frozenset({SET_PHOTO, CLEAR_PHOTO})

# The words of the preview and the log (English; the adapter translates them).
PHOTO_TEXT = "a photo"
OTHER_PHOTO_TEXT = "another photo"
CHANGED_TEXT = "changed"
REMOVED_TEXT = "removed"
PHOTO_WORDS = frozenset({PHOTO_LABEL, PHOTO_TEXT, OTHER_PHOTO_TEXT, CHANGED_TEXT, REMOVED_TEXT})

# What Outlook gets: Graph refuses a request body of 4 MB and more; a contact photo is shown
# small. Within both limits an image is sent as it is (JPEG or PNG), else re-encoded.
MAX_PHOTO_SIDE = 1024
MAX_PHOTO_BYTES = 1024 * 1024
JPEG_QUALITIES = (90, 80, 70, 60)
# Pillow refuses to decode more pixels than this (a decompression bomb), as Odoo does.
MAX_PIXELS = 50_000_000


class PhotoError(ValueError):
    """An image that cannot be sent: not an image, or too large whatever its size."""


@dataclass(frozen=True)
class PhotoBase:
    """The checksums of each side's photo when the pair was last synced (``NO_PHOTO``: none),
    as the link keeps them; None where the sync never saw that side's photo."""

    odoo: str | None = None
    outlook: str | None = None

    @property
    def known(self) -> bool:
        return self.odoo is not None and self.outlook is not None


@dataclass(frozen=True)
class PhotoRule:
    """What decides for one pair: the account's direction and policies, whether the user may
    change the partner in Odoo (``odoo_locked`` says why not), and the sides' clocks for the
    conflict policy "newest"."""

    direction: str = TWO_WAY
    conflict: str = CONFLICT_ODOO
    outlook_may_clear: bool = False
    odoo_locked: str = ""
    odoo_modified: Any = None
    outlook_modified: Any = None


@dataclass(frozen=True)
class PhotoDecision:
    """At most one side is written. ``base`` is what the link keeps once the write is done:
    the written side is None for a PUT or a SET (the checksum of what was written, which the
    adapter fills in), ``NO_PHOTO`` for a removal. ``seen`` is both sides as they are now: kept
    instead when the write is refused, so that a refused photo is tried again only once it
    changes. ``conflict`` names the side kept when both changed."""

    write: str | None
    base: PhotoBase
    seen: PhotoBase
    conflict: str | None = None
    note: str = ""

    @property
    def to_outlook(self) -> bool:
        return self.write in TO_OUTLOOK_WRITES

    @property
    def to_odoo(self) -> bool:
        return self.write in TO_ODOO_WRITES


@dataclass(frozen=True)
class PhotoStep:
    """One pair's photo in a plan: decided when Outlook's checksum is known, else ``outlook``
    is None and the adapter reads Outlook's photo first, then calls ``decide``. ``alone``: the
    record has no other action, so the step counts it (unchanged or updated)."""

    base: PhotoBase | None
    odoo: str
    outlook: str | None
    rule: PhotoRule
    decision: PhotoDecision | None = None
    alone: bool = False

    def decide(self, outlook: str) -> PhotoStep:
        return replace(
            self, outlook=outlook, decision=decide_photo(self.base, self.odoo, outlook, self.rule)
        )


def photo_checksum(data: bytes | None) -> str:
    """The checksum the sync compares (Odoo's attachment checksum is the same SHA-1)."""
    return hashlib.sha1(data).hexdigest() if data else NO_PHOTO


def decide_photo(base: PhotoBase | None, odoo: str, outlook: str, rule: PhotoRule) -> PhotoDecision:
    """The three-way rule of the other fields, for one photo.

    Changed on one side since the base: that side wins; on both: the conflict policy. Removed
    in Outlook: ignored (Odoo's photo goes back) unless Outlook may clear values. One way, only
    the source's changes travel. Without a base (a pair seen for the first time, or synced
    before photos were), a photo held by one side only fills the other, and two different
    photos both stay: nobody's photo is replaced on a guess.
    """
    if base is not None and is_sent(base.outlook):
        # Outlook has held, since the sync sent it, the photo it holds now (however Exchange
        # stored it): that is the base, so a re-encoded copy never overwrites Odoo's image.
        base = PhotoBase(base.odoo, outlook)
    seen = PhotoBase(odoo, outlook)
    if rule.direction == NOT_SYNCED and base is not None and base.known:
        # Not synced (its field direction): the last synced photos stay the starting point,
        # so that changes made meanwhile travel once the photo is synced again.
        return PhotoDecision(None, base, seen)
    if odoo == outlook:  # the same file, or no photo on either side
        return PhotoDecision(None, seen, seen)
    to_outlook = rule.direction in (TWO_WAY, ODOO_TO_OUTLOOK)
    to_odoo = rule.direction in (TWO_WAY, OUTLOOK_TO_ODOO)
    has_odoo, has_outlook = odoo != NO_PHOTO, outlook != NO_PHOTO
    notes = []
    conflict = None
    ignored = False  # Outlook's removal of its photo, not taken
    if base is None or not base.known:
        if has_odoo and not has_outlook:
            source = "odoo"
        elif has_outlook and not has_odoo:
            source = "outlook"
        else:
            source = None
            notes.append("a different photo on each side: both kept")
    else:
        odoo_changed = odoo != base.odoo
        outlook_changed = outlook != base.outlook
        if outlook_changed and not has_outlook and not rule.outlook_may_clear:
            outlook_changed, ignored = False, True
            notes.append("removed in Outlook: ignored")
        if odoo_changed and outlook_changed:
            source = conflict = (
                "odoo"
                if rule.odoo_locked
                else _policy_winner(rule.conflict, rule.odoo_modified, rule.outlook_modified)
            )
        elif odoo_changed:
            source = "odoo"
        elif outlook_changed:
            source = "outlook"
        else:
            # Only Outlook's removal, ignored: as for the other fields, two-way sync writes
            # Odoo's photo back. Otherwise the sides differ as they did (both kept): nothing.
            source = "odoo" if ignored and rule.direction == TWO_WAY else None
    if source == "outlook" and rule.odoo_locked:
        notes.append(f"not allowed: {rule.odoo_locked}")
        # Outlook's change is undone as for the other fields, but on a first sight.
        source = "odoo" if base is not None and base.known else None
    write = None
    if source == "odoo" and to_outlook:
        write = PUT_PHOTO if has_odoo else DELETE_PHOTO
    elif source == "outlook" and to_odoo:
        write = SET_PHOTO if has_outlook else CLEAR_PHOTO
    if write == PUT_PHOTO:
        done = PhotoBase(odoo, None)
    elif write == DELETE_PHOTO:
        done = PhotoBase(odoo, NO_PHOTO)
    elif write == SET_PHOTO:
        done = PhotoBase(None, outlook)
    elif write == CLEAR_PHOTO:
        done = PhotoBase(NO_PHOTO, outlook)
    else:
        done = seen
    return PhotoDecision(write, done, seen, conflict, "; ".join(notes))


def photo_step(
    base: PhotoBase | None,
    odoo: str,
    outlook: str | None,
    rule: PhotoRule,
    *,
    read: bool,
) -> PhotoStep | None:
    """The step of one pair, or None when there is nothing to write or to record.

    ``outlook``: Outlook's checksum when it was read; ``read``: the item changed (it is in the
    round) or is to be looked at again, so an unknown checksum is read by the adapter. An item
    that did not change holds the photo of the base; when the base does not know it, nothing
    is decided on a guess (the adapter reads it later). A photo that is not synced (its
    field direction) is not even read.
    """
    if rule.direction == NOT_SYNCED:
        return None
    if outlook is None:
        if read:
            return PhotoStep(base, odoo, None, rule)
        if base is None or base.outlook is None:
            return None
        outlook = base.outlook
    decision = decide_photo(base, odoo, outlook, rule)
    if decision.write is None and decision.base == base:
        return None
    return PhotoStep(base, odoo, outlook, rule, decision)


def change_words(step: PhotoStep) -> tuple[str, str]:
    """(old, new) as the preview shows a photo change on the side written."""
    decision = step.decision
    if decision is None or decision.write is None:
        return "", ""
    had = decision.seen.outlook if decision.to_outlook else decision.seen.odoo
    old = PHOTO_TEXT if had != NO_PHOTO else ""
    if decision.write in (DELETE_PHOTO, CLEAR_PHOTO):
        return old, ""
    return old, OTHER_PHOTO_TEXT if old else PHOTO_TEXT


def conflict_words(step: PhotoStep) -> tuple[str, str]:
    """(Odoo's change, Outlook's change) of a photo changed on both sides."""
    seen = step.decision.seen if step.decision else PhotoBase(step.odoo, step.outlook)
    return (
        CHANGED_TEXT if seen.odoo != NO_PHOTO else REMOVED_TEXT,
        CHANGED_TEXT if seen.outlook != NO_PHOTO else REMOVED_TEXT,
    )


def change_reason(step: PhotoStep) -> str:
    """The log's reason for a photo write, in the words of the other fields' reasons."""
    decision = step.decision
    side = "Outlook" if decision.to_outlook else "Odoo"
    removed = decision.write in (DELETE_PHOTO, CLEAR_PHOTO)
    parts = [f"{side}: photo {'removed' if removed else 'updated'}"]
    if decision.conflict:
        parts.insert(0, f"changed on both sides: photo (kept {decision.conflict}'s)")
    if decision.note:
        parts.append(decision.note)
    return "; ".join(parts)


# --- the image Outlook gets ------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedPhoto:
    data: bytes
    content_type: str

    @property
    def checksum(self) -> str:
        return photo_checksum(self.data)


def image_type(data: bytes) -> str | None:
    """The content type of a JPEG or a PNG, by its first bytes; None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return None


def prepare_photo(
    data: bytes, max_bytes: int = MAX_PHOTO_BYTES, max_side: int = MAX_PHOTO_SIDE
) -> PreparedPhoto:
    """An image Graph accepts: a JPEG or PNG within both limits as it is (the same file, so
    nothing is lost on a round trip), anything else decoded and written as a JPEG that fits,
    smaller and at a lower quality as needed. Raises PhotoError when it cannot."""
    try:
        from PIL import Image, ImageOps
    except ImportError as error:  # pragma: no cover - Pillow comes with Odoo
        raise PhotoError("Pillow is not installed: photos cannot be resized") from error
    if not data:
        raise PhotoError("the image is empty")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise PhotoError(f"the image has {width} x {height} pixels, too many to resize")
            image = ImageOps.exif_transpose(probe)
            image.load()
    except PhotoError:
        raise
    except Exception as error:  # Pillow raises many kinds for a file it cannot read
        raise PhotoError(f"not an image that can be read ({type(error).__name__})") from error
    kind = image_type(data)
    if kind and len(data) <= max_bytes and max(width, height) <= max_side:
        return PreparedPhoto(data, kind)
    if image.mode not in ("RGB", "L"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    side = max_side
    while side >= 32:
        sized = image.copy()
        sized.thumbnail((side, side), Image.LANCZOS)
        for quality in JPEG_QUALITIES:
            out = io.BytesIO()
            sized.save(out, format="JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return PreparedPhoto(out.getvalue(), "image/jpeg")
        side //= 2
    raise PhotoError(f"the image does not fit in {max_bytes} bytes even at 32 pixels")
