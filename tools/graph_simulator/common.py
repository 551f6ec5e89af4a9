"""Request / response value objects shared by the login, Graph and admin handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit


class Headers(dict):
    """Case-insensitive (on lookup) header mapping; keys stored lower-case."""

    def __init__(self, items=()):
        super().__init__()
        for k, v in dict(items).items() if isinstance(items, dict) else items:
            self[k.lower()] = v

    def get(self, key, default=None):
        return super().get(key.lower(), default)


@dataclass
class Request:
    method: str
    target: str  # path + query as received
    headers: Headers
    body: bytes = b""
    path: str = ""
    query: dict = field(default_factory=dict)

    def __post_init__(self):
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))

    def json(self):
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class Response:
    status: int
    body: object = None  # dict/list -> JSON; str -> text; bytes -> raw; None -> empty
    headers: dict = field(default_factory=dict)
    content_type: str | None = None
    drop: bool = False  # close the socket without answering

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.content_type or ""
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        data = json.dumps(self.body, separators=(",", ":")).encode("utf-8")
        return data, self.content_type or "application/json; charset=utf-8"


# Default Graph error codes per HTTP status (used by injected faults and generic errors).
STATUS_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "ErrorAccessDenied",
    404: "ErrorItemNotFound",
    405: "MethodNotAllowed",
    409: "ErrorFolderExists",
    410: "SyncStateNotFound",
    412: "ErrorIrresolvableConflict",
    424: "FailedDependency",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


USER_ATTRS = {
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "jobTitle",
    "department",
    "companyName",
    "mobilePhone",
    "businessPhones",
    "officeLocation",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "employeeId",
    "accountEnabled",
    "userType",
    "onPremisesExtensionAttributes",
    "preferredLanguage",
}


class GraphError(Exception):
    """Raised by handlers; rendered as a Graph error body."""

    def __init__(self, status, code=None, message="", headers=None):
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "UnknownError")
        self.message = message or self.code
        self.headers = headers or {}
