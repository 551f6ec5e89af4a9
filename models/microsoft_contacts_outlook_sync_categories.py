"""Outlook's master categories for the tags a run writes: created in the tag's colour, and
renamed when the tag is renamed in Odoo (sync.categories plans it, graph.MasterCategories
applies it). A mailbox without the permission for it still syncs its contacts' tags."""

import logging

from odoo import api, fields, models

from ..graph import (
    AuthExpiredError,
    ForbiddenError,
    GraphError,
    MasterCategories,
    PacingDeadlineError,
)
from ..sync import planner as sp
from ..sync import preview as sp_preview
from ..sync.categories import category_color, plan_master_categories

_logger = logging.getLogger(__name__)

OUTLOOK_WRITES = frozenset({sp.CREATE_IN_OUTLOOK, sp.RECREATE_IN_OUTLOOK, sp.UPDATE_OUTLOOK})


class MicrosoftContactsAccountCategories(models.Model):
    _inherit = "microsoft.contacts.account"

    # The last microsoft.contacts.category.rename applied to this mailbox's master list.
    category_renames_seen = fields.Integer(groups="base.group_system", copy=False, readonly=True)


class MicrosoftContactsOutlookSyncCategories(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    @api.model
    def _apply(self, job, plan, chosen=None):
        note = ""
        if not plan.blocked:
            applied = plan if chosen is None else sp_preview.select_actions(plan, chosen)[0]
            note = self._ensure_master_categories(job, applied)
        result = super()._apply(job, plan, chosen)
        if note:
            job.message = "\n".join(filter(None, [job.message, note]))
        return result

    @api.model
    def _ensure_master_categories(self, job, plan):
        """Before the contacts are written: the categories of the Odoo tags they carry exist
        in Outlook's master list, in their tag's colour (a renamed tag's in its old
        category's colour; the old category stays, it is the user's).
        Returns a note for the run when the mailbox refused it."""
        if job.dry_run or not job.target.writes_outlook or not job.policies.sync_categories:
            return ""
        account = job.account.sudo()
        names = {
            name
            for action in plan.actions
            if action.kind in OUTLOOK_WRITES and action.payload
            for name in action.payload.get("categories") or ()
        }
        renames = (
            self.env["microsoft.contacts.category.rename"]
            .sudo()
            .search([("id", ">", account.category_renames_seen)])
        )
        if not names and not renames:
            return ""
        wanted = self._category_colors(names)
        pairs = [(r.old_name, r.new_name) for r in renames]
        try:
            master = MasterCategories(job.client)
            todo = plan_master_categories(master.list(), wanted, pairs)
            for name, color in todo.create:
                master.add(name, color)
        except (AuthExpiredError, PacingDeadlineError):
            raise
        except ForbiddenError:
            note = self.env._(
                "Tags reach Outlook without their colours: reconnect to Outlook to allow the "
                "sync to manage your categories (permission MailboxSettings.ReadWrite)."
            )
        except GraphError as error:
            _logger.info("Account %s: master categories not updated: %s", account.id, error)
            return self.env._("The colours of Outlook categories were not updated: %s", error)
        else:
            note = ""
        if renames:
            account.category_renames_seen = renames[-1].id
        return note

    @api.model
    def _category_colors(self, names):
        """Name -> Outlook colour, for the names that are Odoo tags (case ignored)."""
        if not names:
            return {}
        folded = {name.casefold(): name for name in names}
        tags = self.env["res.partner.category"].sudo().search_read([], ["name", "color"])
        return {
            folded[tag["name"].casefold()]: category_color(tag["color"])
            for tag in tags
            if tag["name"] and tag["name"].casefold() in folded
        }

    @api.model
    def _incremental_since(self, job, changes):
        """Read the whole scope again after a tag was renamed or a field's direction changed:
        the partners did not change, yet what the sync sends of them did."""
        since = super()._incremental_since(job, changes)
        whole = job.account.odoo_whole_read_at
        if since is None or not whole:
            return since
        get_param = self.env["ir.config_parameter"].sudo().get_param
        keys = ["microsoft_contacts.field_directions_at"]
        if job.policies.sync_categories:
            keys.append("microsoft_contacts.tags_renamed_at")
        for key in keys:
            changed_at = get_param(key)
            if changed_at and fields.Datetime.to_datetime(changed_at) >= whole:
                return None
        return since
