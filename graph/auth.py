"""Sign-in and tokens through MSAL, on the same HTTP session and CA trust as the Graph client.

Each account keeps its own serialized MSAL token cache (stored by the caller), so the MSAL
application is created per operation around that cache; what makes creation cheap is the
HTTP cache shared per (client, authority): OIDC discovery is fetched once a day, not per call.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msal
import requests
from msal.exceptions import MsalServiceError

from .endpoints import CONSENT_PERMISSIONS, Endpoints
from .errors import AuthExpiredError, GraphError, ServerError, TransportError

# Answers of the identity platform that mean "the user must sign in again".
CONSENT_LOST_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})
MICROSOFT_LOGIN_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.microsoft.com",
        "login.windows.net",
    }
)


class ConsentRequiredError(AuthExpiredError):
    summary = "Microsoft asks the user to sign in again"


class IdentityError(GraphError):
    summary = "Microsoft sign-in failed"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a completed authorization-code flow."""

    token_cache: str
    home_account_id: str
    username: str
    tenant_id: str | None
    object_id: str | None = None  # the user's id in Entra ID (the id token's oid)


class MsalHttpClient:
    """The `http_client` MSAL expects, on our session, always with a timeout.

    Redirects are not followed: a redirect from a misconfigured login endpoint would carry the
    client secret and refresh token to another host.
    """

    def __init__(self, session: requests.Session, timeout: float | tuple[float, float]) -> None:
        self.session = session
        self.timeout = timeout

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        return self.session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        return self.session.post(url, **kwargs)

    def close(self) -> None:
        """The session belongs to the caller; nothing to release here."""


_http_caches: dict[tuple[str, str], tuple[dict, threading.Lock]] = {}
_http_caches_lock = threading.Lock()


def shared_http_cache(client_id: str, authority: str) -> tuple[dict, threading.Lock]:
    """MSAL's HTTP cache for one application, and the lock that guards its use.

    Each MSAL application locks only its own view of the dict, so threads sharing one dict
    take this lock around every MSAL call.
    """
    with _http_caches_lock:
        return _http_caches.setdefault((client_id, authority), ({}, threading.Lock()))


class MicrosoftIdentity:
    """Delegated (per user) and app-only tokens for one Entra application."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        endpoints: Endpoints,
        tenant: str = "organizations",
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 20),
        http_cache: dict | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise IdentityError("the Microsoft application client id and secret are not set")
        self.client_id = client_id
        self._client_secret = client_secret
        self.endpoints = endpoints
        self.tenant = tenant or "organizations"
        self.authority = endpoints.authority(self.tenant)
        self.session = session or requests.Session()
        self.timeout = timeout
        if http_cache is None:
            self.http_cache, self._lock = shared_http_cache(client_id, self.authority)
        else:
            self.http_cache, self._lock = http_cache, threading.Lock()

    def __repr__(self) -> str:  # never show the secret
        return f"<MicrosoftIdentity client_id={self.client_id} authority={self.authority}>"

    @property
    def scopes(self) -> list[str]:
        return self.endpoints.delegated_scopes()

    def _application(
        self, cache: msal.SerializableTokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        host = self.endpoints.login.split("://", 1)[-1].split(":", 1)[0]
        try:
            return msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._client_secret,
                authority=self.authority,
                token_cache=cache,
                http_client=MsalHttpClient(self.session, self.timeout),
                http_cache=self.http_cache,
                # Microsoft's instance discovery only knows Microsoft's hosts.
                instance_discovery=host in MICROSOFT_LOGIN_HOSTS,
            )
        except ValueError as exc:  # MSAL's word for a discovery document it cannot use
            raise IdentityError(
                f"the sign-in authority {self.authority} is not usable: {exc}"
            ) from exc

    @contextlib.contextmanager
    def _msal(self) -> Iterator[None]:
        """Serialize use of the shared HTTP cache; turn what MSAL lets through into our errors."""
        login = self.endpoints.login
        with self._lock:
            try:
                yield
            except requests.RequestException as exc:
                raise TransportError(
                    f"the Microsoft sign-in service at {login} could not be reached "
                    f"({type(exc).__name__}); try again later"
                ) from None
            except MsalServiceError as exc:
                raise ServerError(
                    f"the Microsoft sign-in service at {login} answered with an error "
                    f"({exc}); try again later"
                ) from None

    # -- delegated: authorization code flow with PKCE -------------------------------------

    def start_sign_in(
        self, redirect_uri: str, state: str, *, login_hint: str | None = None
    ) -> dict:
        """Return MSAL's flow: keep it server-side, send the browser to flow['auth_uri'].

        The answer comes back as a query (not form_post): Odoo's session cookie is SameSite=Lax,
        so a cross-site POST from Microsoft would arrive without the session the state is
        bound to.
        """
        with self._msal(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="response_mode='form_post'")
            return self._application().initiate_auth_code_flow(
                self.endpoints.delegated_scopes(CONSENT_PERMISSIONS),
                redirect_uri=redirect_uri,
                state=state,
                prompt="select_account",
                login_hint=login_hint,
                response_mode="query",
            )

    def finish_sign_in(self, flow: dict, query: dict, token_cache: str | None = None) -> SignIn:
        cache = load_cache(token_cache)
        with self._msal():
            application = self._application(cache)
            try:
                result = application.acquire_token_by_auth_code_flow(flow, query)
            except ValueError as exc:  # state mismatch, missing state, reused flow
                raise IdentityError(
                    f"the sign-in answer does not match this sign-in ({exc})"
                ) from exc
            if "error" in result:
                raise _identity_error(result)
            claims = result.get("id_token_claims") or {}
            accounts = application.get_accounts()
        matching = [a for a in accounts if a.get("local_account_id") == claims.get("oid")]
        if not claims.get("oid") or len(matching) != 1:
            # Never fall back to another account of the cache: the sign-in would be bound
            # to someone else's tokens.
            raise IdentityError("Microsoft returned no identifiable account for this sign-in")
        account = matching[0]
        return SignIn(
            token_cache=cache.serialize(),
            home_account_id=account["home_account_id"],
            username=claims.get("preferred_username") or account.get("username") or "",
            tenant_id=claims.get("tid"),
            object_id=claims.get("oid"),
        )

    def access_token(
        self, token_cache: str, home_account_id: str, *, force_refresh: bool = False
    ) -> tuple[str, str | None]:
        """(access token, the cache to store back or None when unchanged)."""
        cache = load_cache(token_cache)
        with self._msal():
            application = self._application(cache)
            account = next(
                (a for a in application.get_accounts() if a["home_account_id"] == home_account_id),
                None,
            )
            if account is None:
                raise ConsentRequiredError("no Microsoft sign-in is stored for this account")
            result = application.acquire_token_silent_with_error(
                self.scopes, account, force_refresh=force_refresh
            )
        if not result:
            raise ConsentRequiredError("the stored Microsoft sign-in can no longer be refreshed")
        if "error" in result:
            raise _identity_error(result)
        return result["access_token"], cache.serialize() if cache.has_state_changed else None

    def sign_out(self, token_cache: str | None, home_account_id: str | None) -> str:
        """The cache without this account (empty when it was the only one)."""
        cache = load_cache(token_cache)
        with self._msal():
            application = self._application(cache)
            for account in application.get_accounts():
                if account["home_account_id"] == home_account_id:
                    application.remove_account(account)
        return cache.serialize()

    # -- app-only: client credentials -----------------------------------------------------

    def app_token(self) -> str:
        with self._msal():
            result = self._application().acquire_token_for_client(self.endpoints.app_scopes())
        if "error" in result:
            raise _identity_error(result)
        return result["access_token"]


def load_cache(serialized: str | None) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if serialized:
        cache.deserialize(serialized)
    return cache


def _identity_error(result: dict) -> GraphError:
    code = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "").split("\n", 1)[0]
    # AADSTS descriptions end with trace and correlation ids: keep the human part.
    description = description.split(" Trace ID:", 1)[0].strip() or None
    if code in CONSENT_LOST_ERRORS:
        return ConsentRequiredError(description, code=code)
    return IdentityError(description, code=code)
