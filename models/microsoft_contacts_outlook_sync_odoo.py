"""Applying a plan to Odoo: partners, companies, titles and tags, as the user; the links."""

import json

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError
from odoo.osv import expression
from odoo.tools import escape_psql

from ..sync import planner as sp
from ..sync.companies import address_key, keeps_own_address, name_key, pick_company
from ..sync.mapping import ADDRESS_COLUMNS, ODOO_TEXT_KEYS
from .microsoft_contacts_outlook_sync_read import StoredLink


class MicrosoftContactsOutlookSyncOdoo(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    @api.model
    def _apply_odoo_actions(self, job, records):
        """Apply each record's next action: all in one savepoint, else one by one."""
        pairs = [(record, record.actions.popleft()) for record in records]
        try:
            with self.env.cr.savepoint():
                effects = self._odoo_writes(job, pairs)
        except Exception:  # one bad record: redo them one by one to find it
            effects = self._odoo_writes_one_by_one(job, pairs)
        for effect in effects:
            effect()

    @api.model
    def _odoo_writes_one_by_one(self, job, pairs):
        # What the rolled back savepoint created is gone: so is what the caches say of it.
        self._undo_cached_creations(job)
        self._undo_partner_creates(job, pairs)
        effects = []
        for record, action in pairs:
            try:
                with self.env.cr.savepoint():
                    effects += self._odoo_writes(job, [(record, action)])
            except Exception as error:
                self._undo_partner_creates(job, [(record, action)])
                self._undo_cached_creations(job)
                reason = str(error)
                if isinstance(error, AccessError):
                    reason = self.env._("not allowed: %s", reason)
                self._fail(job, record, action, reason[:500])
        return effects

    @api.model
    def _undo_cached_creations(self, job):
        for cache, key in job.cached_creations:
            cache.pop(key, None)
        job.cached_creations.clear()

    @api.model
    def _undo_partner_creates(self, job, pairs):
        for record, action in pairs:
            if action.kind == sp.CREATE_IN_ODOO and record.partner_id:
                job.existing_partners.discard(record.partner_id)
                job.partner_labels.pop(record.partner_id, None)
                record.partner_id = None

    @api.model
    def _odoo_writes(self, job, pairs):
        """Write what the actions say; return the in-memory effects to run once committed."""
        incoming = [
            a.values
            for _r, a in pairs
            if a.kind in (sp.CREATE_IN_ODOO, sp.UPDATE_ODOO) and a.values
        ]
        self._link_companies(job, (v.get("company_name") for v in incoming))
        self._resolve_names(
            job, "res.partner.title", job.title_by_name, (v.get("title") for v in incoming)
        )
        if job.policies.sync_categories:
            self._resolve_names(
                job,
                "res.partner.category",
                job.tag_by_name,
                (name for v in incoming for name in v.get("category_names") or ()),
            )
        creates = [(r, a) for r, a in pairs if a.kind == sp.CREATE_IN_ODOO]
        if creates:
            for record, _action in creates:
                record.notes = []
            partners = job.Partner.create(
                [
                    {
                        **self._partner_values(job, a.values, notes=r.notes),
                        **self._new_partner_values(job),
                    }
                    for r, a in creates
                ]
            )
            for (record, _action), partner in zip(creates, partners, strict=True):
                record.partner_id = partner.id
                job.existing_partners.add(partner.id)
                job.partner_labels[partner.id] = (partner.name, partner.email)
        archive = [a.partner_id for _r, a in pairs if a.kind == sp.ARCHIVE_PARTNER]
        if archive:
            job.Partner.browse(archive).write({"active": False})
        # Grouped writes: partners receiving the very same values are written at once.
        writes = {}
        updates = [(r, a) for r, a in pairs if a.kind == sp.UPDATE_ODOO]
        # One recordset: the partners' fields are read in one query, not one per partner.
        updated = job.Partner.browse([r.partner_id for r, _a in updates])
        for (record, action), partner in zip(updates, updated, strict=True):
            record.notes = []
            vals = self._partner_values(job, action.values, partner, record.notes)
            writes.setdefault(repr(sorted(vals.items())), (vals, []))[1].append(record.partner_id)
        for vals, partner_ids in writes.values():
            job.Partner.browse(partner_ids).write(vals)
        effects = []
        new_links = []  # (values, holder): created at once, the holder then gets the row
        for record, action in pairs:
            effects += self._link_op(job, record, action, new_links)
            effects.append(self._line_effect(job, record, action))
        if new_links:
            rows = job.Link.create([values for values, _holder in new_links])
            for (_values, holder), row in zip(new_links, rows, strict=True):
                holder.append(StoredLink.of(row))
        return effects

    # -- partner values -------------------------------------------------------------------

    @api.model
    def _partner_values(self, job, values, partner=None, notes=None):
        """Planner values (mapping.ODOO_KEYS) -> res.partner values; `notes` gets remarks."""
        vals = {key: values[key] or False for key in ODOO_TEXT_KEYS if key in values}
        if "title" in values:
            title = name_key(values["title"])
            vals["title"] = job.title_by_name.get(title) or False if title else False
            if title and not vals["title"] and notes is not None:
                notes.append(self.env._("title %s left out: not allowed to create it", title))
        if "country_code" in values:
            code = (values["country_code"] or "").upper()
            vals["country_id"] = job.country_by_code.get(code, False)
            vals["state_id"] = self._state_id(
                job, code, values.get("state_code"), values.get("state_name")
            )
        if "company_name" in values and not (partner and partner.parent_id):
            # A contact of a company shows the company's name: that one is not rewritten.
            self._company_values(job, values["company_name"], vals, partner, notes)
        if "comment" in values:
            vals["comment"] = values["comment"] or False
        if "category_names" in values and job.policies.sync_categories:
            names = [name_key(n) for n in values["category_names"]]
            tags = {job.tag_by_name.get(n) for n in names}
            vals["category_id"] = [Command.set(sorted(t for t in tags if t))]
            refused = sorted(n for n in names if n and not job.tag_by_name.get(n))
            if refused and notes is not None:
                notes.append(
                    self.env._("tags left out, not allowed to create them: %s", ", ".join(refused))
                )
        return vals

    @api.model
    def _company_values(self, job, company_name, vals, partner, notes):
        """The company of an Outlook company name, or the name kept as text."""
        name = (company_name or "").strip()
        company_id = job.company_by_name.get(name_key(name)) if name else None
        if company_id and (partner and (partner.is_company or partner.id == company_id)):
            company_id = None
        if company_id:
            own = _address_of(vals, partner)
            theirs = job.company_address.get(company_id)
            if keeps_own_address(own, theirs):
                # Odoo gives a company's contacts the company's address: linking would
                # overwrite the address Outlook holds, so the name stays text.
                company_id = None
                if notes is not None:
                    notes.append(
                        self.env._(
                            "not linked to the company %s: its address differs from this "
                            "contact's, which is kept",
                            name,
                        )
                    )
            elif any(own) and not (theirs and any(theirs)):
                # Odoo may give a company without an address the one of its first contact.
                job.company_address[company_id] = own
        if company_id:
            vals["parent_id"] = company_id
            vals["company_name"] = False
        else:
            vals["company_name"] = company_name or False

    @api.model
    def _new_partner_values(self, job):
        """What a contact created from Outlook gets besides its values: with the scope "My
        contacts", its salesperson is the user, as the user would have typed it."""
        if job.account.sync_scope == "my":
            return {"user_id": job.user.id}
        return {}

    @api.model
    def _state_id(self, job, country_code, code, name):
        for state in job.states_by_country.get(country_code, ()):
            if code and state["code"].lower() == code.lower():
                return state["id"]
        for state in job.states_by_country.get(country_code, ()):
            if name and state["name"].lower() == name.lower():
                return state["id"]
        return False

    # -- records found by name ------------------------------------------------------------

    @api.model
    def _link_companies(self, job, names):
        """Resolve company names to the user's companies (R3), in one query for a batch; the
        rule is sync.companies.pick_company; else, as the account says, a new company or the
        name kept as text."""
        wanted = {}
        for name in names:
            name = (name or "").strip()
            if name and name_key(name) not in job.company_by_name:
                wanted.setdefault(name_key(name), name)
        if not wanted:
            return
        domain = expression.OR([[("name", "ilike", name)] for name in wanted.values()])
        companies = job.Partner.search_read(
            expression.AND([[("is_company", "=", True)], domain]),
            ["name", *ADDRESS_COLUMNS],
            order="create_date, id",
            load=None,
        )
        for company in companies:
            job.company_address[company["id"]] = address_key(
                company[key] for key in ADDRESS_COLUMNS
            )
        named = [(c["id"], c["name"]) for c in companies]
        missing = []
        for key, name in wanted.items():
            company_id = pick_company(name, named)
            if company_id is None and job.account.company_linking == "create":
                missing.append(name)
            else:
                job.company_by_name[key] = company_id
        if missing:
            created = job.Partner.create([{"name": n, "is_company": True} for n in missing])
            for name, company in zip(missing, created, strict=True):
                job.company_by_name[name_key(name)] = company.id
                job.cached_creations.append((job.company_by_name, name_key(name)))

    @api.model
    def _resolve_names(self, job, model, cache, names):
        """Find titles or tags by name (case ignored) in one query; create the missing ones
        when the user may."""
        wanted = {}
        for name in names:
            name = (name or "").strip()
            if name and name_key(name) not in cache:
                wanted.setdefault(name_key(name), name)
        if not wanted:
            return
        Model = job.as_user[model]
        domain = expression.OR([[("name", "=ilike", escape_psql(n))] for n in wanted.values()])
        for record in Model.search_read(domain, ["name"], order="id"):
            cache.setdefault(name_key(record["name"]), record["id"])
        missing = [name for key, name in wanted.items() if key not in cache]
        if not Model.browse().has_access("create"):
            # Not the user's to create: the value is left out (a note on the record says so).
            for name in missing:
                cache[name_key(name)] = None
                job.cached_creations.append((cache, name_key(name)))
            return
        for name, record in zip(missing, Model.create([{"name": n} for n in missing]), strict=True):
            cache[name_key(name)] = record.id
            job.cached_creations.append((cache, name_key(name)))

    # -- links ------------------------------------------------------------------------------

    @api.model
    def _link_op(self, job, record, action, new_links):
        """Write the link the action asks for; a new row is queued in `new_links`. Returns
        the effects on the job's link indexes, to run once the writes are kept."""
        op = action.link_op
        pid, oid = record.partner_id, record.outlook_id
        if not op:
            return []
        row = job.by_partner.get(pid) or job.by_outlook.get(oid)
        if op == sp.LINK_STORE:
            return self._store_link(job, record, action, row, new_links)
        if not row:
            return []
        if op == sp.LINK_DETACH:
            job.Link.browse(row.id).write({"detached": True, "synced_at": fields.Datetime.now()})
            return []
        # LINK_DELETE: the effect runs once the row is gone.
        ref, outlook_id = row.partner_ref, row.outlook_id
        job.Link.browse(row.id).unlink()

        def forget():
            job.by_partner.pop(ref, None)
            job.by_outlook.pop(outlook_id, None)

        return [forget]

    @api.model
    def _store_link(self, job, record, action, row, new_links):
        pid, oid = record.partner_id, record.outlook_id
        vals = {
            "partner_id": pid,
            "partner_ref": pid,
            "outlook_id": oid,
            "snapshot": json.dumps(action.snapshot.to_json(), sort_keys=True),
            "fingerprint": action.snapshot.fingerprint(),
            "change_key": record.change_key or action.change_key or False,
            "detached": False,
            "synced_at": fields.Datetime.now(),
        }
        if action.created_in_outlook:
            vals["created_in_outlook"] = True  # never unset: the item stays the sync's
        if action.photo_base is not None:
            vals["photo_odoo_hash"] = action.photo_base.odoo or False
            vals["photo_outlook_hash"] = action.photo_base.outlook or False
        other = job.by_outlook.get(oid)
        if row and other and other.id != row.id:
            job.Link.browse(other.id).unlink()  # a stale row holding this Outlook id
        if row:
            old_pid, old_oid = row.partner_ref, row.outlook_id
            job.Link.browse(row.id).write(vals)
            holder = [StoredLink.of(job.Link.browse(row.id))]
        else:
            old_pid = old_oid = None
            holder = []
            new_links.append(({**vals, "account_id": job.account.id}, holder))

        def index():
            row = holder[0]
            if other and other.id != row.id:
                job.by_outlook.pop(oid, None)
                job.by_partner.pop(other.partner_ref, None)
            if old_pid is not None:
                job.by_partner.pop(old_pid, None)
                job.by_outlook.pop(old_oid, None)
            job.by_partner[pid] = row
            job.by_outlook[oid] = row

        return [index]


def _address_of(vals, partner):
    """The address a contact will have: the values written, else the partner's own."""
    values = []
    for key in ADDRESS_COLUMNS:
        value = vals[key] if key in vals else (partner[key] if partner else False)
        values.append(value.id if isinstance(value, models.BaseModel) else value)
    return address_key(values)
