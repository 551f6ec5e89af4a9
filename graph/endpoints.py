"""Login and Graph hosts per Microsoft cloud, and the scopes to ask for on each."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

CLOUDS: dict[str, tuple[str, str]] = {
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "us_gov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "us_gov_dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}
DEFAULT_CLOUD = "global"

DELEGATED_PERMISSIONS = ("Contacts.ReadWrite", "User.Read")
# Asked for at sign-in besides: the colours of the categories the sync writes (Outlook's
# master category list). Tokens are then refreshed with DELEGATED_PERMISSIONS only, and Entra
# includes every permission the user consented to: accounts connected before keep working,
# without category colours until they reconnect.
CONSENT_PERMISSIONS = (*DELEGATED_PERMISSIONS, "MailboxSettings.ReadWrite")

# Plain http is tolerated only for a simulator on this machine; anything else would put
# tokens on the wire in clear.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


@dataclass(frozen=True)
class Endpoints:
    login: str
    graph: str

    def authority(self, tenant: str) -> str:
        tenant = (tenant or "").strip().strip("/")
        if not tenant or "/" in tenant or any(c.isspace() for c in tenant):
            raise ValueError(f"invalid tenant {tenant!r}")
        return f"{self.login}/{tenant}"

    @property
    def graph_api(self) -> str:
        return f"{self.graph}/v1.0"

    def delegated_scopes(self, permissions: tuple[str, ...] = DELEGATED_PERMISSIONS) -> list[str]:
        return delegated_scopes(self.graph, permissions)

    def app_scopes(self) -> list[str]:
        return app_scopes(self.graph)


def validate_base_url(url: str, what: str = "endpoint") -> str:
    """Reject anything that could leak a token: non-https remote hosts, paths, queries."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"{what} must be a non-empty URL")
    if url.endswith("/"):
        raise ValueError(f"{what} {url!r} must not end with a slash")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} {url!r} must be an absolute http(s) URL")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise ValueError(f"{what} {url!r} must use https (http only for localhost)")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{what} {url!r} must be scheme and host only")
    return url


def resolve_endpoints(
    cloud: str | None = DEFAULT_CLOUD,
    login_override: str | None = None,
    graph_override: str | None = None,
) -> Endpoints:
    key = (cloud or DEFAULT_CLOUD).strip().lower()
    if key not in CLOUDS:
        raise ValueError(f"unknown Microsoft cloud {cloud!r}; expected one of {sorted(CLOUDS)}")
    login, graph = CLOUDS[key]
    if login_override:
        login = validate_base_url(login_override, "login endpoint")
    if graph_override:
        graph = validate_base_url(graph_override, "Graph endpoint")
    return Endpoints(login=login, graph=graph)


def delegated_scopes(
    graph_endpoint: str, permissions: tuple[str, ...] = DELEGATED_PERMISSIONS
) -> list[str]:
    """Short names resolve to global Graph only; other clouds need the resource prefix."""
    if graph_endpoint == CLOUDS["global"][1]:
        return list(permissions)
    return [f"{graph_endpoint}/{permission}" for permission in permissions]


def app_scopes(graph_endpoint: str) -> list[str]:
    return [f"{graph_endpoint}/.default"]
