"""Reading both sides for the planner: the links, Outlook's changes, the Odoo side."""

import json
import logging
from dataclasses import replace
from datetime import timedelta

from psycopg2 import OperationalError

from odoo import api, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL, email_normalize, escape_psql

from ..graph import ContactFolder, FolderGoneError, NotFoundError
from ..sync import planner as sp
from ..sync.contact import Snapshot
from ..sync.mapping import ODOO_TEXT_KEYS, PARTNER_COLUMNS, PARTNER_REF_PROPERTY_ID
from ..sync.normalize import (
    KEYPAD_DIGITS,
    KEYPAD_LETTERS,
    CountryResolver,
    national_tail,
    script_digits,
)
from ..sync.photo import NO_PHOTO, PhotoBase, is_sent, photo_checksum

_logger = logging.getLogger(__name__)

# Runs a record may fail in a row before it is reported stuck and the delta moves on.
MAX_ATTEMPTS = 3
# How long the search of a custom scope domain may take, in milliseconds.
CUSTOM_SCOPE_TIMEOUT_MS = 30_000
# An incremental read takes the partners written since the last complete read began, less
# this margin (see _read_cutoff).
INCREMENTAL_MARGIN = timedelta(minutes=5)
# A whole read of the scope at least this often: what enters the scope without a write of the
# partner (a renamed tag, a related record) is seen then.
FULL_READ_EVERY = timedelta(hours=24)
# Pairs whose Outlook photo the sync does not know yet (synced before photos were), read per
# run (system parameter microsoft_contacts.photo_checks_per_run): a few requests each run
# rather than one per contact at once.
PHOTO_CHECKS_PER_RUN = 200
# Photos a preview reads to show their changes (a background run reads them as it applies).
PREVIEW_PHOTO_READS = 200


LINK_COLUMNS = [
    "partner_id",
    "partner_ref",
    "outlook_id",
    "snapshot",
    "change_key",
    "detached",
    "read_again",
    "created_in_outlook",
    "photo_odoo_hash",
    "photo_outlook_hash",
]


class StoredLink:
    """What a run keeps of a link row: its keys and state (the row itself is browsed to be
    written, see microsoft_contacts_outlook_sync_odoo.py)."""

    __slots__ = ("change_key", "created_in_outlook", "detached", "id", "outlook_id", "partner_ref")
    STATE = ("change_key", "created_in_outlook", "detached", "outlook_id", "partner_ref")

    def __init__(self, row):
        self.id = row["id"]
        self.partner_ref = row["partner_ref"]
        self.outlook_id = row["outlook_id"]
        self.detached = row["detached"]
        self.created_in_outlook = row["created_in_outlook"]
        self.change_key = row["change_key"]

    @classmethod
    def of(cls, record):
        """The same, of a link record (one just written or created)."""
        return cls({"id": record.id, **{name: record[name] for name in cls.STATE}})


# (database, language, what the tables look like) -> countries, aliases, states
_LOOKUPS = {}
MAX_CACHED_LOOKUPS = 32


def _snapshot(text):
    """A link's stored snapshot; None when unreadable: the pair is then read again."""
    try:
        return Snapshot.from_json(json.loads(text))
    except ValueError:
        _logger.info("An unreadable link snapshot: the pair is read again")
        return None


def _photo_base(row):
    """The photos a link row recorded, or None when it never saw either."""
    odoo, outlook = row["photo_odoo_hash"] or None, row["photo_outlook_hash"] or None
    return PhotoBase(odoo, outlook) if odoo or outlook else None


def _own_echo(item, stored, full):
    return (
        stored is not None
        and not full
        and bool(stored.change_key)
        and item.get("changeKey") == stored.change_key
    )


def _item_label(item):
    """(name, email) of an Outlook item for the log, whatever types Graph sent."""
    name = item.get("displayName")
    emails = item.get("emailAddresses")
    first = emails[0] if isinstance(emails, list) and emails else None
    email = first.get("address") if isinstance(first, dict) else None
    return (
        name.strip() or None if isinstance(name, str) else None,
        email.strip() or None if isinstance(email, str) else None,
    )


class MicrosoftContactsOutlookSyncRead(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    # -- lookups --------------------------------------------------------------------------

    @api.model
    def _lookups(self, job):
        """Countries, states and the default region, read once per job."""
        if job.lookups is None:
            job.lookups = self._read_lookups(job)
        return job.lookups

    @api.model
    def _read_lookups(self, job):
        countries, aliases, all_states = self._countries_and_states(job.user.lang)
        job.country_by_code = {c["code"].upper(): c["id"] for c in countries if c["code"]}
        job.country_code_by_id = {c["id"]: c["code"].upper() for c in countries if c["code"]}
        states = {}
        job.state_by_id = {}
        job.states_by_country = {}
        for state in all_states:
            code = job.country_code_by_id.get(state["country_id"][0])
            if not code:
                continue
            states.setdefault(code, {})[state["code"]] = state["name"]
            job.state_by_id[state["id"]] = (state["code"], state["name"])
            job.states_by_country.setdefault(code, []).append(state)
        resolver = CountryResolver(
            {c["code"]: c["name"] for c in countries if c["code"]}, states, aliases
        )
        region = job.user.company_id.country_id.code
        return resolver, region.upper() if region else None

    @api.model
    def _countries_and_states(self, lang):
        """Countries, their names in `lang`, and states: read once per process while they do
        not change (every run of every account needs them)."""
        cr = self.env.cr
        cr.execute(
            """SELECT (SELECT max(write_date) FROM res_country),
                      (SELECT count(*) FROM res_country),
                      (SELECT max(write_date) FROM res_country_state),
                      (SELECT count(*) FROM res_country_state)"""
        )
        key = (cr.dbname, lang or "", *cr.fetchone())
        cached = _LOOKUPS.get(key)
        if cached is None:
            Country = self.env["res.country"].sudo()
            countries = Country.search_read([], ["code", "name"])
            aliases = {}
            if lang:
                for country in Country.with_context(lang=lang).search_read([], ["code", "name"]):
                    if country["code"]:
                        aliases[country["name"]] = country["code"]
            states = (
                self.env["res.country.state"].sudo().search_read([], ["code", "name", "country_id"])
            )
            if len(_LOOKUPS) >= MAX_CACHED_LOOKUPS:
                _LOOKUPS.clear()  # databases, languages or countries changed: start afresh
            cached = _LOOKUPS[key] = (countries, aliases, states)
        return cached

    # -- folders (SyncTarget.find_folder) ----------------------------------------------------

    @api.model
    def _find_synced_folder(self, job):
        """The folder the account owns; a dry run never creates it (None: plan against an
        empty one). After a reset it is found by name again; when it is not the one the pairs
        were made in, those pairs are forgotten (`forget_pairs`, see _read_links)."""
        account, client = job.account, job.client
        if account.folder_id and not account.folder_reset:
            folder = ContactFolder(client, account.folder_id)
            if account.delta_link:
                return folder  # its delta round tells whether it is gone: one request fewer
            if folder.exists():
                return folder
            if account.delta_link or account.link_ids.filtered(lambda lk: not lk.detached):
                raise FolderGoneError()
        name = (account.folder_name or "Odoo Contacts").strip()
        folder = ContactFolder.find(client, name)
        found = folder.id if folder else None
        job.forget_pairs = bool(account.folder_reset and found != account.folder_id)
        if job.dry_run:
            job.read_from = False  # a folder found by its name is read from its start
            return folder
        folder = folder or ContactFolder.add(client, name)
        account.write({"folder_id": folder.id, "delta_link": False, "folder_reset": False})
        return folder

    @api.model
    def _find_default_folder(self, job):
        """The mailbox's default Contacts folder (None while it holds nothing)."""
        account = job.account
        if account.default_folder_id:
            return ContactFolder(job.client, account.default_folder_id)
        folder = ContactFolder.default(job.client)
        if folder is not None:
            account.default_folder_id = folder.id
        return folder

    # -- links ----------------------------------------------------------------------------

    @api.model
    def _read_links(self, job):
        job.retries = {
            retry.key: retry
            for retry in self.env["microsoft.contacts.sync.retry"]
            .sudo()
            .search([("account_id", "=", job.account.id), ("target", "=", job.target.name)])
        }
        domain = [("account_id", "=", job.account.id)]
        if job.forget_pairs:
            # The synced pairs of the folder used before a reset: their contacts are matched
            # anew in this one. Pairs that record a decision (left out, no longer synced, a
            # contact archived or deleted in Odoo) stay.
            stale = job.Link.search(
                [
                    *domain,
                    "|",
                    "&",
                    ("detached", "=", False),
                    ("partner_id.active", "=", True),
                    "&",
                    ("read_again", "=", True),
                    ("partner_ref", "=", 0),
                ]
            )
            if not job.dry_run:
                stale.unlink()
            domain.append(("id", "not in", stale.ids))
        # Read as plain values: an account holds thousands of pairs, read at every run.
        rows = job.Link.search_read(domain, LINK_COLUMNS, order="id", load=None)
        # Taken in again after a stop: their Outlook contacts are read again (_read_outlook).
        job.read_again = job.Link.browse([row["id"] for row in rows if row["read_again"]])
        for row in rows:
            stored = StoredLink(row)
            job.by_outlook[stored.outlook_id] = stored
            if row["read_again"] and not row["partner_ref"]:
                continue  # an Outlook contact alone: planned as a new one, matched or created
            # An Outlook contact left out of the sync has no partner: its own key keeps it
            # apart from the others (the planner holds one link per partner id).
            pid = row["partner_ref"] or row["partner_id"] or -row["id"]
            job.by_partner[pid] = stored
            job.snapshots[pid] = row["snapshot"]
            job.links.append(
                sp.Link(
                    stored.outlook_id,
                    pid,
                    None,  # parsed for the pairs the plan looks at (_links_for_plan)
                    row["change_key"] or None,
                    stored.detached,
                    resumed=row["read_again"],
                    created_in_outlook=stored.created_in_outlook,
                    photo=_photo_base(row),
                )
            )

    @api.model
    def _links_for_plan(self, job, odoo_side, changes):
        """The links with the snapshots the plan needs: those of the partners read, and all
        of them when unlinked Outlook contacts are matched (Outlook's view of the linked
        ones counts for uniqueness)."""
        unlinked = any(item.get("id") not in job.by_outlook for item in changes.items)
        read = {partner.partner_id for partner in odoo_side.partners}
        links = []
        for link in job.links:
            text = job.snapshots.get(link.partner_id)
            if text and (unlinked or link.partner_id in read):
                link = replace(link, snapshot=_snapshot(text))
            links.append(link)
        return links

    # -- Outlook --------------------------------------------------------------------------

    @api.model
    def _read_outlook(self, job):
        if job.folder is None:  # a dry run before the folder exists, or an empty mailbox
            job.full = True
            return sp.OutlookChanges(complete=True)
        read_from = job.account[job.target.delta_field] if job.read_from is None else job.read_from
        try:
            changes = job.folder.changes(read_from or None)
        except NotFoundError:
            if read_from and not job.folder.exists():
                # Synced before and vanished: nothing may be read as deleted.
                raise FolderGoneError() from None
            raise
        if changes.full and read_from:
            _logger.info("Outlook account %s: delta state lost, reading all", job.account.id)
        job.delta_link, job.full = changes.delta_link, changes.full
        # An item whose change key is the one the sync wrote has not changed since: the echo
        # of the sync's own writes, as the last snapshot holds it.
        items = {
            item["id"]: item
            for item in changes.items
            if not _own_echo(item, job.by_outlook.get(item["id"]), changes.full)
        }
        removed = set(changes.removed)
        # Ids seen both removed and present, and items without a link: read them once more,
        # with our extended property (delta cannot expand it). So are the contacts taken in
        # again after a stop: what changed in Outlook meanwhile lies behind the delta position.
        to_read = set(changes.ambiguous) | {oid for oid in items if oid not in job.by_outlook}
        to_read |= set(job.read_again.mapped("outlook_id"))
        for oid, outcome in job.folder.read_contacts(
            sorted(to_read), PARTNER_REF_PROPERTY_ID
        ).items():
            if outcome is None:
                removed.add(oid)
                items.pop(oid, None)
            elif outcome is False:
                # Unknown: never plan on it (it could be ours and be duplicated); next round.
                items.pop(oid, None)
                removed.discard(oid)
                job.incomplete = True
            else:
                removed.discard(oid)
                base = items.get(oid) or outcome
                props = outcome.get("singleValueExtendedProperties")
                items[oid] = {**base, "singleValueExtendedProperties": props or []}
        for oid, item in items.items():
            job.item_labels[oid] = _item_label(item)
        return sp.OutlookChanges(items=list(items.values()), removed=removed, complete=job.full)

    # -- Odoo -----------------------------------------------------------------------------

    @api.model
    def _read_odoo(self, job, changes):
        """The partners the plan needs (SyncTarget.odoo_partners says which), read as the
        user sees them, with what the user may do to them. Between whole reads, only those
        that changed or that the round's Outlook changes concern are read (see
        _partners_to_read); the other linked ones are passed as unchanged."""
        job.odoo_read_at = self._read_cutoff()
        domain = getattr(self, job.target.odoo_partners)(job, changes)
        # The user's own Outlook contacts taken into Odoo stay in the sync whatever the scope:
        # an Odoo filter chooses what Odoo sends, not what Outlook may keep.
        from_outlook = [
            pid
            for pid, row in job.by_partner.items()
            if pid > 0 and not row.detached and not row.created_in_outlook
        ]
        if from_outlook:
            domain = expression.OR([domain, [("id", "in", from_outlook)]])
        in_scope = set(self._search_scope(job, domain).ids)
        job.photo_checks = self._photo_checks(job, changes, in_scope)
        to_read = self._partners_to_read(job, changes, in_scope)
        # Read as the system what the user was found to see: the names of parent companies
        # the user does not see are part of the contact as shown to the user.
        Sudo = job.Partner.sudo()
        rows = Sudo.browse(sorted(to_read)).read([*PARTNER_COLUMNS, "write_date"], load=None)
        photos = self._odoo_photos(job, [row["id"] for row in rows])
        partners = [
            sp.OdooPartner(row["id"], values, row["write_date"], photos.get(row["id"]))
            for row, values in zip(rows, self._planner_values(job, rows), strict=True)
        ]
        for row in rows:
            job.partner_labels[row["id"]] = (row["name"], row["email"])
        job.existing_partners |= in_scope
        return sp.OdooSide(
            partners=partners,
            gone=self._gone_partners(job, in_scope),
            held_in_outlook=job.target.held_in_outlook,
            held=self._held_partners(job, rows),
            unchanged=frozenset((in_scope - to_read) & set(job.by_partner)),
            photo_checks=frozenset(job.photo_checks),
            **self._user_rights(job, sorted(to_read)),
        )

    # -- photos -------------------------------------------------------------------------------

    @api.model
    def _odoo_photos(self, job, partner_ids):
        """Partner id -> the checksum of its image (photo.NO_PHOTO: none), or {} when photos
        are off. Read from the checksums Odoo keeps on the images' attachments: no image is
        loaded. Only `image_1920`, the image someone gave the contact, and not a drawing:
        the avatar Odoo draws for a contact without an image is not a photo and is never
        sent, and neither is the one it stores as the image of a new internal user (an SVG,
        which Outlook could not show anyway)."""
        if not job.policies.sync_photos or not partner_ids:
            return {}
        found = dict.fromkeys(partner_ids, NO_PHOTO)
        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .search_read(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_field", "=", "image_1920"),
                    ("res_id", "in", list(partner_ids)),
                ],
                ["res_id", "checksum", "mimetype"],
            )
        )
        for attachment in attachments:
            if attachment["checksum"] and not (attachment["mimetype"] or "").startswith(
                "image/svg"
            ):
                found[attachment["res_id"]] = attachment["checksum"]
        return found

    @api.model
    def _photo_checks(self, job, changes, in_scope):
        """Linked partners of the scope whose Outlook photo the sync does not know (pairs
        synced before photos were, whose photo could not be read, or that it sent and has not
        read back since: Graph may not report that write): a few per run have their
        Outlook photo read, in the order they were linked, whatever changed."""
        if not job.policies.sync_photos:
            return set()
        limit = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("microsoft_contacts.photo_checks_per_run", PHOTO_CHECKS_PER_RUN)
        )
        touched = {item["id"] for item in changes.items} | set(changes.removed)
        found = []
        for link in job.links:
            if len(found) >= limit:
                break
            if link.detached or link.partner_id not in in_scope or link.outlook_id in touched:
                continue
            if link.photo is None or link.photo.outlook is None or is_sent(link.photo.outlook):
                found.append(link.partner_id)
        return set(found)

    @api.model
    def _photos_before_planning(self, job, changes, odoo_side):
        """A preview, and the apply of its choices, read the photos of the round's items (and
        of the pairs looked at again) before planning, so that photo changes show as the
        other fields do: at most PREVIEW_PHOTO_READS, in id order, so that the apply reads
        those the preview read. A background run reads them while it applies the plan,
        chunk by chunk (READ_PHOTO), so that a long first sync keeps what it did."""
        if not (job.policies.sync_photos and job.folder and (job.dry_run or job.photos_first)):
            return changes
        ids = {item["id"] for item in changes.items}
        ids |= {job.by_partner[pid].outlook_id for pid in odoo_side.photo_checks}
        reads = job.folder.read_photos(sorted(ids)[:PREVIEW_PHOTO_READS])
        photos = {}
        for oid, read in reads.items():
            if read.ok:
                photos[oid] = photo_checksum(read.data)
                if read.data:
                    job.outlook_photos[oid] = read  # what Odoo may get, read once
        return replace(changes, photos=photos)

    @api.model
    def _read_cutoff(self):
        """From when on the next incremental read must look: Odoo stamps a write with the
        start of its transaction, so a transaction still running now (ours included) may
        commit writes stamped before this read; the oldest of their starts, less a margin."""
        self.env.cr.execute(
            SQL(
                """SELECT least(now(), min(xact_start)) AT TIME ZONE 'UTC' - %s
                     FROM pg_stat_activity
                    WHERE datname = current_database() AND xact_start IS NOT NULL""",
                INCREMENTAL_MARGIN,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _partners_to_read(self, job, changes, in_scope):
        """Which partners of the scope the plan needs: all of them on a whole read; else
        those written since the last complete read, those not linked, those whose Outlook
        contact is in this round or read again, and those an unlinked item may match (the
        plan is then the same, see test_property_an_incremental_read_plans_like_a_full_one)."""
        since = self._incremental_since(job, changes)
        if since is None:
            job.whole_read = True
            return set(in_scope)
        needed = set(
            job.Partner.sudo()
            .with_context(active_test=False)
            .search([("id", "in", sorted(in_scope)), ("write_date", ">", since)])
            .ids
        )
        needed |= in_scope - set(job.by_partner)
        touched = {item["id"] for item in changes.items} | set(changes.removed)
        for link in job.links:
            if link.outlook_id in touched or link.resumed or not job.snapshots.get(link.partner_id):
                needed.add(link.partner_id)
        needed |= set(self._match_candidates(job, changes))
        needed |= job.photo_checks
        return needed & in_scope

    @api.model
    def _incremental_since(self, job, changes):
        """The time partners must have been written after to be read, or None: read all."""
        account = job.account
        last, whole = account.odoo_read_at, account.odoo_whole_read_at
        if (
            job.dry_run
            or not job.target.incremental
            or changes.complete
            or job.forget_pairs
            or not last
            or not whole
            or whole < job.odoo_read_at - FULL_READ_EVERY
        ):
            return None
        return last

    @api.model
    def _planner_values(self, job, rows):
        """Rows of res.partner (sync.mapping.PARTNER_COLUMNS) as the planner reads them."""
        titles = {
            t["id"]: t["name"]
            for t in self.env["res.partner.title"].sudo().search_read([], ["name"])
        }
        Sudo = job.Partner.sudo()
        parent_ids = {r["parent_id"] for r in rows if r["parent_id"]}
        parents = {p["id"]: p["name"] for p in Sudo.browse(parent_ids).read(["name"])}
        tag_ids = {t for r in rows for t in r["category_id"]}
        tags = {
            t["id"]: t["name"]
            for t in self.env["res.partner.category"].sudo().browse(tag_ids).read(["name"])
        }
        for row in rows:
            state = job.state_by_id.get(row["state_id"]) if row["state_id"] else None
            yield {
                **{key: row[key] for key in ODOO_TEXT_KEYS},
                "title": titles.get(row["title"]) if row["title"] else False,
                "company_name": parents.get(row["parent_id"]) or row["company_name"],
                "state_code": state[0] if state else False,
                "state_name": state[1] if state else False,
                "country_code": job.country_code_by_id.get(row["country_id"], False),
                "comment": row["comment"],
                "category_names": [tags[t] for t in row["category_id"] if t in tags],
                "company_country_code": job.lookups[1] or False,
            }

    @api.model
    def _gone_partners(self, job, in_scope):
        """Linked partners the plan does not get: deleted, archived, or out of scope."""
        linked = [
            pid for pid, row in job.by_partner.items() if not row.detached and pid not in in_scope
        ]
        alive = job.Partner.sudo().with_context(active_test=False).browse(linked).exists()
        active = {p.id: p.active for p in alive}
        for partner in alive:
            job.partner_labels[partner.id] = (partner.name, partner.email)
            job.existing_partners.add(partner.id)
        return {
            pid: "deleted"
            if pid not in active
            else "archived"
            if not active[pid]
            else "out_of_scope"
            for pid in linked
        }

    # -- which partners (SyncTarget.odoo_partners) ------------------------------------------

    @api.model
    def _partners_in_scope(self, job, changes):
        """Every partner the account's scope holds: matching needs them all."""
        job.custom_domain = job.account.sync_scope == "domain"
        return job.account._partner_scope_domain()

    @api.model
    def _partners_an_item_may_match(self, job, changes):
        """One way into Odoo, a partner no item pairs with yields nothing: the linked partners
        and those an unlinked item of the round may match (sync.match_keys) are enough."""
        linked = {lk.partner_id for lk in job.links if not lk.detached and lk.partner_id > 0}
        wanted = linked | self._match_candidates(job, changes)
        return [("is_company", "=", False), ("id", "in", sorted(wanted))]

    @api.model
    def _match_candidates(self, job, changes):
        """Partners the round's unlinked items may match: named by our extended property, or
        holding one of their emails or phones (all of them, or an ambiguity would be missed;
        a few more do no harm: the planner compares exactly)."""
        resolver, region = self._lookups(job)
        keys = sp.match_keys(
            job.links,
            changes,
            database_uuid=self._database_uuid(),
            countries=resolver,
            default_region=region,
        )
        found = set(keys.partner_ids)
        if keys.emails:
            found.update(job.Partner.search(_email_domain(keys.emails)).ids)
        if keys.phones:
            found.update(self._partners_by_phone(job, keys.phones))
        return found

    @api.model
    def _partners_by_phone(self, job, phones):
        """Ids of the partners whose phone or mobile may be one of `phones` (E.164).

        Loose, in one query: the number's digits as typed (other scripts' digits read as
        ASCII, letters dropped or read as on a keypad) hold the last digits of the national
        number, however it was typed (national prefix or country code, extension after).
        """
        tails = sorted({national_tail(phone) for phone in phones})
        other_digits, ascii_digits = script_digits()
        job.Partner.flush_model(["phone", "mobile", "active", "is_company"])
        self.env.cr.execute(
            SQL(
                """
                WITH typed AS (
                    SELECT partner.id,
                           CASE WHEN octet_length(number) > char_length(number)
                                THEN translate(number, %(other_digits)s, %(ascii_digits)s)
                                ELSE number END AS number
                      FROM res_partner AS partner,
                           unnest(ARRAY[partner.phone, partner.mobile]) AS number
                     WHERE partner.active AND partner.is_company IS NOT TRUE
                       AND number IS NOT NULL
                ), digits AS (
                    SELECT id, regexp_replace(number, '[^0-9]', '', 'g') AS digits
                      FROM typed
                     UNION ALL
                    SELECT id, regexp_replace(translate(upper(number), %(letters)s, %(keys)s),
                                              '[^0-9]', '', 'g')
                      FROM typed
                     WHERE number ~ '[A-Za-z]'
                )
                SELECT DISTINCT digits.id
                  FROM digits,
                       unnest(%(sizes)s) AS size,
                       generate_series(1, length(digits.digits) - size + 1) AS start
                 WHERE substr(digits.digits, start, size) = ANY(%(tails)s)
                """,
                other_digits=other_digits,
                ascii_digits=ascii_digits,
                letters=KEYPAD_LETTERS,
                keys=KEYPAD_DIGITS,
                sizes=sorted({len(tail) for tail in tails}),
                tails=tails,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _search_scope(self, job, domain):
        """The partners of `domain` the user sees; a custom domain gets a time limit, as one
        user's slow domain must not hold the shared cron."""
        if not job.custom_domain:
            return job.Partner.search(domain, order="id")
        cr = self.env.cr
        cr.execute("SHOW statement_timeout")
        previous = cr.fetchone()[0]
        cr.execute(SQL("SET LOCAL statement_timeout = %s", CUSTOM_SCOPE_TIMEOUT_MS))
        try:
            with cr.savepoint():
                return job.Partner.search(domain, order="id")
        except OperationalError as error:
            raise UserError(
                self.env._(
                    "The custom domain of this account took longer than %(seconds)s seconds to "
                    "search: simplify it (My Outlook Sync > Contacts to Sync).",
                    seconds=CUSTOM_SCOPE_TIMEOUT_MS // 1000,
                )
            ) from error
        finally:
            cr.execute(SQL("SET LOCAL statement_timeout = %s", previous))

    # -- what the user may do -----------------------------------------------------------------

    @api.model
    def _user_rights(self, job, partner_ids):
        """What the user may do to these partners, as Odoo would decide it in the UI.

        Access rights, record rules (companies included) and Odoo's protection of internal
        users' contacts (only who may edit users may change them); contacts of active users
        cannot be archived by anyone. Grouped: a few queries for all the partners.
        """
        Partner = job.Partner
        rights = {"may_create": Partner.browse().has_access("create")}
        if not rights["may_create"]:
            rights["create_refusal"] = self.env._(
                "your access rights do not allow creating contacts in Odoo"
            )
        partners = Partner.browse(partner_ids)
        if not Partner.browse().has_access("write"):
            reason = self.env._("your access rights do not allow changing contacts in Odoo")
            not_writable = dict.fromkeys(partner_ids, reason)
        else:
            reason = self.env._(
                "a record rule keeps you from changing this contact (for instance, it belongs "
                "to a company you are not in)"
            )
            not_writable = dict.fromkeys(
                (partners - partners._filtered_access("write")).ids, reason
            )
        users = (
            self.env["res.users"]
            .sudo()
            .search_read([("partner_id", "in", partner_ids)], ["partner_id", "share"], load=None)
        )
        if not job.as_user["res.users"].browse().has_access("write"):
            reason = self.env._(
                "it is the contact of an Odoo user, which only administrators may change"
            )
            for user in users:
                if not user["share"] and user["id"] != job.user.id:
                    not_writable.setdefault(user["partner_id"], reason)
        not_archivable = dict(not_writable)
        reason = self.env._("it is the contact of an active Odoo user")
        for user in users:
            not_archivable.setdefault(user["partner_id"], reason)
        return {**rights, "not_writable": not_writable, "not_archivable": not_archivable}

    @api.model
    def _held_partners(self, job, rows):
        """Partners left alone this run: those the user left out of the sync, and those whose
        sync kept failing and that did not change since. They stay in the Odoo side, so that
        no Outlook contact holding their email is created again beside them."""
        written = {row["id"]: row["write_date"] for row in rows}
        reason = self.env._("left out of the sync by you")
        held = dict.fromkeys(job.account._left_out_partner_ids() & set(written), reason)
        for key, retry in job.retries.items():
            pid = retry.partner_id.id
            if retry.attempts < MAX_ATTEMPTS or pid not in written or key != f"partner:{pid}":
                continue
            if written[pid] and retry.last_failed_at and written[pid] > retry.last_failed_at:
                continue  # changed since: tried again
            held[pid] = self.env._(
                "stuck after %(attempts)s failed attempts (%(reason)s); tried again once the "
                "contact changes in Odoo",
                attempts=retry.attempts,
                reason=retry.reason,
            )
        job.held_keys |= {f"partner:{pid}" for pid in held}
        return held


def _email_domain(emails):
    """Partners whose email, read as the planner reads it (sync.normalize.email_key), may be
    one of `emails`: a plain address by its normalised form, any other text loosely.
    """
    plain = {e for e in emails if e.isascii() and email_normalize(e, strict=False) == e}
    domains = [[("email_normalized", "in", sorted(plain))]] if plain else []
    domains += [
        # Runs of spaces count as one for the planner.
        [("email", "=ilike", "%" + escape_psql(email).replace(" ", "%") + "%")]
        for email in sorted(set(emails) - plain)
    ]
    return expression.OR(domains)
