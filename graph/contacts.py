"""One Outlook contacts folder of the signed-in mailbox: the contacts twin of directory.py.

Everything the sync asks of Graph about contacts goes through `ContactFolder`: finding or
creating the folder, the delta round (with the full read a lost sync state calls for),
reading items by id with an extended property, and writes in `$batch` with their partial
failures unpacked once. Nothing above graph/ builds a Graph URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from .client import BatchRequest, DeltaResult, GraphClient, StaleTokenError
from .errors import (
    AuthExpiredError,
    GraphError,
    NotFoundError,
    PacingDeadlineError,
    SyncStateLostError,
)

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
# Photo requests at once without a pacer: Outlook's documented concurrency per mailbox.
PHOTO_WORKERS = 4


@dataclass(frozen=True)
class ContactWrite:
    """One write: a new contact (`body`), a PATCH (`body`), or a DELETE of `contact_id`; a PATCH
    or DELETE with `if_match` (a change key) is refused (412) when the contact changed since."""

    op: str
    contact_id: str | None = None
    body: Any = None
    if_match: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """What Outlook answered to one write. A DELETE of a contact already gone counts as done."""

    ok: bool
    contact_id: str | None = None  # the new contact's id for a create
    change_key: str | None = None
    error: str = ""
    status: int | None = None  # Outlook's HTTP status, when it answered


@dataclass(frozen=True)
class PhotoRead:
    """A contact's photo as Outlook holds it: `data` None when it has none; not `ok` when it
    could not be read (`error` says why)."""

    ok: bool
    data: bytes | None = None
    content_type: str = ""
    error: str = ""


@dataclass(frozen=True)
class PhotoWrite:
    """A photo to put on a contact (`data`, `content_type`), or its removal (`data` None)."""

    contact_id: str
    data: bytes | None = None
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class PhotoResult:
    """What Outlook answered to a photo write. `refused`: Outlook answered no for this photo
    (too large, not an image...): sending the same one again would fail again."""

    ok: bool
    error: str = ""
    refused: bool = False


@dataclass(frozen=True)
class FolderChanges:
    """A delta round: `full` when it read the whole folder (first round, or a lost state)."""

    items: list[dict]
    removed: set[str]
    ambiguous: set[str]
    delta_link: str
    full: bool


def _folder_path(folder_id: str) -> str:
    return f"/me/contactFolders/{quote(folder_id, safe='')}"


def _literal(text: str) -> str:
    """An OData string literal: quoted, its quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def _contact_path(contact_id: str) -> str:
    return f"/me/contacts/{quote(contact_id, safe='')}"


_STALE = object()  # a worker's result: its token expired, the call goes again on the caller's


class ContactFolder:
    def __init__(self, client: GraphClient, folder_id: str) -> None:
        self.client = client
        self.id = folder_id

    # -- finding the folder ---------------------------------------------------------------

    @classmethod
    def find(cls, client: GraphClient, name: str) -> ContactFolder | None:
        """The folder of this display name (case ignored) under the default Contacts folder."""
        wanted = name.strip().lower()
        for folder in client.iter_pages("/me/contactFolders"):
            if isinstance(folder, dict) and (folder.get("displayName") or "").lower() == wanted:
                return cls(client, folder["id"])
        return None

    @classmethod
    def add(cls, client: GraphClient, name: str) -> ContactFolder:
        folder = client.post("/me/contactFolders", json={"displayName": name.strip()})
        return cls(client, folder["id"])

    @classmethod
    def default(cls, client: GraphClient) -> ContactFolder | None:
        """The mailbox's default Contacts folder: the parent of its contacts, or of its
        folders; None while it holds neither (nothing to read there yet)."""
        for path, params in (
            ("/me/contacts", {"$top": 1, "$select": "parentFolderId"}),
            ("/me/contactFolders", {"$top": 1}),
        ):
            page = client.get(path, params=params) or {}
            values = page.get("value") if isinstance(page, dict) else None
            if values and isinstance(values[0], dict) and values[0].get("parentFolderId"):
                return cls(client, values[0]["parentFolderId"])
        return None

    def exists(self) -> bool:
        try:
            self.client.get(_folder_path(self.id))
        except NotFoundError:
            return False
        return True

    # -- reading --------------------------------------------------------------------------

    def changes(self, delta_link: str | None = None) -> FolderChanges:
        """The changes since `delta_link`, or the whole folder without one or when Graph lost
        the sync state (410): then `full` is set and what is missing counts as removed."""
        start = f"{_folder_path(self.id)}/contacts/delta"
        full = not delta_link
        try:
            result: DeltaResult = self.client.delta(delta_link or start)
        except SyncStateLostError:
            full = True
            result = self.client.delta(start)
        return FolderChanges(
            items=result.items,
            removed=set(result.removed),
            ambiguous=set(result.ambiguous),
            delta_link=result.delta_link,
            full=full,
        )

    def read_contacts(self, ids: Sequence[str], property_id: str) -> dict[str, dict | None | bool]:
        """id -> the contact with the single-value extended property `property_id` (delta
        cannot expand it), None when it is gone, False when it could not be read now."""
        if not ids:
            return {}
        expand = f"singleValueExtendedProperties($filter=id eq '{property_id}')"
        query = urlencode({"$expand": expand}, quote_via=quote)
        requests_ = [
            BatchRequest("GET", f"{_contact_path(oid)}?{query}", id=str(index))
            for index, oid in enumerate(ids)
        ]
        outcomes, _error = self._batch(requests_)
        found: dict[str, dict | None | bool] = dict.fromkeys(ids, False)
        for index, outcome in outcomes.items():
            if outcome.ok and isinstance(outcome.body, dict):
                found[ids[index]] = outcome.body
            elif outcome.status == 404:
                found[ids[index]] = None
        return found

    def find_by_property(self, property_id: str, values: Sequence[str]) -> dict[str, Any]:
        """value -> a contact of the folder carrying the single-value extended property
        `property_id` with that value (its id and change key), None when none does, False when
        it could not be read now. One request per value, in `$batch`."""
        if not values:
            return {}
        requests_ = []
        for index, value in enumerate(values):
            condition = (
                f"singleValueExtendedProperties/Any(ep: ep/id eq {_literal(property_id)} "
                f"and ep/value eq {_literal(value)})"
            )
            query = urlencode(
                {"$filter": condition, "$select": "id,changeKey", "$top": 1}, quote_via=quote
            )
            requests_.append(
                BatchRequest("GET", f"{_folder_path(self.id)}/contacts?{query}", id=str(index))
            )
        outcomes, _error = self._batch(requests_)
        found: dict[str, Any] = dict.fromkeys(values, False)
        for index, outcome in outcomes.items():
            page = outcome.body if outcome.ok and isinstance(outcome.body, dict) else None
            items = page.get("value") if page else None
            if isinstance(items, list):
                found[values[index]] = next(
                    (i for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)),
                    None,
                )
        return found

    # -- writing --------------------------------------------------------------------------

    def write_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        """One result per write, in order. A failure of the whole call (but an expired
        sign-in, which ends the sync) fails the writes Outlook did not answer, with its
        reason; what Outlook did answer before it stays known.

        When Graph asks to wait past the client's deadline, PacingDeadlineError is raised with
        `write_results`: the results of what was sent, None for what was not (nothing failed:
        it is for the next run)."""
        requests_ = [self._request(write, index) for index, write in enumerate(writes)]
        try:
            outcomes, error = self._batch(requests_)
        except PacingDeadlineError as paused:
            answered = {
                int(o.request.id): o for o in (paused.batch_outcomes or []) if o is not None
            }
            paused.write_results = [
                self._result(write, answered[index]) if index in answered else None
                for index, write in enumerate(writes)
            ]
            raise
        results = []
        for index, write in enumerate(writes):
            outcome = outcomes.get(index)
            if outcome is None:
                results.append(WriteResult(False, error=str(error or "no answer from Outlook")))
            else:
                results.append(self._result(write, outcome))
        return results

    @staticmethod
    def _result(write: ContactWrite, outcome: Any) -> WriteResult:
        gone_already = write.op == DELETE and outcome.status == 404
        if not outcome.ok and not gone_already:
            return WriteResult(False, error=str(outcome.error), status=outcome.status)
        body = outcome.body if isinstance(outcome.body, dict) else {}
        change_key = body.get("changeKey")
        return WriteResult(
            True,
            contact_id=body.get("id") if write.op == CREATE else write.contact_id,
            change_key=change_key if isinstance(change_key, str) else None,
            status=outcome.status,
        )

    def _request(self, write: ContactWrite, index: int) -> BatchRequest:
        if write.op == CREATE:
            url = f"{_folder_path(self.id)}/contacts"
            return BatchRequest("POST", url, body=dict(write.body), id=str(index))
        url = _contact_path(write.contact_id)
        headers = {"If-Match": f'W/"{write.if_match}"'} if write.if_match else None
        if write.op == UPDATE:
            return BatchRequest("PATCH", url, body=dict(write.body), headers=headers, id=str(index))
        if write.op == DELETE:
            return BatchRequest("DELETE", url, headers=headers, id=str(index))
        raise ValueError(f"unknown contact write {write.op!r}")

    # -- photos ---------------------------------------------------------------------------
    #
    # A photo is raw bytes: `$batch` carries bodies as JSON (binary ones base64-encoded, a
    # third larger, and a whole $batch is one request body under Graph's 4 MB). Batching would
    # save round trips only: each request inside a $batch counts against the mailbox's limits
    # as a request of its own, and Outlook serves at most 4 of a mailbox's at once. So photos
    # go as requests of their own, through the same pacer, up to the concurrency the pacer
    # allows at once (worker threads), which is what a $batch would get from Outlook.

    def photo_path(self, contact_id: str) -> str:
        return f"{_folder_path(self.id)}/contacts/{quote(contact_id, safe='')}/photo/$value"

    def read_photos(self, ids: Sequence[str]) -> dict[str, PhotoRead]:
        """id -> the contact's photo (a contact without one answers 404: no photo).

        Throttling past the client's deadline and an expired sign-in are raised once the
        other reads ended, with `photo_results` (id -> PhotoRead of the reads done)."""

        def read(client: GraphClient, contact_id: str) -> PhotoRead:
            try:
                data, content_type = client.get_bytes(self.photo_path(contact_id))
            except NotFoundError:
                return PhotoRead(True)
            except (AuthExpiredError, PacingDeadlineError):
                raise
            except GraphError as error:
                return PhotoRead(False, error=str(error))
            return PhotoRead(True, data or None, content_type.split(";")[0].strip())

        ids = list(ids)
        return dict(zip(ids, self._concurrently(read, ids, "photo_results", ids), strict=True))

    def write_photos(self, writes: Sequence[PhotoWrite]) -> list[PhotoResult]:
        """One result per write, in order; a removal of a photo already gone counts as done.
        Raises as read_photos does, `photo_results` then a list (None: not done)."""

        def write(client: GraphClient, photo: PhotoWrite) -> PhotoResult:
            path = self.photo_path(photo.contact_id)
            try:
                if photo.data is None:
                    client.delete(path)
                else:
                    client.put_bytes(path, photo.data, photo.content_type)
            except NotFoundError as error:
                if photo.data is None:
                    return PhotoResult(True)
                return PhotoResult(False, str(error), refused=True)
            except (AuthExpiredError, PacingDeadlineError):
                raise
            except GraphError as error:
                refused = error.status is not None and 400 <= error.status <= 499
                return PhotoResult(False, str(error), refused=refused)
            return PhotoResult(True)

        return self._concurrently(write, list(writes), "photo_results")

    def _concurrently(
        self,
        call: Callable[[GraphClient, Any], Any],
        items: list,
        attribute: str,
        keys: list | None = None,
    ) -> list:
        """call(client, item) for each item, at most the pacer's concurrency at once, on
        worker threads that share this client's session and pacer with a fixed token."""
        if not items:
            return []
        pacer = self.client.pacer
        workers = max(1, min(len(items), pacer.concurrency if pacer else PHOTO_WORKERS))
        results: list = [None] * len(items)
        stop: BaseException | None = None
        if workers == 1:
            pending = list(range(len(items)))
        else:
            shared = self.client.with_token(self.client.access_token())

            def run(item):
                try:
                    return call(shared, item)
                except StaleTokenError:
                    return _STALE
                except (AuthExpiredError, PacingDeadlineError) as error:
                    return error

            with ThreadPoolExecutor(max_workers=workers) as pool:
                answers = list(pool.map(run, items))
            pending = []
            for index, answer in enumerate(answers):
                if answer is _STALE:
                    pending.append(index)  # again below, where the sign-in may be refreshed
                elif isinstance(answer, GraphError):
                    stop = stop or answer
                else:
                    results[index] = answer
        for index in pending if stop is None else ():
            try:
                results[index] = call(self.client, items[index])
            except (AuthExpiredError, PacingDeadlineError) as error:
                stop = error
                break
        if stop is not None:
            done = (
                results
                if keys is None
                else {key: result for key, result in zip(keys, results, strict=True) if result}
            )
            setattr(stop, attribute, done)
            raise stop
        return results

    def _batch(self, requests_: Iterable[BatchRequest]) -> tuple[dict[int, Any], GraphError | None]:
        """Outcomes by request index, and the error that cut the call short, if any."""
        try:
            outcomes = self.client.batch(list(requests_))
            error = None
        except (AuthExpiredError, PacingDeadlineError):
            raise
        except GraphError as exc:
            outcomes = [o for o in (exc.batch_outcomes or []) if o is not None]
            error = exc
        return {int(outcome.request.id): outcome for outcome in outcomes}, error
