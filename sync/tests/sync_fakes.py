"""Records shared by the planner and preview tests: partners, pairs already in sync, and one
plan against them in Belgium."""

from sync import (
    CountryResolver,
    OdooSide,
    OutlookChanges,
    Policies,
    contact_to_graph,
    match_keys,
    odoo_to_contact,
    parse_graph_contact,
    plan_sync,
)
from sync.contact import Snapshot
from sync.mapping import MappingContext
from sync.normalize import e164_key, email_key
from sync.planner import Link, OdooPartner

DB = "db1"
COUNTRIES = CountryResolver({"BE": "Belgium", "FR": "France"})
CTX = MappingContext(COUNTRIES, "BE")


def plan(policies=None, links=(), items=(), removed=(), partners=(), complete=False, **odoo):
    """plan_sync on these inputs; `odoo`: the other OdooSide fields (gone, not_writable...)."""
    return plan_sync(
        policies or Policies(),
        links,
        OutlookChanges(items=list(items), removed=list(removed), complete=complete),
        OdooSide(partners=list(partners), **odoo),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )


def partner(pid, **values):
    return OdooPartner(pid, {"name": f"P{pid}", **values})


def linked_pair(ctx, pid, oid, **values):
    """A partner, its Outlook item and their link, in sync (as after a previous run)."""
    part = partner(pid, **values)
    contact, _ = odoo_to_contact(part.values, ctx)
    item = {**contact_to_graph(contact, ctx), "id": oid, "changeKey": "ck1"}
    parsed = parse_graph_contact(item, ctx)
    link = Link(oid, pid, Snapshot(parsed.contact, parsed.contact, parsed.state), "ck1")
    return part, item, link


def match_key_holder(links, items):
    """Whether a partner holds a key an unlinked item of `items` may match it on (our
    property's partner id, an email, a phone): what an adapter that reads less must read."""
    keys = match_keys(
        links,
        OutlookChanges(items=items),
        database_uuid=DB,
        countries=COUNTRIES,
        default_region="BE",
    )

    def holds(part):
        contact, _ = odoo_to_contact(part.values, CTX)
        phones = {e164_key(contact.phone), e164_key(contact.mobile)}
        return bool(
            part.partner_id in keys.partner_ids
            or (contact.email and email_key(contact.email) in keys.emails)
            or phones & keys.phones
        )

    return holds
