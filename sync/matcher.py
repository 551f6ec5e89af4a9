"""Pair Outlook items and Odoo partners that are not linked yet, before anything is created."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field

from .contact import Contact
from .mapping import parse_partner_ref
from .normalize import e164_key, email_key

BY_PROPERTY = "property"
BY_EMAIL = "email"
BY_PHONE = "phone"


@dataclass(frozen=True)
class Match:
    outlook_id: str
    partner_id: int
    method: str  # BY_PROPERTY, BY_EMAIL, BY_PHONE
    reason: str


@dataclass
class MatchResult:
    matches: list[Match] = field(default_factory=list)
    # Items left unmatched -> why (empty when there simply was no candidate).
    unmatched_items: dict[str, str] = field(default_factory=dict)
    # Items carrying our reference to a partner linked to another item (created twice), or to
    # a partner not in scope (a copy of a contact this sync does not hold).
    duplicates: dict[str, str] = field(default_factory=dict)
    # Unmatched items whose email an Odoo contact holds: creating them in Odoo would make a
    # second contact with that email (item -> why).
    email_in_odoo: dict[str, str] = field(default_factory=dict)
    # Unlinked partners whose email several unmatched items hold: copying them to Outlook
    # would add one more (partner -> why).
    email_in_outlook: dict[int, str] = field(default_factory=dict)

    def partner_for(self, outlook_id: str) -> int | None:
        return next((m.partner_id for m in self.matches if m.outlook_id == outlook_id), None)


@dataclass(frozen=True)
class MatchKeys:
    """What items can be matched on; every partner that can take part in matching them holds
    one of these. An adapter that does not pass every partner in scope must pass these."""

    partner_ids: Set[int] = frozenset()  # the partners our extended property names
    emails: Set[str] = frozenset()  # email_key of the items' first emails
    phones: Set[str] = frozenset()  # E.164 of their phones and mobiles


def _email_keys(contact: Contact) -> set[str]:
    return {email_key(contact.email)} if contact.email else set()


def _phone_keys(contact: Contact) -> set[str]:
    return {k for k in (e164_key(contact.phone), e164_key(contact.mobile)) if k}


def item_keys(items: Mapping[str, tuple[Contact, str | None]], database_uuid: str) -> MatchKeys:
    """The keys ``match_items`` compares for these items (same arguments)."""
    refs = (parse_partner_ref(ref, database_uuid) for _contact, ref in items.values())
    return MatchKeys(
        partner_ids=frozenset(pid for pid in refs if pid is not None),
        emails=frozenset(k for contact, _ref in items.values() for k in _email_keys(contact)),
        phones=frozenset(k for contact, _ref in items.values() for k in _phone_keys(contact)),
    )


def match_items(
    items: Mapping[str, tuple[Contact, str | None]],
    unlinked_partners: Iterable[int],
    partner_contacts: Mapping[int, Contact],
    linked_outlook_contacts: Mapping[str, Contact],
    database_uuid: str,
) -> MatchResult:
    """Match unlinked items to unlinked partners: our property, then email, then E.164 phone.

    ``items``: unlinked outlook id -> (contact, extended property value); ``partner_contacts``:
    every partner in scope (linked ones count for uniqueness); ``linked_outlook_contacts``:
    Outlook's view of the linked items (they count for uniqueness too). An email or phone
    matches only when exactly one partner and exactly one item hold it. Deterministic: items
    are visited in id order and a partner is taken at most once.
    """
    result = MatchResult()
    free = set(unlinked_partners)
    pending = sorted(items)

    # 1. Our extended property: the item was created by this database for that partner.
    for outlook_id in list(pending):
        contact, ref = items[outlook_id]
        pid = parse_partner_ref(ref, database_uuid)
        if pid is None:
            continue
        if pid not in partner_contacts:
            # A copy of an Odoo contact this sync does not hold (archived, deleted, out of
            # scope): made into a new partner, it would be a second one.
            pending.remove(outlook_id)
            result.duplicates[outlook_id] = (
                f"a copy of Odoo contact {pid}, which is not among the contacts synced here "
                "(archived, deleted or out of scope): not created again in Odoo"
            )
            continue
        if pid in free:
            free.discard(pid)
            pending.remove(outlook_id)
            result.matches.append(
                Match(outlook_id, pid, BY_PROPERTY, f"created from Odoo contact {pid}")
            )
        else:
            pending.remove(outlook_id)
            result.duplicates[outlook_id] = (
                f"a second Outlook copy of Odoo contact {pid}, which is already linked; "
                "delete it in Outlook"
            )

    # 2. and 3. Email then phone, unique on both sides.
    for method, keys_of in ((BY_EMAIL, _email_keys), (BY_PHONE, _phone_keys)):
        if not pending:
            break
        odoo_index: dict[str, set[int]] = defaultdict(set)
        for pid, contact in partner_contacts.items():
            for key in keys_of(contact):
                odoo_index[key].add(pid)
        outlook_index: dict[str, set[str]] = defaultdict(set)
        for oid, contact in linked_outlook_contacts.items():
            for key in keys_of(contact):
                outlook_index[key].add(oid)
        for oid in pending:
            for key in keys_of(items[oid][0]):
                outlook_index[key].add(oid)

        for outlook_id in list(pending):
            keys = keys_of(items[outlook_id][0])
            if not keys:
                continue
            pids = set().union(*(odoo_index[k] for k in keys))
            if not pids:
                continue
            label = "email" if method == BY_EMAIL else "phone"
            if len(pids) > 1:
                why = f"its {label} is shared by {len(pids)} Odoo contacts"
                if method == BY_EMAIL:
                    for pid in pids & free:
                        result.email_in_outlook[pid] = (
                            f"an Outlook contact holds its email, as do {len(pids)} Odoo "
                            "contacts: merge them in Odoo"
                        )
            else:
                (pid,) = pids
                owners = set().union(*(outlook_index[k] for k in keys_of(partner_contacts[pid])))
                if owners - {outlook_id}:
                    why = f"its {label} is shared by {len(owners | {outlook_id})} Outlook contacts"
                    if method == BY_EMAIL and pid in free:
                        result.email_in_outlook[pid] = (
                            f"its email is held by {len(owners | {outlook_id})} Outlook "
                            "contacts, none of them linked: merge them in Outlook"
                        )
                elif pid not in free:
                    why = f"its {label} belongs to Odoo contact {pid}, already linked"
                else:
                    free.discard(pid)
                    pending.remove(outlook_id)
                    result.unmatched_items.pop(outlook_id, None)
                    result.email_in_odoo.pop(outlook_id, None)
                    result.matches.append(Match(outlook_id, pid, method, f"same {label}"))
                    continue
            result.unmatched_items[outlook_id] = f"{why}: not matched"
            if method == BY_EMAIL:
                result.email_in_odoo[outlook_id] = f"{why}; not created in Odoo"
    for match in result.matches:
        result.email_in_outlook.pop(match.partner_id, None)
    return result
