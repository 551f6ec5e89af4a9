"""Admin consent from the directory form: the import's application permissions, granted once.

The button opens Microsoft's admin-consent page for the directory's tenant (controllers/
directory_consent.py); Microsoft sends the browser back to the shared redirect URI with the
outcome, recorded here and shown on the form; a granted consent is checked at once by reading
a user, as Test does.
"""

import logging

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from ..graph import GraphError
from ..graph.consent import admin_consent_url
from ..graph.directory import DirectoryReader

_logger = logging.getLogger(__name__)

ADMIN_CONSENT_ROUTE = "/microsoft_contacts/directory/%s/admin_consent"
DIRECTORY_ACTION = "microsoft_contacts.action_microsoft_contacts_directory"
# Errors after which the administrator should simply try again, accepting this time.
DECLINED_ERRORS = frozenset({"access_denied", "consent_required"})
# Errors that say the tenant on the form is wrong.
TENANT_ERRORS = frozenset({"invalid_tenant"})
TENANT_AADSTS = frozenset({"90002", "90130", "500011"})
# Errors that say the application (client ID, its registration) is wrong.
APPLICATION_ERRORS = frozenset({"unauthorized_client", "invalid_client"})
APPLICATION_AADSTS = frozenset({"700016", "50011", "50020"})


class MicrosoftContactsDirectoryConsent(models.Model):
    _inherit = "microsoft.contacts.directory"

    admin_consent_state = fields.Selection(
        [("granted", "Granted"), ("refused", "Refused")],
        "Admin Consent",
        copy=False,
        readonly=True,
        help="The outcome of the last Grant Admin Consent from this form.",
    )
    admin_consent_date = fields.Datetime("Admin Consent Answered At", copy=False, readonly=True)
    admin_consent_user_id = fields.Many2one(
        "res.users", "Admin Consent Asked By", copy=False, readonly=True
    )
    admin_consent_message = fields.Text(copy=False, readonly=True)

    def write(self, vals):
        # A consent belongs to one application in one tenant: another one was not consented.
        keys = ("tenant_id", "use_main_app", "client_id")
        before = {d.id: d._population()[:2] for d in self} if set(keys) & set(vals) else {}
        result = super().write(vals)
        moved = self.filtered(
            lambda d: d.id in before
            and d.admin_consent_state
            and d._population()[:2] != before[d.id]
        )
        if moved:
            moved.write(
                {
                    "admin_consent_state": False,
                    "admin_consent_date": False,
                    "admin_consent_user_id": False,
                    "admin_consent_message": False,
                }
            )
        return result

    def _get_admin_consent_url(self, state):
        """Microsoft's admin-consent URL for this tenant, answering to the shared callback."""
        self.ensure_one()
        Account = self.env["microsoft.contacts.account"]
        client_id = self._get_client_id()
        if not client_id:
            raise UserError(
                self.env._(
                    "Enter the client ID of the application first (Settings > Outlook Contacts, "
                    "or this directory's own application)."
                )
            )
        try:
            return admin_consent_url(
                Account._get_endpoints(),
                self.tenant_id,
                client_id,
                Account._get_redirect_uri(),
                state,
            )
        except ValueError as error:
            raise UserError(
                self.env._(
                    "The tenant %(tenant)r is not valid: %(error)s",
                    tenant=self.tenant_id,
                    error=error,
                )
            ) from error

    def action_grant_admin_consent(self):
        """Open Microsoft's admin consent for this tenant; the answer comes back to this form."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(self.env._("Only administrators can grant admin consent."))
        self._get_admin_consent_url("check")  # a clear error now, rather than on Microsoft's page
        return {
            "type": "ir.actions.act_url",
            "url": ADMIN_CONSENT_ROUTE % self.id,
            "target": "self",
        }

    def _form_url(self):
        return f"/odoo/action-{DIRECTORY_ACTION}/{self.id}"

    def _record_admin_consent(self, answer):
        """Write Microsoft's answer on the form; a grant is checked by reading one user."""
        self.ensure_one()
        user = self.env.user
        values = {
            "admin_consent_date": fields.Datetime.now(),
            "admin_consent_user_id": user.id,
        }
        if not answer.granted:
            values.update(
                admin_consent_state="refused", admin_consent_message=self._refusal_text(answer)
            )
            self.write(values)
            self.message_post(
                body=self.env._("Admin consent refused: %s", values["admin_consent_message"])
            )
            _logger.info("Entra ID directory %s: admin consent refused (%s)", self.id, answer.error)
            return
        check = self._check_after_consent()
        granted = self.env._(
            "Granted by %(user)s for tenant %(tenant)s.",
            user=user.name,
            tenant=answer.tenant or self.tenant_id,
        )
        values.update(admin_consent_state="granted", admin_consent_message=f"{granted} {check}")
        self.write(values)
        self.message_post(body=self.env._("Admin consent: %s", values["admin_consent_message"]))
        _logger.info("Entra ID directory %s: admin consent granted", self.id)

    def _check_after_consent(self):
        """Test at once; an import that failed or never ran is queued when users can be read."""
        try:
            DirectoryReader(self._get_graph_client()).check_users_readable()
        except (GraphError, UserError) as error:
            return self.env._(
                "Users cannot be read yet (%s): Microsoft may take a few minutes to apply a new "
                "consent; press Test again in a moment.",
                error,
            )
        if self._resume_import():
            return self.env._("Users can be read: the import starts in the background.")
        return self.env._("Users can be read.")

    def _refusal_text(self, answer):
        """Microsoft's reason, and what the administrator can do about it."""
        reason = answer.description or answer.error
        code = f"{answer.error}, AADSTS{answer.aadsts}" if answer.aadsts else answer.error
        if answer.error in DECLINED_ERRORS:
            advice = self.env._(
                "Grant Admin Consent again and accept, signed in as an administrator of the "
                "tenant (Global Administrator, Privileged Role Administrator or Cloud Application "
                "Administrator); or grant it in the Azure portal (App registrations > API "
                "permissions > Grant admin consent)."
            )
        elif answer.error in TENANT_ERRORS or answer.aadsts in TENANT_AADSTS:
            advice = self.env._(
                "Check the tenant on this form (the tenant ID or a verified domain), then Grant "
                "Admin Consent again."
            )
        elif answer.error in APPLICATION_ERRORS or answer.aadsts in APPLICATION_AADSTS:
            advice = self.env._(
                "Check the application in Azure: its client ID, that it accepts accounts of this "
                "tenant, and that its redirect URIs include %s.",
                self.env["microsoft.contacts.account"]._get_redirect_uri(),
            )
        else:
            advice = self.env._(
                "Check the application's registration in Azure (redirect URI %s, application "
                "permissions User.Read.All and GroupMember.Read.All), then Grant Admin Consent "
                "again.",
                self.env["microsoft.contacts.account"]._get_redirect_uri(),
            )
        return self.env._(
            "Microsoft refused: %(reason)s (%(code)s). %(advice)s",
            reason=reason,
            code=code,
            advice=advice,
        )
