"""Admin consent for the directory import: the URL an administrator opens, and its answer.

The directory import reads users with the application's own identity (client credentials):
its application permissions (User.Read.All, GroupMember.Read.All) need an administrator of
the tenant to consent once for the whole organisation. Microsoft's admin-consent endpoint
does that and sends the browser back to the redirect URI with the outcome:
`admin_consent=True&tenant=…&scope=…&state=…`, or `error=…&error_description=…&state=…`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from .endpoints import Endpoints

# What an answer must carry to be read as the outcome of an admin consent (and not of a
# user's sign-in, which shares the redirect URI).
ANSWER_KEYS = frozenset({"admin_consent", "error"})


def admin_consent_url(
    endpoints: Endpoints, tenant: str, client_id: str, redirect_uri: str, state: str
) -> str:
    """`https://{login}/{tenant}/v2.0/adminconsent?…` asking for the app's permissions.

    The scope is the static `/.default` of the cloud's Graph: application permissions can
    only be asked that way, and it asks for every permission of the app registration.
    """
    if not client_id:
        raise ValueError("the application (client) ID is not set")
    query = {
        "client_id": client_id,
        "scope": " ".join(endpoints.app_scopes()),
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{endpoints.authority(tenant)}/v2.0/adminconsent?{urlencode(query)}"


@dataclass(frozen=True)
class AdminConsentAnswer:
    """What Microsoft said. `tenant` is informative only: never trust it to identify anyone."""

    granted: bool
    tenant: str | None = None
    scope: str | None = None
    error: str | None = None
    description: str | None = None
    aadsts: str | None = None  # the AADSTS code of the error, e.g. "65004"


def read_admin_consent_answer(query: Mapping[str, str]) -> AdminConsentAnswer:
    """The outcome of the redirect's query parameters (the state is the caller's to check)."""
    error = _text(query.get("error"))
    if error:
        description, aadsts = _human_description(_text(query.get("error_description")))
        return AdminConsentAnswer(
            granted=False, error=error, description=description, aadsts=aadsts
        )
    if _text(query.get("admin_consent")).lower() == "true":
        return AdminConsentAnswer(
            granted=True,
            tenant=_text(query.get("tenant")) or None,
            scope=_text(query.get("scope")) or None,
        )
    return AdminConsentAnswer(
        granted=False,
        error="invalid_response",
        description="Microsoft's answer holds neither a consent nor an error",
    )


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _human_description(description: str) -> tuple[str | None, str | None]:
    """The first line of an AADSTS description, without its trace and correlation ids."""
    first = description.replace("\r", "\n").split("\n", 1)[0]
    first = first.split(" Trace ID:", 1)[0].strip()
    aadsts = None
    if first.startswith("AADSTS"):
        code, _, rest = first.partition(":")
        if code[6:].isdigit():
            aadsts, first = code[6:], rest.strip()
    return (first[:500] or None), aadsts
