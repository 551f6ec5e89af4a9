import json
import logging
import secrets

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools import consteq
from odoo.tools.misc import hmac

from ..graph.consent import ANSWER_KEYS, read_admin_consent_answer
from ..models.microsoft_contacts_directory_consent import ADMIN_CONSENT_ROUTE
from .main import MicrosoftContactsAuth, _parse_state

_logger = logging.getLogger(__name__)

SERVICE = "entra_consent"
SESSION_KEY = "microsoft_contacts_admin_consent"
HMAC_SCOPE = "microsoft_contacts_admin_consent"


def _signature(uid, nonce, directory_id):
    return hmac(request.env(su=True), HMAC_SCOPE, (uid, nonce, directory_id))


class MicrosoftContactsDirectoryConsent(MicrosoftContactsAuth):
    """Admin consent for a directory, through the redirect URI the app already has.

    The state names the directory, carries a one-time nonce kept in the administrator's
    session and an HMAC of (user, nonce, directory): an answer is accepted once, in the session
    that asked, from the administrator who asked.
    """

    @http.route(
        ADMIN_CONSENT_ROUTE % "<int:directory_id>", type="http", auth="user", methods=["GET"]
    )
    def microsoft_contacts_admin_consent(self, directory_id, **kwargs):
        if not request.env.user.has_group("base.group_system"):
            _logger.warning(
                "Admin consent refused: user %s is not an administrator", request.env.uid
            )
            return self._refuse_consent(
                request.env._("Only administrators can grant admin consent for a directory.")
            )
        directory = request.env["microsoft.contacts.directory"].browse(directory_id).exists()
        if not directory:
            return self._refuse_consent(request.env._("This Entra ID directory no longer exists."))
        nonce = secrets.token_urlsafe(16)
        state = json.dumps(
            {
                "s": SERVICE,
                "n": nonce,
                "d": directory.id,
                "t": _signature(request.env.uid, nonce, directory.id),
            }
        )
        try:
            url = directory._get_admin_consent_url(state)
        except UserError as error:
            directory.write({"admin_consent_state": "refused", "admin_consent_message": str(error)})
            return request.redirect(directory._form_url())
        request.session[SESSION_KEY] = {
            "uid": request.env.uid,
            "directory_id": directory.id,
            "state": state,
        }
        return request.redirect(url, local=False)

    @http.route()
    def oauth2callback(self, **kw):
        state = _parse_state(kw.get("state"))
        if state.get("s") != SERVICE:
            return super().oauth2callback(**kw)
        return self._admin_consent_callback(kw, state)

    def _admin_consent_callback(self, kw, state):
        if request.env.user._is_public():
            _logger.warning("Admin consent answer refused: no user session")
            return self._refuse_consent(
                request.env._(
                    "Your Odoo session is not open in this browser. Log in to Odoo, then Grant "
                    "Admin Consent again from the directory."
                )
            )
        if not request.env.user.has_group("base.group_system"):
            _logger.warning(
                "Admin consent answer refused: user %s is not an administrator", request.env.uid
            )
            return self._refuse_consent(
                request.env._("Only administrators can grant admin consent for a directory.")
            )
        pending = request.session.pop(SESSION_KEY, None)
        nonce, directory_id = state.get("n"), state.get("d")
        if (
            not pending
            or pending.get("uid") != request.env.uid
            or pending.get("directory_id") != directory_id
            or not isinstance(nonce, str)
            or not isinstance(directory_id, int)
            or not isinstance(state.get("t"), str)
            or not consteq(state["t"], _signature(request.env.uid, nonce, directory_id))
            or not consteq(pending.get("state") or "", kw.get("state") or "")
            or not ANSWER_KEYS & set(kw)
        ):
            _logger.warning(
                "Admin consent answer refused for user %s: unknown, replayed or foreign state",
                request.env.uid,
            )
            return self._refuse_consent(
                request.env._(
                    "This admin consent answer does not belong to your current Odoo session, or "
                    "was already used. Grant Admin Consent again from the directory."
                )
            )
        directory = request.env["microsoft.contacts.directory"].browse(directory_id).exists()
        if not directory:
            return self._refuse_consent(request.env._("This Entra ID directory no longer exists."))
        directory._record_admin_consent(read_admin_consent_answer(kw))
        return request.redirect(directory._form_url())

    def _refuse_consent(self, message):
        return request.render(
            "microsoft_contacts.admin_consent_refused", {"message": message}, status=403
        )
