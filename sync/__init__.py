"""Outlook <-> Odoo contact sync logic; pure Python, no Odoo import (see README.md)."""

from .contact import Contact, OutlookState, Snapshot
from .mapping import (
    FIELDS,
    MAX_BUSINESS_PHONES,
    MAX_EMAILS,
    MERGE_FIELDS,
    ODOO_KEYS,
    PARTNER_REF_PROPERTY_ID,
    MappingContext,
    ParsedItem,
    apply_patch,
    build_outlook_patch,
    check_payload_limits,
    contact_to_graph,
    contact_to_odoo_values,
    odoo_to_contact,
    parse_graph_contact,
    parse_partner_ref,
    partner_ref_value,
    validate_contact,
)
from .matcher import Match, MatchKeys, MatchResult, match_items
from .merge import (
    CONFLICT_NEWEST,
    CONFLICT_ODOO,
    CONFLICT_OUTLOOK,
    ODOO_TO_OUTLOOK,
    OUTLOOK_TO_ODOO,
    TWO_WAY,
    MergeResult,
    merge_contacts,
)
from .normalize import (
    CountryLookup,
    CountryResolver,
    html_to_text,
    normalize_phone,
    normalize_website,
    split_name,
    text_to_html,
)
from .planner import (
    Action,
    Conflict,
    FieldChange,
    Link,
    OdooPartner,
    OdooSide,
    OutlookChanges,
    Plan,
    Policies,
    match_keys,
    plan_sync,
)
from .problems import Problem
