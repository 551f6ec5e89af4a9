"""Typed Graph failures.

The sync engine reacts to the class (reconnect, full resync, retry later, skip one record);
the text ends up in the sync log an administrator reads, so it is plain language and never
carries a token or a query string (delta and skip tokens are opaque but still private).
"""

from __future__ import annotations

from typing import Any

# Graph spells the "delta token is gone" condition several ways depending on the workload.
SYNC_STATE_LOST_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
CONFLICT_CODES = frozenset({"errorirresolvableconflict"})

_MAX_DETAIL = 300


class GraphError(Exception):
    """Base of every failure raised by the Graph client."""

    summary = "Microsoft Graph request failed"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = _clip(message) if message else None
        self.request_id = request_id
        self.retry_after = retry_after
        self.method = method
        self.path = path
        # Set by GraphClient.batch when a whole $batch call fails midway.
        self.batch_outcomes: list | None = None
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.summary
        if self.message:
            text = f"{text}: {self.message}"
        facts = []
        if self.status is not None:
            facts.append(f"HTTP {self.status}")
        if self.code:
            facts.append(self.code)
        if self.method and self.path:
            facts.append(f"{self.method} {self.path}")
        if self.retry_after is not None:
            facts.append(f"retry after {self.retry_after:g} s")
        if self.request_id:
            facts.append(f"request-id {self.request_id}")
        if facts:
            text = f"{text} ({', '.join(facts)})"
        return text


class FolderGoneError(GraphError):
    """The folder synced before vanished in Outlook: nothing may be read as deleted."""

    summary = "The synced Outlook folder no longer exists"


class AuthExpiredError(GraphError):
    summary = "The Microsoft connection has expired or was revoked; reconnect the account"


class ForbiddenError(GraphError):
    summary = "Microsoft Graph refused access (missing permission or consent)"


class NotFoundError(GraphError):
    summary = "Not found in Outlook"


class ConflictError(GraphError):
    summary = "The Outlook item changed meanwhile (edit conflict)"


class SyncStateLostError(GraphError):
    summary = "Outlook no longer knows the saved sync position; a full resync is needed"


class BadRequestError(GraphError):
    summary = "Microsoft Graph rejected the request"


class ThrottledError(GraphError):
    summary = "Microsoft Graph is throttling this mailbox; try again later"


class PacingDeadlineError(ThrottledError):
    """Graph allows this mailbox again only after the caller's deadline: stop, resume later.

    Raised before sending, never after: nothing was sent past the deadline. `retry_at` is the
    wall-clock time (epoch seconds) from which the mailbox may send again.
    """

    summary = "Microsoft Graph asked this mailbox to wait beyond the time this run has"

    def __init__(self, message: str | None = None, *, retry_at: float, **kwargs: Any) -> None:
        self.retry_at = retry_at
        super().__init__(message, **kwargs)


class ServerError(GraphError):
    summary = "Microsoft Graph had a server error"


class TransportError(GraphError):
    summary = "Could not reach Microsoft Graph"


class MalformedResponseError(GraphError):
    summary = "Microsoft Graph sent an unexpected response"


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def graph_error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, request-id) from a Graph error body, tolerating any shape."""
    if not isinstance(body, dict):
        return None, None, None
    error = body.get("error")
    if not isinstance(error, dict):
        return None, None, None
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    inner = error.get("innerError") or error.get("innererror")
    request_id = None
    if isinstance(inner, dict) and isinstance(inner.get("request-id"), str):
        request_id = inner["request-id"]
    return code, message, request_id


def error_class_for(status: int, code: str | None) -> type[GraphError]:
    lowered = (code or "").lower()
    if status == 410 or lowered in SYNC_STATE_LOST_CODES:
        return SyncStateLostError
    if status == 412 or lowered in CONFLICT_CODES:
        return ConflictError
    if status == 401:
        return AuthExpiredError
    if status == 403:
        return ForbiddenError
    if status == 404:
        return NotFoundError
    if status == 429:
        return ThrottledError
    if 500 <= status <= 599:
        return ServerError
    if 400 <= status <= 499:
        return BadRequestError
    return MalformedResponseError


def error_from_response(
    status: int,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    retry_after: float | None = None,
    method: str | None = None,
    path: str | None = None,
    fallback_text: str | None = None,
) -> GraphError:
    """Build the typed error for a non-2xx answer (a whole response or one $batch item)."""
    code, message, request_id = graph_error_fields(body)
    if headers:
        lowered = {str(k).lower(): v for k, v in headers.items()}
        request_id = lowered.get("request-id") or request_id
    if message is None and fallback_text:
        message = fallback_text
    if message is None and not 400 <= status <= 599:
        message = f"unexpected HTTP status {status}"
    cls = error_class_for(status, code)
    return cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        method=method,
        path=path,
    )
