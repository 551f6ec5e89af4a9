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
from odoo.tools import str2bool

from ..graph import AuthExpiredError
from ..sync import planner as sp
from ..sync.merge import OUTLOOK_TO_ODOO
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
        result = super().action_reset_outlook_sync()
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
    """The default Contacts folder, one way into Odoo: read and matched, never written."""

    def __init__(self, account, parent):
        super().__init__(account, parent.run, True, parent.auto_commit)
        self.parent = parent
        self.Link = self.env[IMPORT_LINK_MODEL].sudo()
        self.policies = sp.Policies(
            direction=OUTLOOK_TO_ODOO,
            conflict=account.conflict_policy,
            outlook_deletion=sp.OUTLOOK_DELETE_UNLINK,  # deleted there: stop importing it
            odoo_deletion=sp.ODOO_DELETE_KEEP,
            outlook_may_clear=account.outlook_may_clear,
            sync_categories=account.sync_categories,
            mass_delete_confirmed=True,  # deletions here only stop the import of a contact
        )

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

    def _scope_domain(self):
        # Every person the user sees may be the one an Outlook contact is: no duplicates.
        return [("is_company", "=", False)]

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
