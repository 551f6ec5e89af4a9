"""Which way each mapped field travels, set by administrators (as Dynamics 365's Outlook
synchronization settings offer): one row per field of sync.mapping.FIELDS, and the photo."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..sync.mapping import FIELDS
from ..sync.merge import NOT_SYNCED, ODOO_TO_OUTLOOK, OUTLOOK_TO_ODOO, TWO_WAY
from ..sync.photo import PHOTO

# (field, label) of what travels: the mapped fields, in their order, then the photo.
DIRECTED_FIELDS = (*((f.merge, f.label) for f in FIELDS), (PHOTO, "photo"))

FIELD_DIRECTION_SELECTION = [
    (TWO_WAY, "Both ways"),
    (ODOO_TO_OUTLOOK, "Odoo to Outlook"),
    (OUTLOOK_TO_ODOO, "Outlook to Odoo"),
    (NOT_SYNCED, "Not synced"),
]
# A contact needs its name on both sides: it always travels both ways.
FIXED_FIELDS = ("name",)


class MicrosoftContactsFieldDirection(models.Model):
    """A row per mapped field; a field without a row travels both ways. Read by the sync as
    the system (sync.planner.Policies.field_directions); the account's direction applies on
    top of it."""

    _name = "microsoft.contacts.field.direction"
    _description = "Outlook Contacts Sync: Field Direction"
    _order = "sequence, id"
    _rec_name = "field_key"

    field_key = fields.Selection("_selection_field_key", "Field", required=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    direction = fields.Selection(
        FIELD_DIRECTION_SELECTION,
        required=True,
        default=TWO_WAY,
        help="Both ways: changes on either side are synced. Odoo to Outlook: Odoo's changes "
        "reach Outlook; the sync never writes this field in Odoo. Outlook to Odoo: Outlook's "
        "changes reach Odoo; the sync never writes it in Outlook. Not synced: neither. Each "
        "user's sync direction applies on top.",
    )
    fixed = fields.Boolean(compute="_compute_fixed")

    _sql_constraints = [
        ("field_key_unique", "unique(field_key)", "Each field has one direction."),
    ]

    @api.model
    def _selection_field_key(self):
        """The mapped fields (sync.mapping.FIELDS) in their order, then the photo."""
        return [(key, label[:1].upper() + label[1:]) for key, label in DIRECTED_FIELDS]

    @api.depends("field_key")
    def _compute_fixed(self):
        for row in self:
            row.fixed = row.field_key in FIXED_FIELDS

    @api.constrains("field_key", "direction")
    def _check_fixed_fields(self):
        for row in self:
            if row.field_key in FIXED_FIELDS and row.direction != TWO_WAY:
                raise ValidationError(
                    self.env._(
                        "A contact needs its name on both sides: the name is synced both ways."
                    )
                )

    @api.model
    def _ensure_rows(self):
        """One row per mapped field, in the mapping's order (a field added later gets its row
        at the next module update, or when the list is opened)."""
        rows = self.sudo().with_context(active_test=False).search([])
        have = {row.field_key: row for row in rows}
        for sequence, (key, _label) in enumerate(DIRECTED_FIELDS):
            if key in have and have[key].sequence != sequence:
                have[key].sequence = sequence
        missing = [
            {"field_key": key, "sequence": sequence}
            for sequence, (key, _label) in enumerate(DIRECTED_FIELDS)
            if key not in have
        ]
        if missing:
            self.sudo().create(missing)
        return True

    @api.model
    def _sync_directions(self):
        """The settings as the planner takes them: (field, direction) of the fields that do
        not travel both ways."""
        rows = self.sudo().search_read([("direction", "!=", TWO_WAY)], ["field_key", "direction"])
        known = {key for key, _label in DIRECTED_FIELDS}
        return tuple(
            sorted((r["field_key"], r["direction"]) for r in rows if r["field_key"] in known)
        )

    def write(self, vals):
        result = super().write(vals)
        if "direction" in vals:
            # Pairs that did not change are not read between whole reads: a field that
            # travels anew must be compared on every pair at the next sync (each account's
            # next run reads its whole scope, see _incremental_since).
            self.env["ir.config_parameter"].sudo().set_param(
                "microsoft_contacts.field_directions_at",
                fields.Datetime.to_string(fields.Datetime.now()),
            )
        return result
