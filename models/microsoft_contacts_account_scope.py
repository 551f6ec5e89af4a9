"""Which Odoo contacts an account sends to Outlook, and the policies it syncs with."""

from odoo import api, models
from odoo.exceptions import UserError, ValidationError

from ..sync import planner as sp
from ..sync.domain import parse_domain


class MicrosoftContactsAccountScope(models.Model):
    _inherit = "microsoft.contacts.account"

    def _sync_policies(self, confirm_deletions=False):
        return sp.Policies(
            direction=self.sync_direction,
            conflict=self.conflict_policy,
            outlook_deletion=self.outlook_deletion,
            odoo_deletion=self.odoo_deletion,
            outlook_may_clear=self.outlook_may_clear,
            sync_categories=self.sync_categories,
            sync_photos=self.sync_photos,
            mass_delete_ratio=max(self.mass_delete_percent, 0) / 100.0,
            mass_delete_minimum=max(self.mass_delete_minimum, 0),
            mass_delete_confirmed=confirm_deletions,
            field_directions=self.env["microsoft.contacts.field.direction"]._sync_directions(),
        )

    def _partner_scope_domain(self):
        domain = []
        if not self.include_companies:
            domain.append(("is_company", "=", False))
        if self.sync_scope == "reachable":
            domain += ["|", "|", ("email", "!=", False), ("phone", "!=", False)]
            domain.append(("mobile", "!=", False))
        elif self.sync_scope == "my":
            domain.append(("user_id", "=", self.user_id.id))
        elif self.sync_scope == "tags":
            domain.append(("category_id", "in", self.sync_tag_ids.ids))
        elif self.sync_scope == "domain":
            domain += self._custom_scope_domain()
        return domain

    @api.constrains("sync_scope", "sync_domain")
    def _check_sync_domain(self):
        for account in self.filtered(lambda a: a.sync_scope == "domain"):
            try:
                account._custom_scope_domain()
            except UserError as error:
                raise ValidationError(str(error)) from error

    def _custom_scope_domain(self):
        """The account's custom domain, checked; a UserError says what is wrong with it.

        It runs in the shared cron, so it is read as data (literals and `uid`, bounded in
        size), never evaluated as code, and resolved with the user's rights.
        """
        text = (self.sync_domain or "").strip()
        try:
            domain = parse_domain(text or "[]", self.user_id.id)
            # Resolve it once: unknown fields and malformed terms fail here, readably.
            self.env["res.partner"].with_user(self.user_id)._search(domain)
        except Exception as error:  # the parser and the ORM raise many kinds
            raise UserError(
                self.env._(
                    "The custom domain of this account is not valid (%(domain)s): %(error)s",
                    domain=text,
                    error=error,
                )
            ) from error
        return domain
