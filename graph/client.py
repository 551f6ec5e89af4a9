"""Microsoft Graph HTTP client: auth callback, pacing, retries, paging, delta and $batch.

Retry policy for non-idempotent requests (POST, and a $batch holding a POST): creating a contact
twice is the worst outcome, so a POST is retried only when Graph provably did not act on it:
- 429 (throttled requests are refused before any processing) and 401 (refused by auth);
- 503 only when it carries Retry-After (the service asks for a retry; without it a gateway may
  have timed out after forwarding);
- connection failures before the request left this machine (connect timeout, refused).
A POST is NOT retried after a read timeout, a dropped connection, 502 or 504: the contact may
exist already. The caller stamps created contacts with an extended property, so if the first
attempt did land, the next sync relinks it instead of creating a duplicate.
GET, PATCH and DELETE are retried on 429, 502, 503, 504, connection errors and read timeouts.

Throttling is not a failure. A 429 (or 503 with Retry-After) is retried for as long as the caller's
deadline allows, however many times, after the pause Graph asked for; with a pacer the pause holds
every request of the mailbox and teaches the pacer the limit Graph enforces (see pacer.py). When a
wait would end after the deadline, PacingDeadlineError (a ThrottledError) is raised at once, before
sending, with `retry_at`: the caller stops, keeps its progress and comes back then. `deadline` is
wall-clock epoch seconds (`GraphClient(..., deadline=time.time() + budget)`, or set
`client.deadline` later); past it nothing is sent at all. Without a deadline, throttling waits at
most `max_retry_seconds` per call. Other retries (5xx, transport) stay bounded by `max_retries` and
`max_retry_seconds`, and by the deadline.
"""

from __future__ import annotations

import copy
import json as jsonlib
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError, ReadTimeoutError

from .endpoints import validate_base_url
from .errors import (
    AuthExpiredError,
    GraphError,
    MalformedResponseError,
    PacingDeadlineError,
    TransportError,
    error_from_response,
    graph_error_fields,
)
from .pacer import CONCURRENCY, RATE, UNAVAILABLE, Grant, Pacer
from .retry import backoff_delay, parse_retry_after

TokenProvider = Callable[[bool], str]

API_VERSION = "v1.0"
BATCH_LIMIT = 20
IMMUTABLE_ID_PREFERENCE = 'IdType="ImmutableId"'
DEFAULT_USER_AGENT = "NONISV|Odoo|OutlookContactsSync/18.0"

RETRIABLE_STATUSES = frozenset({429, 502, 503, 504})
BATCH_ITEM_RETRIABLE_STATUSES = frozenset({429, 503, 504})
NON_IDEMPOTENT_METHODS = frozenset({"POST"})


@dataclass(frozen=True)
class BatchRequest:
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] | None = None
    id: str | None = None


@dataclass
class BatchOutcome:
    request: BatchRequest
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    error: GraphError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class DeltaResult:
    items: list[dict]
    removed: dict[str, str]
    delta_link: str
    pages: int
    # Ids seen both removed and present in this round: order is not guaranteed, so the
    # caller should read these items once more before acting on them.
    ambiguous: set[str] = field(default_factory=set)


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: Any
    text: str
    grant: Grant | None = None
    raw: bytes = b""  # the answer as received, for a binary one (a photo)


class StaleTokenError(Exception):
    """A client made by `with_token` needed a new access token: only its maker, on the
    thread that may refresh the sign-in, can get one. Nothing was carried out."""


class GraphClient:
    def __init__(
        self,
        graph_endpoint: str,
        token_provider: TokenProvider,
        *,
        session: requests.Session | None = None,
        pacer: Pacer | None = None,
        timeout: float | tuple[float, float] = (5, 30),
        max_retries: int = 5,
        max_retry_seconds: float = 300,
        max_response_bytes: int = 50 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        verify: bool | str | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        deadline: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.graph_endpoint = validate_base_url(graph_endpoint, "Graph endpoint")
        self.api_root = f"{self.graph_endpoint}/{API_VERSION}"
        self._origin = _origin(self.graph_endpoint)
        self._token_provider = token_provider
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # Callers run up to a pacer's worth of threads on one client; keep their sockets.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.pacer = pacer
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_seconds = max_retry_seconds
        self.max_response_bytes = max_response_bytes
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.verify = verify
        self.user_agent = user_agent
        self.deadline = deadline
        self._wall_clock = wall_clock

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- single requests ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict | None:
        """The JSON object Graph answered, or None for an empty (204) answer."""
        answer = self._call(method, path, params=params, json_body=json, headers=headers)
        if answer.body is not None and not isinstance(answer.body, dict):
            raise MalformedResponseError(
                "expected a JSON object",
                status=answer.status,
                method=method.upper(),
                path=self._log_path(path),
            )
        return answer.body

    def get(self, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any) -> dict | None:
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> dict | None:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> dict | None:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> dict | None:
        return self.request("DELETE", path, **kwargs)

    # -- binary content (photos) -------------------------------------------------------

    def get_bytes(self, path: str) -> tuple[bytes, str]:
        """The raw content Graph answered (e.g. `.../photo/$value`) and its content type."""
        answer = self._call("GET", path, headers={"Accept": "*/*"}, binary=True)
        return answer.raw, _header(answer.headers, "Content-Type") or ""

    def put_bytes(self, path: str, data: bytes, content_type: str) -> None:
        """PUT raw content (an image): a request of its own, paced like the others. A PUT
        is idempotent, so it is retried as a PATCH is."""
        self._call("PUT", path, raw_body=data, content_type=content_type, binary=True)

    # -- threads -----------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, from the token provider (on the caller's thread)."""
        token = self._token_provider(False)
        if not token:
            raise AuthExpiredError("no access token available")
        return token

    def with_token(self, token: str) -> GraphClient:
        """The same client (session, pacer, deadline) with a fixed access token, for worker
        threads: the token provider may touch state that only its own thread may (a database
        cursor). When the token no longer serves, its calls raise StaleTokenError."""

        def fixed(force_refresh: bool) -> str:
            if force_refresh:
                raise StaleTokenError("the access token of a worker thread expired")
            return token

        twin = copy.copy(self)
        twin._token_provider = fixed
        twin._owns_session = False
        return twin

    # -- collections -------------------------------------------------------------------

    def iter_pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict]:
        """Items of a collection across @odata.nextLink, which is followed verbatim."""
        headers = _maxpagesize(page_size)
        url: str | None = path
        while url:
            page = self._collection_page("GET", url, params=params, headers=headers)
            yield from page["value"]
            url = page.get("@odata.nextLink")
            params = None  # the nextLink already carries them

    def delta(
        self,
        path_or_delta_link: str,
        *,
        select: Sequence[str] | None = None,
        page_size: int | None = 200,
        max_pages: int = 100_000,
    ) -> DeltaResult:
        """One full delta round; raises SyncStateLostError when a full resync is needed.

        Graph may repeat an item or send it after its removal; the last occurrence wins, so the
        result holds each id at most once, either in items or in removed (id -> reason).
        """
        headers = _maxpagesize(page_size)
        params = None
        if select and not _is_absolute(path_or_delta_link):
            params = {"$select": ",".join(select)}
        latest: dict[str, tuple[bool, Any]] = {}
        ambiguous: set[str] = set()
        url = path_or_delta_link
        pages = 0
        while True:
            if pages >= max_pages:
                raise MalformedResponseError(
                    f"delta did not end after {max_pages} pages", path=self._log_path(url)
                )
            page = self._collection_page("GET", url, params=params, headers=headers)
            pages += 1
            params = None
            for item in page["value"]:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise MalformedResponseError(
                        "delta item without an id", path=self._log_path(path_or_delta_link)
                    )
                item_id = item["id"]
                previous = latest.pop(item_id, None)  # re-insert: order follows the last one
                if previous is not None and previous[0] != ("@removed" in item):
                    ambiguous.add(item_id)
                if "@removed" in item:
                    removed = item["@removed"]
                    reason = removed.get("reason") if isinstance(removed, dict) else None
                    latest[item_id] = (True, reason or "deleted")
                else:
                    latest[item_id] = (False, item)
            next_link = page.get("@odata.nextLink")
            if next_link:
                url = next_link
                continue
            delta_link = page.get("@odata.deltaLink")
            if not delta_link or not isinstance(delta_link, str):
                raise MalformedResponseError(
                    "delta page with neither nextLink nor deltaLink",
                    path=self._log_path(path_or_delta_link),
                )
            self._check_url(delta_link)
            break
        items = [value for is_removed, value in latest.values() if not is_removed]
        removed = {key: value for key, (is_removed, value) in latest.items() if is_removed}
        return DeltaResult(
            items=items, removed=removed, delta_link=delta_link, pages=pages, ambiguous=ambiguous
        )

    def _collection_page(
        self, method: str, url: str, *, params: dict | None, headers: dict | None
    ) -> dict:
        answer = self._call(method, url, params=params, headers=headers)
        page = answer.body
        if not isinstance(page, dict) or not isinstance(page.get("value"), list):
            raise MalformedResponseError(
                "expected a collection page with a 'value' list",
                status=answer.status,
                method=method,
                path=self._log_path(url),
            )
        next_link = page.get("@odata.nextLink")
        if next_link is not None and not isinstance(next_link, str):
            raise MalformedResponseError("nextLink is not a string", path=self._log_path(url))
        return page

    # -- $batch ------------------------------------------------------------------------

    def batch(self, requests_: Sequence[BatchRequest]) -> list[BatchOutcome]:
        """One outcome per request, in input order; item failures are outcomes, not raises.

        Raises only when a whole $batch call fails after retries (auth, transport), or with
        PacingDeadlineError when throttling outlasts the deadline. Earlier chunks may have been
        applied by then (contacts created): the raised error carries them in `batch_outcomes`
        (input order, None where nothing is known or the request still has to be sent).
        """
        prepared = self._prepare_batch(requests_)
        outcomes: list[BatchOutcome | None] = [None] * len(prepared)
        start = 0
        while start < len(prepared):
            indexes = list(range(start, min(start + self._chunk_size(), len(prepared))))
            try:
                self._run_batch_chunk(prepared, indexes, outcomes)
            except GraphError as exc:
                # Stopped before sending (the deadline): only what still had to go is unknown.
                stopped = isinstance(exc, PacingDeadlineError)
                for index in indexes:
                    outcome = outcomes[index]
                    if outcome is None or outcome.ok:
                        continue
                    if not stopped or _still_to_send(prepared[index].method, outcome):
                        outcomes[index] = None  # its fate in the failed call is unknown
                exc.batch_outcomes = list(outcomes)
                raise
            start = indexes[-1] + 1
        return [outcome for outcome in outcomes if outcome is not None]

    def _chunk_size(self) -> int:
        # A $batch larger than the budget Graph enforces would be partly refused every time.
        if self.pacer is None:
            return BATCH_LIMIT
        return max(1, min(BATCH_LIMIT, self.pacer.batch_limit()))

    def _prepare_batch(self, requests_: Sequence[BatchRequest]) -> list[BatchRequest]:
        given = [r.id for r in requests_ if r.id is not None]
        if len(given) != len(set(given)):
            raise ValueError("batch request ids must be unique")
        taken = set(given)
        counter = 0
        prepared = []
        for original in requests_:
            request_id = original.id
            if request_id is None:
                counter += 1
                while str(counter) in taken:
                    counter += 1
                request_id = str(counter)
                taken.add(request_id)
            self._relative_url(original.url)  # refuse a bad url before any chunk is sent
            prepared.append(replace(original, id=str(request_id)))
        return prepared

    def _batch_item_json(self, request: BatchRequest) -> dict:
        headers = {str(k): str(v) for k, v in (request.headers or {}).items()}
        prefer = _merge_prefer(_header(headers, "Prefer"), IMMUTABLE_ID_PREFERENCE)
        _set_header(headers, "Prefer", prefer)
        item: dict[str, Any] = {
            "id": request.id,
            "method": request.method.upper(),
            "url": self._relative_url(request.url),
        }
        if request.body is not None:
            if _header(headers, "Content-Type") is None:
                headers["Content-Type"] = "application/json"
            item["body"] = request.body
        item["headers"] = headers
        return item

    def _run_batch_chunk(
        self,
        prepared: list[BatchRequest],
        indexes: list[int],
        outcomes: list[BatchOutcome | None],
    ) -> None:
        pending = indexes
        retries = 0
        throttled_rounds = 0
        started = self._clock()
        while pending:
            size = self._chunk_size()
            sending, later = pending[:size], pending[size:]
            items = [self._batch_item_json(prepared[i]) for i in sending]
            idempotent = all(item["method"] not in NON_IDEMPOTENT_METHODS for item in items)
            answer = self._call(
                "POST",
                "/$batch",
                json_body={"requests": items},
                concurrency=len(items),
                cost=len(items),
                idempotent=idempotent,
                started=started,
            )
            responses = answer.body.get("responses") if isinstance(answer.body, dict) else None
            if not isinstance(responses, list):
                raise MalformedResponseError(
                    "$batch answer without a 'responses' list",
                    status=answer.status,
                    method="POST",
                    path="/$batch",
                )
            by_id: dict[str, dict] = {}
            for response in responses:
                if isinstance(response, dict) and response.get("id") is not None:
                    by_id[str(response["id"])] = response
            to_retry: list[int] = []
            waits: list[float] = []
            kinds: list[str] = []
            for index in sending:
                request = prepared[index]
                outcome = self._batch_outcome(request, by_id.get(request.id))
                outcomes[index] = outcome
                kind = _throttle_kind(outcome.status, outcome.body, outcome.error)
                if kind is not None:
                    kinds.append(kind)
                    to_retry.append(index)
                    if outcome.error is not None and outcome.error.retry_after is not None:
                        waits.append(outcome.error.retry_after)
                elif _item_retriable(request.method, outcome):
                    to_retry.append(index)
            if kinds:
                # Throttled items were not carried out: they go again, as often as the deadline
                # allows, after the longest Retry-After (the whole mailbox waits with them).
                delay = max(waits) if waits else backoff_delay(throttled_rounds, self._rng)
                kind = RATE if RATE in kinds else min(kinds)
                self._wait_throttled(
                    delay, kind, answer.grant, len(kinds), "POST", "/$batch", started
                )
                throttled_rounds += 1
            elif to_retry:
                delay = backoff_delay(retries, self._rng)
                if not self._may_retry(retries, started, delay):
                    to_retry = []  # the retriable items keep their ServerError outcome
                else:
                    self._sleep(delay)
                    retries += 1
            pending = to_retry + later

    def _batch_outcome(self, request: BatchRequest, response: dict | None) -> BatchOutcome:
        path = _strip_query(self._relative_url(request.url))
        method = request.method.upper()
        if response is None:
            error = MalformedResponseError(
                f"no answer for $batch item {request.id}", method=method, path=path
            )
            return BatchOutcome(request, 0, None, {}, error)
        status = response.get("status")
        if isinstance(status, bool) or not isinstance(status, int):
            error = MalformedResponseError(
                f"$batch item {request.id} answered without a status", method=method, path=path
            )
            return BatchOutcome(request, 0, response.get("body"), {}, error)
        raw_headers = response.get("headers")
        headers = (
            {str(k): str(v) for k, v in raw_headers.items()}
            if isinstance(raw_headers, dict)
            else {}
        )
        body = response.get("body")
        if 200 <= status <= 299:
            return BatchOutcome(request, status, body, headers, None)
        retry_after = parse_retry_after(_header(headers, "Retry-After"))
        error = error_from_response(
            status, body, headers=headers, retry_after=retry_after, method=method, path=path
        )
        return BatchOutcome(request, status, body, headers, error)

    # -- the one place that talks HTTP ---------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        concurrency: int = 1,
        cost: int = 1,
        idempotent: bool | None = None,
        started: float | None = None,
        raw_body: bytes | None = None,
        content_type: str | None = None,
        binary: bool = False,
    ) -> _Answer:
        method = method.upper()
        url = self._check_url(path)
        log_path = self._log_path(path)
        if idempotent is None:
            idempotent = method not in NON_IDEMPOTENT_METHODS
        request_headers = self._headers(headers)
        data = None
        if json_body is not None:
            data = jsonlib.dumps(json_body, separators=(",", ":")).encode()
            request_headers["Content-Type"] = "application/json"
        elif raw_body is not None:
            data = raw_body
            request_headers["Content-Type"] = content_type or "application/octet-stream"
        if started is None:
            started = self._clock()
        retries = 0
        throttled_rounds = 0
        refreshed = False
        force_refresh = False
        while True:
            limit = self._wait_limit(started)
            if self._wall_clock() > limit:
                raise PacingDeadlineError(
                    "the deadline of this run has passed",
                    retry_at=self._ready_at(),
                    method=method,
                    path=log_path,
                )
            token = self._token_provider(force_refresh)
            force_refresh = False
            if not token:
                raise AuthExpiredError("no access token available", method=method, path=log_path)
            request_headers["Authorization"] = f"Bearer {token}"
            try:
                answer = self._send_once(
                    method,
                    url,
                    params,
                    data,
                    request_headers,
                    concurrency,
                    cost,
                    limit - self._wall_clock(),
                    binary,
                )
            except PacingDeadlineError as exc:
                raise PacingDeadlineError(
                    exc.message,
                    retry_at=self._wall_clock() + (exc.retry_after or 0.0),
                    retry_after=exc.retry_after,
                    method=method,
                    path=log_path,
                ) from None
            except _TransportFailure as failure:
                retriable = not failure.is_tls and (idempotent or not failure.maybe_sent)
                delay = backoff_delay(retries, self._rng)
                if retriable and self._may_retry(retries, started, delay):
                    self._sleep(delay)
                    retries += 1
                    continue
                # Not chained: the requests error's text carries the URL with its query
                # (delta and skip tokens), which must not reach the logs.
                raise TransportError(
                    failure.describe(retries), method=method, path=log_path
                ) from None

            status = answer.status
            if 200 <= status <= 299:
                return answer
            if status == 401 and not refreshed:
                refreshed = True
                force_refresh = True
                continue
            retry_after = parse_retry_after(_header(answer.headers, "Retry-After"))
            kind = _throttle_kind(status, answer.body, None, retry_after)
            if kind is not None:
                # Refused before any processing: even a POST goes again, after the pause.
                delay = retry_after if retry_after else backoff_delay(throttled_rounds, self._rng)
                self._wait_throttled(delay, kind, answer.grant, cost, method, log_path, started)
                throttled_rounds += 1
                continue
            if status in RETRIABLE_STATUSES and idempotent:
                delay = backoff_delay(retries, self._rng)
                if self._may_retry(retries, started, delay):
                    self._sleep(delay)
                    retries += 1
                    continue
            raise error_from_response(
                status,
                answer.body,
                headers=answer.headers,
                retry_after=retry_after,
                method=method,
                path=log_path,
                fallback_text=None if answer.body is not None else answer.text[:200] or None,
            )

    def _send_once(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        data: bytes | None,
        headers: dict[str, str],
        concurrency: int,
        cost: int,
        max_wait: float | None = None,
        binary: bool = False,
    ) -> _Answer:
        pacing = (
            self.pacer.slot(concurrency, cost, max_wait=max_wait)
            if self.pacer is not None
            else _no_pacing()
        )
        kwargs: dict[str, Any] = {
            "params": params,
            "data": data,
            "headers": headers,
            "timeout": self.timeout,
            "stream": True,
            # A redirect would either drop the Authorization header or carry it elsewhere.
            "allow_redirects": False,
        }
        if self.verify is not None:
            # REQUESTS_CA_BUNDLE in the environment beats Session.verify; per request wins.
            kwargs["verify"] = self.verify
        with pacing as grant:
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise _TransportFailure(exc, maybe_sent=False, is_tls=True) from exc
            except requests.exceptions.RequestException as exc:
                raise _TransportFailure(exc, maybe_sent=_maybe_sent(exc)) from exc
            try:
                raw = self._read_capped(response, method, url)
            except requests.exceptions.RequestException as exc:
                raise _TransportFailure(exc, maybe_sent=True) from exc
            finally:
                response.close()
        headers = dict(response.headers)
        if binary and 200 <= response.status_code <= 299:
            return _Answer(response.status_code, headers, None, "", grant, raw)
        text = raw.decode(response.encoding or "utf-8", errors="replace") if raw else ""
        body = None
        if raw.strip():
            try:
                body = jsonlib.loads(raw)
            except ValueError:
                if 200 <= response.status_code <= 299:
                    raise MalformedResponseError(
                        "the answer is not JSON",
                        status=response.status_code,
                        method=method,
                        path=self._log_path(url),
                        request_id=_header(headers, "request-id"),
                    ) from None
        return _Answer(response.status_code, headers, body, text, grant)

    def _read_capped(self, response: requests.Response, method: str, url: str) -> bytes:
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise self._oversized(response, method, url)
        chunks = []
        size = 0
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > limit:
                raise self._oversized(response, method, url)
            chunks.append(chunk)
        return b"".join(chunks)

    def _oversized(self, response: requests.Response, method: str, url: str) -> GraphError:
        return MalformedResponseError(
            f"the answer is larger than {self.max_response_bytes} bytes",
            status=response.status_code,
            method=method,
            path=self._log_path(url),
            request_id=response.headers.get("request-id"),
        )

    def _may_retry(self, retries: int, started: float, delay: float) -> bool:
        if retries >= self.max_retries:
            return False
        if self.deadline is not None and self._wall_clock() + delay > self.deadline:
            return False
        return (self._clock() - started) + delay <= self.max_retry_seconds

    def _wait_limit(self, started: float) -> float:
        """Wall-clock time after which no throttling wait may end, for a call begun at `started`."""
        if self.deadline is not None:
            return float(self.deadline)
        return self._wall_clock() + self.max_retry_seconds - (self._clock() - started)

    def _ready_at(self) -> float:
        if self.pacer is None:
            return self._wall_clock()
        return self._wall_clock() + self.pacer.wait_time()

    def _wait_throttled(
        self,
        delay: float,
        kind: str,
        grant: Grant | None,
        refused: int,
        method: str,
        path: str,
        started: float | None = None,
    ) -> None:
        """Wait as Graph asked: the pacer holds the whole mailbox, else this call sleeps."""
        if self.pacer is not None:
            # The wait itself happens when the retry asks the pacer for a slot; it raises
            # PacingDeadlineError there if the pause outlasts the deadline.
            self.pacer.throttled(delay, kind=kind, grant=grant, refused=refused)
            return
        limit = self._wait_limit(self._clock() if started is None else started)
        if self._wall_clock() + delay > limit:
            raise PacingDeadlineError(
                "Retry-After ends after the deadline of this run",
                retry_at=self._wall_clock() + delay,
                retry_after=delay,
                method=method,
                path=path,
            )
        self._sleep(delay)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in (extra or {}).items()}
        prefer = _merge_prefer(_header(headers, "Prefer"), IMMUTABLE_ID_PREFERENCE)
        _set_header(headers, "Prefer", prefer)
        _set_header(headers, "Accept", _header(headers, "Accept") or "application/json")
        _set_header(headers, "User-Agent", self.user_agent)
        _set_header(headers, "client-request-id", str(uuid.uuid4()))
        return headers

    # -- URLs --------------------------------------------------------------------------

    def _check_url(self, path: str) -> str:
        """Absolute URL to call; the token only ever goes to the configured Graph host."""
        if not isinstance(path, str) or not path:
            raise ValueError("empty Graph path")
        if _is_absolute(path):
            if _origin(path) != self._origin or not urlsplit(path).path.startswith("/"):
                raise MalformedResponseError(
                    "refusing to follow a link outside the configured Graph endpoint",
                    path=_strip_query(urlsplit(path).path or "/"),
                )
            return path
        return f"{self.api_root}/{path.lstrip('/')}"

    def _relative_url(self, url: str) -> str:
        """$batch items take URLs relative to the API version root."""
        if _is_absolute(url):
            absolute = self._check_url(url)
            if not absolute.startswith(self.api_root + "/"):
                raise ValueError(f"$batch url outside {API_VERSION}: {_strip_query(url)}")
            return absolute[len(self.api_root) :]
        return "/" + url.lstrip("/")

    def _log_path(self, path: str) -> str:
        if _is_absolute(path):
            path = urlsplit(path).path
            if path.startswith(f"/{API_VERSION}/"):
                path = path[len(API_VERSION) + 1 :]
        return _strip_query(path)


class _TransportFailure(Exception):
    def __init__(self, cause: Exception, *, maybe_sent: bool, is_tls: bool = False) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.maybe_sent = maybe_sent
        self.is_tls = is_tls

    def describe(self, retries: int) -> str:
        if self.is_tls:
            kind = "TLS handshake or certificate verification failed"
        elif isinstance(self.cause, requests.exceptions.ConnectTimeout):
            kind = "connection timed out"
        elif isinstance(self.cause, requests.exceptions.Timeout) or (
            self.cause.args and isinstance(self.cause.args[0], ReadTimeoutError)
        ):
            kind = "no answer within the read timeout"
        elif isinstance(self.cause, requests.exceptions.ChunkedEncodingError):
            kind = "the answer was cut off"
        else:
            kind = "connection failed or was dropped"
        suffix = f" after {retries + 1} attempts" if retries else ""
        return f"{kind}{suffix} ({type(self.cause).__name__})"


class _no_pacing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def _maybe_sent(exc: requests.exceptions.RequestException) -> bool:
    """False only when the request certainly never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.ReadTimeout
    ):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return False
    return True


def _item_retriable(method: str, outcome: BatchOutcome) -> bool:
    """A 503 without Retry-After or a 504: retried for reads and updates, never for a POST."""
    if outcome.status not in BATCH_ITEM_RETRIABLE_STATUSES:
        return False
    return method.upper() not in NON_IDEMPOTENT_METHODS


def _still_to_send(method: str, outcome: BatchOutcome) -> bool:
    kind = _throttle_kind(outcome.status, outcome.body, outcome.error)
    return kind is not None or _item_retriable(method, outcome)


def _throttle_kind(
    status: int,
    body: Any,
    error: GraphError | None,
    retry_after: float | None = None,
) -> str | None:
    """RATE, CONCURRENCY or UNAVAILABLE when Graph refused the request to pace us, else None."""
    if error is not None and retry_after is None:
        retry_after = error.retry_after
    if status == 503:
        return UNAVAILABLE if retry_after is not None else None
    if status != 429:
        return None
    message = error.message if error is not None else None
    if message is None:
        _code, message, _request_id = graph_error_fields(body)
    # Outlook names the limit it applied: "... over its MailboxConcurrency limit".
    if message and "concurrency" in message.lower():
        return CONCURRENCY
    return RATE


def _is_absolute(path: str) -> bool:
    lowered = path[:8].lower()
    return lowered.startswith("https://") or lowered.startswith("http://")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0].split("#", 1)[0]


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


def _merge_prefer(existing: str | None, *preferences: str) -> str:
    """One Prefer header, comma-separated, each preference once (by its name)."""
    merged: list[str] = []
    names: set[str] = set()
    for part in [*(existing or "").split(","), *preferences]:
        part = part.strip()
        if not part:
            continue
        name = part.split("=", 1)[0].strip().lower()
        if name in names:
            continue
        names.add(name)
        merged.append(part)
    return ", ".join(merged)


def _maxpagesize(page_size: int | None) -> dict[str, str] | None:
    if not page_size:
        return None
    return {"Prefer": f"odata.maxpagesize={int(page_size)}"}
