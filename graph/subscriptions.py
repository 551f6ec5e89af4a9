"""Graph change notifications for one contacts folder: subscriptions, payloads, pacing (R12).

Graph calls this Odoo back when a contact of the synced folder changes, instead of waiting for
the next scheduled delta run. What lives here is the part without Odoo:

- `SubscriptionClient`: subscribe, renew (which reauthorizes) and delete a subscription through the
  account's `GraphClient` (paced per mailbox, typed errors like every other Graph call);
- `notification_urls`: the two public HTTPS addresses Graph posts to, from this Odoo's address;
- `parse_notifications`: the few facts a notification payload is trusted for (which
  subscription, its clientState, a lifecycle event), whatever else it holds or lacks;
- `validation_token`: Graph's handshake, answered before a subscription exists;
- `RateLimiter`: per subscription, in memory, bounded however many ids a sender invents.

A notification is never trusted beyond "this subscription saw a change": the sync that follows
reads Outlook through the delta query, as a scheduled run does.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from .client import GraphClient
from .errors import BadRequestError, GraphError, MalformedResponseError, NotFoundError

CHANGE_TYPES = "created,updated,deleted"
# Graph's longest lifetime for a subscription to Outlook personal contacts (10,080 minutes in
# today's documentation, 4,230 in earlier versions and some clouds); a request is a few
# minutes short of it so that clock skew does not push it over.
MAX_LIFETIME = timedelta(minutes=10_080)
FALLBACK_LIFETIME = timedelta(minutes=4_230)
LIFETIME_MARGIN = timedelta(minutes=15)
NOTIFICATION_PATH = "/microsoft_contacts/notifications"
LIFECYCLE_PATH = "/microsoft_contacts/notifications/lifecycle"
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
# clientState: Graph accepts up to 128 characters; 43 url-safe characters hold 256 bits.
CLIENT_STATE_BYTES = 32
MAX_CLIENT_STATE = 128
# What a payload may hold before it is read as garbage rather than as notifications.
MAX_VALIDATION_TOKEN = 1024
MAX_ITEMS = 1000
MAX_ID_LENGTH = 256


@dataclass(frozen=True)
class Subscription:
    """What Graph answered about a subscription."""

    id: str
    resource: str
    expires_at: datetime  # aware, UTC
    notification_url: str = ""


@dataclass(frozen=True)
class Notification:
    """One entry of a notification payload: the only facts the receiver acts on.

    `lifecycle_event` is None for a change notification (created / updated / deleted)."""

    subscription_id: str
    client_state: str | None
    lifecycle_event: str | None = None


def contacts_resource(folder_id: str) -> str:
    """The resource of a subscription to one contacts folder of the signed-in mailbox."""
    if not folder_id or "'" in folder_id:
        raise ValueError("a contacts folder id is needed, without quotes")
    return f"me/contactFolders('{folder_id}')/contacts"


def new_client_state() -> str:
    """A fresh secret Graph echoes in every notification of one subscription."""
    return secrets.token_urlsafe(CLIENT_STATE_BYTES)


def notification_urls(base_url: str) -> tuple[str, str]:
    """(notification URL, lifecycle notification URL) under `base_url`; ValueError if Graph
    cannot call it: Graph posts only to HTTPS addresses it can reach."""
    base = (base_url or "").strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(
            f"{base_url or '(empty)'} is not an https:// address: Microsoft Graph sends "
            "change notifications to HTTPS addresses only"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{base_url} must be a plain https://host[:port][/path] address")
    return base + NOTIFICATION_PATH, base + LIFECYCLE_PATH


def format_datetime(value: datetime) -> str:
    """Graph's ISO 8601 form, UTC with a Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(text: Any) -> datetime:
    """Graph's expirationDateTime (up to 7 decimals, Z or an offset) as an aware UTC datetime."""
    match = _ISO.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not an ISO 8601 date and time: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    value = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )
    return value.astimezone(timezone.utc)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SubscriptionClient:
    """Subscriptions of the signed-in mailbox (the client's token) through `GraphClient`."""

    def __init__(self, client: GraphClient, now: Callable[[], datetime] = _utcnow) -> None:
        self.client = client
        self._now = now

    def subscribe(
        self,
        folder_id: str,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        lifetime: timedelta = MAX_LIFETIME,
    ) -> Subscription:
        """Subscribe to the folder's contacts; Graph validates both URLs before it answers.

        A lifetime Graph refuses as too long is asked again with its older maximum.
        """
        if not 0 < len(client_state) <= MAX_CLIENT_STATE:
            raise ValueError("clientState must hold 1 to 128 characters")
        body = {
            "changeType": CHANGE_TYPES,
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": lifecycle_url,
            "resource": contacts_resource(folder_id),
            "expirationDateTime": self._expiry(lifetime),
            "clientState": client_state,
            "latestSupportedTlsVersion": "v1_2",
        }
        try:
            answer = self.client.post("/subscriptions", json=body)
        except BadRequestError as error:
            if lifetime <= FALLBACK_LIFETIME or not _about_expiration(error):
                raise
            body["expirationDateTime"] = self._expiry(FALLBACK_LIFETIME)
            answer = self.client.post("/subscriptions", json=body)
        return _subscription(answer, "POST")

    def renew(self, subscription_id: str, lifetime: timedelta = MAX_LIFETIME) -> Subscription:
        """Push the expiry out again (this also reauthorizes it); NotFoundError once it is gone."""
        path = _path(subscription_id)
        try:
            answer = self.client.patch(path, json={"expirationDateTime": self._expiry(lifetime)})
        except BadRequestError as error:
            if lifetime <= FALLBACK_LIFETIME or not _about_expiration(error):
                raise
            answer = self.client.patch(
                path, json={"expirationDateTime": self._expiry(FALLBACK_LIFETIME)}
            )
        return _subscription(answer, "PATCH")

    def delete(self, subscription_id: str) -> bool:
        """Delete it; False when Graph no longer knew it (expired or removed): same outcome."""
        try:
            self.client.delete(_path(subscription_id))
        except NotFoundError:
            return False
        return True

    def _expiry(self, lifetime: timedelta) -> str:
        return format_datetime(self._now() + lifetime - LIFETIME_MARGIN)


def _path(subscription_id: str) -> str:
    if not subscription_id:
        raise ValueError("a subscription id is needed")
    return f"/subscriptions/{quote(subscription_id, safe='')}"


def _about_expiration(error: GraphError) -> bool:
    return "expiration" in (error.message or "").lower()


def _subscription(answer: dict | None, method: str) -> Subscription:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
        raise MalformedResponseError(
            "subscription answer without an id", method=method, path="/subscriptions"
        )
    try:
        expires_at = parse_datetime(answer.get("expirationDateTime"))
    except ValueError as error:
        raise MalformedResponseError(str(error), method=method, path="/subscriptions") from error
    resource = answer.get("resource")
    url = answer.get("notificationUrl")
    return Subscription(
        id=answer["id"],
        resource=resource if isinstance(resource, str) else "",
        expires_at=expires_at,
        notification_url=url if isinstance(url, str) else "",
    )


def renewal_due(expires_at: datetime, now: datetime, ahead: timedelta) -> bool:
    """Whether a subscription expiring at `expires_at` should be renewed now."""
    return expires_at - now <= ahead


# -- what Graph posts -----------------------------------------------------------------------


def validation_token(query: dict[str, Any]) -> str | None:
    """The handshake's token (already URL-decoded by the web framework), or None when the
    request is not a handshake; ValueError for a token no handshake sends."""
    token = query.get("validationToken")
    if token is None:
        return None
    if not isinstance(token, str) or not 0 < len(token) <= MAX_VALIDATION_TOKEN:
        raise ValueError("validationToken is empty or too long")
    if any(ord(char) < 32 and char != "\t" for char in token):
        raise ValueError("validationToken holds control characters")
    return token


def parse_notifications(body: Any) -> tuple[list[Notification], int]:
    """(the notifications of a payload, how many entries were skipped as malformed).

    Only `subscriptionId`, `clientState` and `lifecycleEvent` are read: the resource, the
    change type and the item's id are Graph's business, never trusted nor needed.
    ValueError when the payload is no notification payload at all.
    """
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise ValueError("a notification payload is a JSON object with a 'value' list")
    entries = body["value"]
    notifications: list[Notification] = []
    skipped = max(len(entries) - MAX_ITEMS, 0)
    for entry in entries[:MAX_ITEMS]:
        if not isinstance(entry, dict):
            skipped += 1
            continue
        subscription_id = entry.get("subscriptionId")
        client_state = entry.get("clientState")
        event = entry.get("lifecycleEvent")
        if (
            not isinstance(subscription_id, str)
            or not 0 < len(subscription_id) <= MAX_ID_LENGTH
            or (client_state is not None and not isinstance(client_state, str))
            or (event is not None and event not in LIFECYCLE_EVENTS)
        ):
            skipped += 1
            continue
        notifications.append(Notification(subscription_id, client_state, event))
    return notifications, skipped


class RateLimiter:
    """A token bucket per key, in memory, for at most `max_keys` keys (least recently used
    ones are forgotten first: a sender inventing ids costs memory it cannot grow)."""

    def __init__(
        self,
        capacity: float = 20.0,
        per_second: float = 1.0,
        max_keys: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or per_second <= 0 or max_keys < 1:
            raise ValueError("capacity >= 1, per_second > 0 and max_keys >= 1 are needed")
        self.capacity = float(capacity)
        self.per_second = float(per_second)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the key is allowed again when it is not)."""
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return allowed, 0.0 if allowed else (1.0 - tokens) / self.per_second

    def clear(self) -> None:
        """Forget every key (a fresh start, e.g. between tests)."""
        with self._lock:
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)
