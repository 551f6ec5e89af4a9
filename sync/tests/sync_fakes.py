"""Records shared by the planner and preview tests: partners and pairs already in sync."""

from sync import contact_to_graph, odoo_to_contact, parse_graph_contact
from sync.contact import Snapshot
from sync.planner import Link, OdooPartner


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
