"""Graph change notifications: `/v1.0/subscriptions`, deliveries, lifecycle events, a relay.

- `POST /v1.0/subscriptions` checks the request as Graph does (change types, an HTTPS
  notification URL, the resource, an expiry within `subscription_max_minutes`, clientState
  <= 128 characters), then runs the validation handshake on the notification URL and the
  lifecycle URL (POST `?validationToken=...`, 200 text/plain with the token echoed, within
  `validation_timeout` seconds) before it answers 201; an endpoint that does not echo the token
  makes the subscription fail with 400. `GET` / `PATCH` (expirationDateTime) / `DELETE
  /v1.0/subscriptions/{id}`, `POST /v1.0/subscriptions/{id}/reauthorize`, `GET
  /v1.0/subscriptions`. A subscription past its expiry (simulated clock) is gone.
- Every contact created, updated or deleted in a subscribed folder (through Graph, `$batch` or
  the admin API alike) queues a notification; one background thread posts them, one POST per
  change, over HTTPS trusting the simulator's CA bundle. Faults in the simulator's style:
  `notification_drop_rate` / `notification_duplicate_rate`, and `inject_notification_fault(kind=
  "drop" | "duplicate" | "fail", count)` for the next ones. A failed delivery (an error status or
  no answer) is tried `notification_retries` more times, `notification_retry_delay` apart.
- Lifecycle events on demand: `send_lifecycle_event(id, "reauthorizationRequired" |
  "subscriptionRemoved" | "missed")` (subscriptionRemoved deletes it first, as Graph does).
- A relay, as a TLS-terminating reverse proxy or a tunnel in front of a web server: `add_relay(
  "http://127.0.0.1:PORT")` gives `https://127.0.0.1:SIM/_relay/ID`, whose requests go to that
  server with `X-Forwarded-*` headers. Graph notifies HTTPS addresses only: an HTTP test server
  (Odoo's HttpCase) is reached through it.

Only addresses on this machine are notified or relayed to (loopback), whatever a client asks.
"""

from __future__ import annotations

import collections
import http.client
import ipaddress
import json
import queue
import re
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

from graph_simulator import admin
from graph_simulator.common import GraphError, Response

CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
FAULT_KINDS = ("drop", "duplicate", "fail")
MAX_PER_MAILBOX = 1000
MAX_CLIENT_STATE = 128
NOTIFICATION_LOG_SIZE = 5000
DELIVERY_TIMEOUT = 10.0
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_RESOURCE = re.compile(
    r"^/?(?:me|users/(?P<user>[^/]+))/"
    r"(?:contactFolders(?:\('(?P<quoted>[^']+)'\)|/(?P<plain>[^/]+))/contacts|contacts)$",
    re.IGNORECASE,
)
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]00:?00)?$")
VALIDATION_FAILED = (
    "Subscription validation request failed. Notification endpoint must respond with 200 OK "
    "to validation request, with the validationToken as plain text."
)

DEFAULTS = {
    "subscription_max_minutes": 10_080,
    "validation_timeout": 10.0,
    "notification_drop_rate": 0.0,
    "notification_duplicate_rate": 0.0,
    "notification_delay": 0.0,
    "notification_retries": 2,
    "notification_retry_delay": 1.0,
}


def is_loopback(host):
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SubscriptionsMixin:
    """The GraphSimulator's change notifications (see the module docstring)."""

    def _reset_subscriptions(self):
        self._subscriptions = {}
        self._notification_log = collections.deque(maxlen=NOTIFICATION_LOG_SIZE)
        self._notification_faults = []
        self._relays = {}
        self._forget_pending_notifications()

    def _forget_pending_notifications(self):
        """Notifications queued before a reset or a restore never arrive after it."""
        notifier = getattr(self, "_notifier", None)
        if notifier is not None:
            notifier.generation += 1

    # ------------------------------------------------------------------ Python API
    def subscriptions(self):
        """Live subscriptions, clientState included (a test's view, not Graph's)."""
        with self._lock:
            self._expire_subscriptions()
            return [dict(_admin_view(sub)) for sub in self._subscriptions.values()]

    def expire_subscription(self, subscription_id):
        """Let it run out now, as if its expiry passed unrenewed."""
        with self._lock:
            self._live_subscription(subscription_id)["expires"] = self.now() - 1

    def send_lifecycle_event(self, subscription_id, event):
        """Post a lifecycle notification for the subscription, as Graph would."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {', '.join(LIFECYCLE_EVENTS)}")
        with self._lock:
            sub = self._live_subscription(subscription_id)
            if event == "reauthorizationRequired":
                sub["needs_reauth"] = True
            elif event == "subscriptionRemoved":
                del self._subscriptions[subscription_id]
            payload = {
                "subscriptionId": sub["id"],
                "subscriptionExpirationDateTime": _iso(sub["expires"]),
                "tenantId": sub["tenant_id"],
                "clientState": sub["clientState"],
                "lifecycleEvent": event,
            }
            url = sub["lifecycleNotificationUrl"] or sub["notificationUrl"]
            self._queue_notification(sub, url, payload, event)

    def notification_log(self):
        """Deliveries so far, oldest first: subscription_id, kind (created / updated /
        deleted or the lifecycle event), outcome (delivered / failed / dropped), status,
        attempts, duplicate, at (simulated epoch)."""
        with self._lock:
            return [dict(entry) for entry in self._notification_log]

    def clear_notification_log(self):
        with self._lock:
            self._notification_log.clear()

    def wait_notifications(self, count, timeout=10.0):
        """Block until the log holds `count` finished deliveries (or `timeout` real seconds
        passed); returns the log."""
        deadline = time.monotonic() + float(timeout)
        notifier = self._get_notifier()
        with notifier.done:
            while len(self._notification_log) < int(count):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                notifier.done.wait(left)
        return self.notification_log()

    def inject_notification_fault(self, kind="drop", count=1):
        """The next `count` notifications are dropped (never sent), sent twice, or answered by
        nobody (`fail`: as if the endpoint were unreachable, retries included)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"notification fault must be one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._notification_faults.append({"kind": kind, "count": int(count)})

    def add_relay(self, target):
        """An HTTPS address of this simulator that forwards to `target` (http, loopback)."""
        parts = urlsplit(target or "")
        if parts.scheme != "http" or not is_loopback(parts.hostname) or not parts.port:
            raise ValueError("a relay target is http://<loopback host>:<port>")
        with self._lock:
            relay_id = secrets.token_hex(6)
            self._relays[relay_id] = f"http://{parts.hostname}:{parts.port}"
            return {"id": relay_id, "url": f"{self.base_url}/_relay/{relay_id}"}

    # ------------------------------------------------------------------ internals
    def _expire_subscriptions(self):
        now = self.now()
        for sid in [s for s, sub in self._subscriptions.items() if sub["expires"] <= now]:
            del self._subscriptions[sid]

    def _live_subscription(self, subscription_id):
        self._expire_subscriptions()
        if subscription_id not in self._subscriptions:
            raise KeyError(f"no subscription {subscription_id!r}")
        return self._subscriptions[subscription_id]

    def _contact_changed(self, mb, contact, change_type):
        """Called by the contact model on every create / update / delete (lock held)."""
        if not self._subscriptions:
            return
        self._expire_subscriptions()
        user_id = next((uid for uid, box in self._mailboxes.items() if box is mb), None)
        for sub in list(self._subscriptions.values()):
            if (
                sub["user_id"] != user_id
                or sub["folder_id"] != contact["_folder"]
                or change_type not in sub["changeTypes"]
            ):
                continue
            cid = contact["id"]
            payload = {
                "subscriptionId": sub["id"],
                "subscriptionExpirationDateTime": _iso(sub["expires"]),
                "changeType": change_type,
                "resource": f"Users/{user_id}/Contacts/{cid}",
                "resourceData": {
                    "@odata.type": "#Microsoft.OutlookServices.Contact",
                    "@odata.id": f"Users/{user_id}/Contacts/{cid}",
                    "@odata.etag": f'W/"{contact.get("changeKey", "")}"',
                    "id": cid,
                },
                "clientState": sub["clientState"],
                "tenantId": sub["tenant_id"],
            }
            self._queue_notification(sub, sub["notificationUrl"], payload, change_type)

    def _queue_notification(self, sub, url, payload, kind):
        fault = None
        for entry in self._notification_faults:
            entry["count"] -= 1
            fault = entry["kind"]
            if entry["count"] <= 0:
                self._notification_faults.remove(entry)
            break
        if fault is None:
            if self.rng.random() < float(self.config["notification_drop_rate"]):
                fault = "drop"
            elif self.rng.random() < float(self.config["notification_duplicate_rate"]):
                fault = "duplicate"
        entry = {
            "subscription_id": sub["id"],
            "kind": kind,
            "url": url,
            "payload": {"value": [payload]},
            "fault": fault,
        }
        entry["generation"] = self._get_notifier().generation
        notifier = self._get_notifier()
        if fault == "drop":
            self._log_delivery(entry, "dropped", None, 0, False)
            return
        notifier.put(entry)
        if fault == "duplicate":
            notifier.put(dict(entry, duplicate=True))

    def _log_delivery(self, entry, outcome, status, attempts, duplicate):
        notifier = self._get_notifier()
        with self._lock:
            if entry["generation"] != notifier.generation:
                return
            self._notification_log.append(
                {
                    "subscription_id": entry["subscription_id"],
                    "kind": entry["kind"],
                    "outcome": outcome,
                    "status": status,
                    "attempts": attempts,
                    "duplicate": duplicate,
                    "at": self.now(),
                }
            )
        with notifier.done:
            notifier.done.notify_all()

    def _get_notifier(self):
        notifier = getattr(self, "_notifier", None)
        if notifier is None:
            with self._lock:
                notifier = getattr(self, "_notifier", None)
                if notifier is None:
                    notifier = self._notifier = _Notifier(self)
        return notifier

    def _stop_notifier(self):
        notifier = getattr(self, "_notifier", None)
        if notifier is not None:
            notifier.stop()
            self._notifier = None

    def _ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_bundle_path)


class _Notifier:
    """One thread that posts queued notifications in order, as Graph's delivery does."""

    def __init__(self, sim):
        self.sim = sim
        self.queue = queue.Queue()
        self.done = threading.Condition(threading.Lock())
        self.generation = 0
        self.thread = threading.Thread(target=self._run, name="graph-sim-notifier", daemon=True)
        self.thread.start()

    def put(self, entry):
        self.queue.put(entry)

    def stop(self):
        self.queue.put(None)
        self.thread.join(timeout=5)

    def _run(self):
        while True:
            entry = self.queue.get()
            if entry is None:
                return
            try:
                self._deliver(entry)
            except Exception as exc:  # never let one delivery stop the others
                self.sim._log_delivery(entry, f"error: {exc}", None, 0, False)

    def _deliver(self, entry):
        sim = self.sim
        delay = float(sim.config["notification_delay"])
        if delay:
            time.sleep(delay)
        retries = int(sim.config["notification_retries"])
        status = None
        attempts = 0
        for attempt in range(retries + 1):
            if entry["generation"] != self.generation:
                return
            attempts = attempt + 1
            if entry.get("fault") == "fail":
                status = None
            else:
                status = _post_json(sim, entry["url"], entry["payload"])
            if status is not None and 200 <= status < 300:
                sim._log_delivery(entry, "delivered", status, attempts, entry.get("duplicate"))
                return
            if attempt < retries:
                time.sleep(float(sim.config["notification_retry_delay"]))
        sim._log_delivery(entry, "failed", status, attempts, bool(entry.get("duplicate")))


def _post_json(sim, url, payload):
    data = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(
            request, timeout=DELIVERY_TIMEOUT, context=sim._ssl_context()
        ) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, http.client.HTTPException):
        return None


def _handshake(sim, url):
    """Graph's validation request: True when `url` echoes the token as 200 text/plain."""
    token = (
        "Validation: Testing client application reachability for subscription Request-Id: "
        + secrets.token_hex(16)
    )
    request = urllib.request.Request(
        f"{url}{'&' if '?' in url else '?'}validationToken={quote(token, safe='')}",
        data=b"",
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(
            request,
            timeout=float(sim.config["validation_timeout"]),
            context=sim._ssl_context(),
        ) as response:
            body = response.read(4096).decode("utf-8", "replace")
            ctype = response.headers.get("Content-Type") or ""
            return response.status == 200 and body == token and ctype.startswith("text/plain")
    except (OSError, http.client.HTTPException, ValueError):
        return False


def _iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse_iso(text):
    match = re.match(
        r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]00:?00)?$", text or ""
    )
    if not match:
        raise GraphError(
            400, "InvalidRequest", f"expirationDateTime {text!r} is not a valid date and time."
        )
    stamp = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _render(sub):
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": sub["id"],
        "resource": sub["resource"],
        "applicationId": sub["client_id"],
        "changeType": ",".join(sorted(sub["changeTypes"])),
        "clientState": None,
        "notificationUrl": sub["notificationUrl"],
        "lifecycleNotificationUrl": sub["lifecycleNotificationUrl"],
        "expirationDateTime": _iso(sub["expires"]),
        "creatorId": sub["user_id"],
        "latestSupportedTlsVersion": sub["latestSupportedTlsVersion"],
    }


def _admin_view(sub):
    view = _render(sub)
    view.pop("@odata.context")
    view.update(
        clientState=sub["clientState"],
        folderId=sub["folder_id"],
        userId=sub["user_id"],
        needsReauthorization=sub["needs_reauth"],
        expires=sub["expires"],
    )
    return view


def _check_url(value, name, required):
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise GraphError(400, "InvalidRequest", f"{name} is required.")
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise GraphError(400, "InvalidRequest", f"The {name} must use the HTTPS scheme.")
    if not is_loopback(parts.hostname):
        raise GraphError(
            400,
            "InvalidRequest",
            f"The simulator only notifies addresses on this machine; {name} is {value}.",
        )
    return value


def _expiry(sim, text):
    expires = _parse_iso(text)
    now = sim.now()
    minutes = int(sim.config["subscription_max_minutes"])
    if expires <= now:
        raise GraphError(400, "InvalidRequest", "Subscription expiration must be in the future.")
    if expires > now + minutes * 60:
        raise GraphError(
            400,
            "InvalidRequest",
            f"Subscription expiration can only be {minutes} minutes in the future.",
        )
    return expires


# ====================================================================== Graph routes
def handle(sim, req, principal, segs):
    """`/v1.0/subscriptions[/{id}[/reauthorize]]` for a delegated principal."""
    from graph_simulator.graph import error_response, mailbox_key

    low = [s.lower() for s in segs]
    kind = "subscriptions"
    try:
        if principal["kind"] != "user":
            raise GraphError(
                403, "ExtensionError", "Subscriptions to contacts need a delegated token here."
            )
        if len(segs) == 1 and req.method == "POST":
            kind, resp = "subscriptions.create", _create(sim, req, principal)
        elif len(segs) == 1 and req.method == "GET":
            kind, resp = "subscriptions.list", _list(sim, principal)
        elif len(segs) == 2 and req.method in ("GET", "PATCH", "DELETE"):
            kind = f"subscriptions.{req.method.lower()}"
            resp = _one(sim, req, principal, segs[1])
        elif len(segs) == 3 and low[2] == "reauthorize" and req.method == "POST":
            kind, resp = "subscriptions.reauthorize", _reauthorize(sim, principal, segs[1])
        else:
            raise GraphError(
                405, "MethodNotAllowed", f"The HTTP method '{req.method}' is not allowed."
            )
    except GraphError as exc:
        resp = error_response(sim, exc)
    sim._count(req.method, req.path, resp.status, mailbox_key(principal), kind)
    return resp


def _body(req):
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError):
        raise GraphError(400, "BadRequest", "Invalid JSON in the request body.") from None
    if not isinstance(body, dict):
        raise GraphError(
            400, "BadRequest", "Expected a JSON object (microsoft.graph.subscription)."
        )
    return body


def _create(sim, req, principal):
    body = _body(req)
    change_types = {c.strip() for c in str(body.get("changeType") or "").split(",") if c.strip()}
    if not change_types or change_types - CHANGE_TYPES:
        raise GraphError(
            400, "InvalidRequest", "changeType must be created, updated and/or deleted."
        )
    url = _check_url(body.get("notificationUrl"), "notificationUrl", True)
    lifecycle = _check_url(body.get("lifecycleNotificationUrl"), "lifecycleNotificationUrl", False)
    client_state = body.get("clientState")
    if client_state is not None and (
        not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE
    ):
        raise GraphError(400, "InvalidRequest", "clientState holds at most 128 characters.")
    resource = body.get("resource")
    match = _RESOURCE.match(resource) if isinstance(resource, str) else None
    if not match:
        raise GraphError(400, "InvalidRequest", f"Unsupported resource {resource!r}.")
    user_id = principal["user_id"]
    with sim._lock:
        if match.group("user") and match.group("user") not in (
            user_id,
            sim._users[user_id]["userPrincipalName"],
        ):
            raise GraphError(403, "ExtensionError", "Access is denied to this mailbox.")
        mb = sim._mailbox(user_id)
        folder_id = match.group("quoted") or match.group("plain") or mb["default"]
        if folder_id not in mb["folders"]:
            raise GraphError(404, "ErrorItemNotFound", "The specified folder was not found.")
        expires = _expiry(sim, body.get("expirationDateTime"))
        sim._expire_subscriptions()
        if sum(s["user_id"] == user_id for s in sim._subscriptions.values()) >= MAX_PER_MAILBOX:
            raise GraphError(
                403, "ExtensionError", "This mailbox has reached its limit of subscriptions."
            )
    # The handshakes leave the lock: the endpoint may call the simulator meanwhile.
    for address in filter(None, (url, lifecycle)):
        if not _handshake(sim, address):
            raise GraphError(400, "InvalidRequest", VALIDATION_FAILED)
    with sim._lock:
        sub = {
            "id": sim.guid(),
            "resource": resource,
            "changeTypes": change_types,
            "notificationUrl": url,
            "lifecycleNotificationUrl": lifecycle,
            "clientState": client_state,
            "expires": expires,
            "user_id": user_id,
            "tenant_id": principal["tenant_id"],
            "client_id": principal["client_id"],
            "folder_id": folder_id,
            "needs_reauth": False,
            "latestSupportedTlsVersion": body.get("latestSupportedTlsVersion") or "v1_2",
        }
        sim._subscriptions[sub["id"]] = sub
        return Response(201, _render(sub))


def _owned(sim, principal, subscription_id):
    sim._expire_subscriptions()
    sub = sim._subscriptions.get(subscription_id)
    if sub is None or sub["user_id"] != principal["user_id"]:
        raise GraphError(
            404, "ResourceNotFound", f"The object was not found: subscription {subscription_id}."
        )
    return sub


def _list(sim, principal):
    with sim._lock:
        sim._expire_subscriptions()
        subs = [s for s in sim._subscriptions.values() if s["user_id"] == principal["user_id"]]
        return Response(200, {"value": [_render(s) for s in subs]})


def _one(sim, req, principal, subscription_id):
    with sim._lock:
        sub = _owned(sim, principal, subscription_id)
        if req.method == "GET":
            return Response(200, _render(sub))
        if req.method == "DELETE":
            del sim._subscriptions[sub["id"]]
            return Response(204)
        body = _body(req)
        unknown = set(body) - {"expirationDateTime"}
        if unknown:
            raise GraphError(
                400, "InvalidRequest", f"Only expirationDateTime can be updated, not {unknown}."
            )
        sub["expires"] = _expiry(sim, body.get("expirationDateTime"))
        sub["needs_reauth"] = False
        return Response(200, _render(sub))


def _reauthorize(sim, principal, subscription_id):
    with sim._lock:
        _owned(sim, principal, subscription_id)["needs_reauth"] = False
        return Response(204)


# ====================================================================== relay
def relay(sim, req):
    """Forward `/_relay/{id}/path?query` to the relay's target, as a reverse proxy does."""
    _, _, rest = req.target.partition("/_relay/")
    relay_id, _, tail = rest.partition("/")
    with sim._lock:
        target = sim._relays.get(relay_id.split("?")[0])
    if target is None:
        return Response(404, {"error": {"code": "NotFound", "message": "no such relay"}})
    parts = urlsplit(target)
    headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP}
    headers.update(
        {
            "Host": f"{parts.hostname}:{parts.port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": req.headers.get("host") or "",
            "X-Forwarded-For": "127.0.0.1",
        }
    )
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(req.method, "/" + tail, body=req.body or None, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        out_headers = {
            k: v
            for k, v in answer.getheaders()
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-type"
        }
        return Response(
            answer.status,
            data,
            out_headers,
            content_type=answer.getheader("Content-Type") or "application/octet-stream",
        )
    except (OSError, http.client.HTTPException) as exc:
        return Response(502, {"error": {"code": "BadGateway", "message": str(exc)}})
    finally:
        connection.close()


# ====================================================================== admin API
@admin.route("GET", "/subscriptions")
def _admin_subscriptions(sim, req, body):
    return sim.subscriptions()


@admin.route("POST", "/subscriptions/([^/]+)/lifecycle")
def _admin_lifecycle(sim, req, body, subscription_id):
    sim.send_lifecycle_event(subscription_id, (body or {}).get("event"))
    return {"ok": True}


@admin.route("POST", "/subscriptions/([^/]+)/expire")
def _admin_expire(sim, req, body, subscription_id):
    sim.expire_subscription(subscription_id)
    return {"ok": True}


@admin.route("GET", "/notifications")
def _admin_notifications(sim, req, body):
    return sim.notification_log()


@admin.route("DELETE", "/notifications")
def _admin_clear_notifications(sim, req, body):
    sim.clear_notification_log()
    return {"ok": True}


@admin.route("POST", "/notifications/wait")
def _admin_wait(sim, req, body):
    body = body or {}
    return sim.wait_notifications(int(body["count"]), float(body.get("timeout", 10.0)))


@admin.route("POST", "/notification_faults")
def _admin_notification_fault(sim, req, body):
    body = body or {}
    sim.inject_notification_fault(body.get("kind", "drop"), int(body.get("count", 1)))
    return {"ok": True}


@admin.route("POST", "/relays")
def _admin_relay(sim, req, body):
    return sim.add_relay((body or {}).get("target"))
