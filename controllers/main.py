import json
import logging
import re
import secrets
from urllib.parse import urlsplit

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.http import request
from odoo.tools import consteq
from odoo.tools.misc import hmac

from odoo.addons.microsoft_account.controllers.main import MicrosoftAuth

from ..graph import GraphError
from ..models.microsoft_contacts_account import CONNECT_ROUTE

_logger = logging.getLogger(__name__)

SERVICE = "contacts"
FLOW_SESSION_KEY = "microsoft_contacts_flow"
HMAC_SCOPE = "microsoft_contacts_connect"
ACCOUNT_ACTION = "microsoft_contacts.action_microsoft_contacts_account"
# Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so a path
# holding them may turn into "//host": another site.
UNSAFE_REDIRECT_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


def _state_signature(uid, nonce):
    return hmac(request.env(su=True), HMAC_SCOPE, (uid, nonce))


def _local_redirect(url):
    """`url` when it is a path on this site ("/odoo/contacts?..."), else None."""
    if not isinstance(url, str) or not url.startswith("/") or url.startswith("//"):
        return None
    if UNSAFE_REDIRECT_CHARS.search(url):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    return url


def _parse_state(raw):
    try:
        state = json.loads(raw or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


class MicrosoftContactsAuth(MicrosoftAuth):
    """Shares Odoo's Microsoft redirect URI: our sign-ins are ours, the rest goes to super()."""

    @http.route(CONNECT_ROUTE, type="http", auth="user", methods=["GET"])
    def microsoft_contacts_connect(self, redirect=None, **kwargs):
        """Start the sign-in: the MSAL flow (PKCE verifier included) stays in the session.

        `redirect`, a path on this site, is where the browser goes back after a successful
        sign-in (the Contacts view the user started from); anything else is ignored and the
        account page is shown instead.
        """
        try:
            account = request.env["microsoft.contacts.account"]._get_my_account()
        except AccessError as error:  # not allowed to sync (Settings restrict it)
            return self._refuse(str(error))
        try:
            identity = account._get_identity()
            nonce = secrets.token_urlsafe(16)
            state = json.dumps(
                {"s": SERVICE, "n": nonce, "t": _state_signature(request.env.uid, nonce)}
            )
            flow = identity.start_sign_in(
                account._get_redirect_uri(),
                state,
                login_hint=account.microsoft_username or None,
            )
        except (UserError, GraphError) as error:
            return self._back_to_account(account, str(error))
        request.session[FLOW_SESSION_KEY] = {
            "uid": request.env.uid,
            "flow": flow,
            "redirect": _local_redirect(redirect),
        }
        return request.redirect(flow["auth_uri"], local=False)

    @http.route()
    def oauth2callback(self, **kw):
        state = _parse_state(kw.get("state"))
        if state.get("s") != SERVICE:
            return super().oauth2callback(**kw)
        return self._contacts_callback(kw, state)

    def _contacts_callback(self, kw, state):
        if request.env.user._is_public():
            _logger.warning("Outlook contacts sign-in refused: no user session")
            return self._refuse(
                request.env._(
                    "Your Odoo session is not open in this browser. Log in to Odoo, then "
                    "connect Outlook again from Contacts."
                )
            )
        pending = request.session.pop(FLOW_SESSION_KEY, None)
        nonce = state.get("n")
        if (
            not pending
            or pending.get("uid") != request.env.uid
            or not isinstance(nonce, str)
            or not isinstance(state.get("t"), str)
            or not consteq(state["t"], _state_signature(request.env.uid, nonce))
            or pending["flow"].get("state") != kw.get("state")
        ):
            _logger.warning(
                "Outlook contacts sign-in refused for user %s: unknown, replayed or foreign "
                "state",
                request.env.uid,
            )
            return self._refuse(
                request.env._(
                    "This Microsoft sign-in does not belong to your current Odoo session, or "
                    "was already used. Start again with Connect."
                )
            )

        try:
            account = request.env["microsoft.contacts.account"]._get_my_account()
        except AccessError as error:
            return self._refuse(str(error))
        if kw.get("error"):
            message = request.env._(
                "Microsoft did not connect your account: %(error)s%(description)s",
                error=kw["error"],
                description=f" ({kw['error_description']})" if kw.get("error_description") else "",
            )
            if kw["error"] == "access_denied":
                message = request.env._(
                    "The Microsoft sign-in was cancelled or consent was refused, so nothing was "
                    "connected. Connect again and accept the requested permissions, or ask your "
                    "administrator to grant them."
                )
            return self._back_to_account(account, message)
        try:
            sign_in = account._get_identity().finish_sign_in(pending["flow"], dict(kw))
        except (UserError, GraphError) as error:
            _logger.info("Outlook contacts sign-in failed for user %s: %s", request.env.uid, error)
            return self._back_to_account(
                account, request.env._("Microsoft sign-in failed: %s", error)
            )
        try:
            account._save_sign_in(sign_in)
        except UserError as error:  # another mailbox, or one synced by another user
            _logger.info("Outlook contacts sign-in refused for user %s: %s", request.env.uid, error)
            return self._back_to_account(account, str(error))
        _logger.info("Outlook contacts connected for user %s", request.env.uid)
        return request.redirect(
            _local_redirect(pending.get("redirect")) or self._account_url(account), local=True
        )

    def _account_url(self, account):
        return f"/odoo/action-{ACCOUNT_ACTION}/{account.id}"

    def _back_to_account(self, account, message):
        account.sudo().write({"last_error": message})
        return request.redirect(self._account_url(account))

    def _refuse(self, message):
        return request.render(
            "microsoft_contacts.connect_refused", {"message": message}, status=403
        )
