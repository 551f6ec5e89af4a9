"""The one-way import of the user's default Outlook Contacts folder (a policy, off by default).

When on, each sync first reads the default Contacts folder through its own delta link and
creates or updates partners from it, matched like the synced folder's contacts (our extended
property, then a unique email or phone), so that no partner is duplicated. Nothing is ever
written to that folder or deleted from it; a partner it holds (or held) is not copied into
the synced folder either, where it would be a second copy in Outlook.
"""

import logging
from contextlib import nullcontext

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL, email_normalize, escape_psql, str2bool

from ..graph import AuthExpiredError
from ..sync import planner as sp
from ..sync.merge import OUTLOOK_TO_ODOO
from ..sync.normalize import KEYPAD_DIGITS, KEYPAD_LETTERS, national_tail, script_digits
from .microsoft_contacts_account_sync import SyncLockLostError, _OutlookRun

_logger = logging.getLogger(__name__)

IMPORT_LINK_MODEL = "microsoft.contacts.import.link"


class MicrosoftContactsAccountDefaultFolder(models.Model):
    _inherit = "microsoft.contacts.account"

    import_default_folder = fields.Boolean(
        "Import My Outlook Contacts",
        default=lambda self: self._setting_default_flag("import_default_folder"),
        help="Also import the contacts of your default Outlook Contacts folder into Odoo, one "
        "way: they are never changed or deleted in Outlook.",
    )
    default_folder_id = fields.Char(groups="base.group_system", copy=False)
    default_folder_delta_link = fields.Char(groups="base.group_system", copy=False)

    @api.model
    def _setting_default_flag(self, name):
        """A yes/no default of new accounts, as chosen in Settings (off when unset)."""
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(f"microsoft_contacts.default_{name}", "")
            .strip()
        )
        return str2bool(value or "false", False)

    def action_reset_outlook_sync(self):
        # The default folder stays the same: its pairs stay, and it is read whole again.
        result = super().action_reset_outlook_sync()
        self.sudo().write({"default_folder_delta_link": False})
        return result

    def _forget_mailbox(self):
        result = super()._forget_mailbox()
        self.env[IMPORT_LINK_MODEL].sudo().search([("account_id", "in", self.ids)]).unlink()
        self.sudo().write({"default_folder_id": False, "default_folder_delta_link": False})
        return result

    def _default_folder_partner_ids(self):
        """Partners the imported default folder holds, or held until the user deleted them
        there (not to be brought back in another folder); none when the import is off."""
        self.ensure_one()
        if not self.import_default_folder:
            return []
        links = (
            self.env[IMPORT_LINK_MODEL]
            .sudo()
            .search_read(
                [("account_id", "=", self.id), ("partner_id", "!=", False)],
                ["partner_id"],
                load=None,
            )
        )
        return [link["partner_id"] for link in links]

    def _import_default_folder(self, outlook_run):
        """The import phase of a sync, before the synced folder; its failure ends only it.

        Its lines and counts join `outlook_run`'s; what went wrong is noted on the run.
        """
        self.ensure_one()
        if not self.import_default_folder:
            return
        auto_commit = outlook_run.auto_commit
        try:
            with nullcontext() if auto_commit else self.env.cr.savepoint():
                _DefaultFolderImport(self, outlook_run).execute()
        except AuthExpiredError:
            raise  # the synced folder would fail the same way: the run ends
        except Exception as error:
            if auto_commit:
                # Back to the last chunk, keeping a token refreshed meanwhile.
                token_cache = self.token_cache
                self.env.cr.rollback()
                if token_cache != self.token_cache:
                    self.token_cache = token_cache
                if not self._lock_sync():
                    raise SyncLockLostError() from error
            _logger.info("Import of the default folder of account %s failed: %s", self.id, error)
            outlook_run.notes.append(
                self.env._("The import of your Outlook Contacts folder failed: %s", error)
            )


class _DefaultFolderImport(_OutlookRun):
    """The default Contacts folder, one way into Odoo: read and matched, never written.

    One way, a partner no item pairs with yields nothing: the planner gets only the linked
    partners and those an item of the round may match (sync.match_keys), not every partner.
    Contacts the user left out of the sync are left out of this import too.
    """

    retry_target = "default_folder"

    def __init__(self, account, parent):
        self.parent = parent  # the run this import is the first phase of
        super().__init__(account, parent.run, True, parent.auto_commit)
        self.Link = self.env[IMPORT_LINK_MODEL].sudo()
        self.links = []
        self.wanted_partner_ids = set()

    def _chunk_size(self):
        return self.parent.chunk_size

    def _policies(self, confirm_deletions):
        account = self.account
        return sp.Policies(
            direction=OUTLOOK_TO_ODOO,
            conflict=account.conflict_policy,
            outlook_deletion=sp.OUTLOOK_DELETE_UNLINK,  # deleted there: stop importing it
            odoo_deletion=sp.ODOO_DELETE_KEEP,
            outlook_may_clear=account.outlook_may_clear,
            sync_categories=account.sync_categories,
            mass_delete_confirmed=True,  # deletions here only stop the import of a contact
        )

    def _read_lookups(self):
        parent = self.parent
        lookups = parent._lookups()
        self.country_by_code = parent.country_by_code
        self.country_code_by_id = parent.country_code_by_id
        self.state_by_id = parent.state_by_id
        self.states_by_country = parent.states_by_country
        return lookups

    def _ensure_folder(self):
        """The default folder's id: the parent of its contacts, or of our synced folder."""
        account = self.account
        if account.default_folder_id:
            return account.default_folder_id
        for path, params in (
            ("/me/contacts", {"$top": 1, "$select": "parentFolderId"}),
            ("/me/contactFolders", {"$top": 1}),
        ):
            page = self.client.get(path, params=params) or {}
            values = page.get("value") if isinstance(page, dict) else None
            if values and isinstance(values[0], dict) and values[0].get("parentFolderId"):
                account.default_folder_id = values[0]["parentFolderId"]
                return account.default_folder_id
        return None  # no contact and no folder yet: nothing to import

    def _stored_delta_link(self):
        return self.account.default_folder_delta_link

    def _store_delta_link(self, delta_link):
        self.account.default_folder_delta_link = delta_link

    def _links(self):
        self.links = super()._links()
        return self.links

    def _read_outlook(self, folder_id):
        changes, delta_link, full = super()._read_outlook(folder_id)
        linked = {lk.partner_id for lk in self.links if not lk.detached and lk.partner_id > 0}
        self.wanted_partner_ids = linked | self._match_candidates(changes)
        return changes, delta_link, full

    def _scope_domain(self):
        # Every person the user sees may be the one an Outlook contact is (no duplicates);
        # of them, only those the planner needs.
        return [("is_company", "=", False), ("id", "in", sorted(self.wanted_partner_ids))]

    def _match_candidates(self, changes):
        """Partners the round's unlinked items may match: named by our extended property, or
        holding one of their emails or phones (all of them, or an ambiguity would be missed).
        A few more do no harm: the planner compares exactly."""
        resolver, region = self._lookups()
        keys = sp.match_keys(
            self.links,
            changes,
            database_uuid=self.env["ir.config_parameter"].sudo().get_param("database.uuid"),
            countries=resolver,
            default_region=region,
        )
        found = set(keys.partner_ids)
        if keys.emails:
            found.update(self.Partner.search(_email_domain(keys.emails)).ids)
        if keys.phones:
            found.update(self._partners_by_phone(keys.phones))
        return found

    def _partners_by_phone(self, phones):
        """Ids of the partners whose phone or mobile may be one of `phones` (E.164).

        Loose, in one query: the number's digits as typed (other scripts' digits read as
        ASCII, letters dropped or read as on a keypad) hold the last digits of the national
        number, however it was typed (national prefix or country code, extension after).
        """
        tails = sorted({national_tail(phone) for phone in phones})
        other_digits, ascii_digits = script_digits()
        self.Partner.flush_model(["phone", "mobile", "active", "is_company"])
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

    def _held_in_outlook(self):
        return []

    def _apply_outlook_heads(self, groups):
        # One way: the planner plans no Outlook write here; should one appear, it fails.
        for group in groups:
            self._fail(
                group, group.actions[0], self.env._("the default Contacts folder is never written")
            )

    def _finish(self, message, blocked):
        for key, value in self.counts.items():
            self.parent.counts[key] += value
        if message:
            self.parent.notes.append(
                self.env._("Outlook Contacts folder: %s", message) if not blocked else message
            )


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
