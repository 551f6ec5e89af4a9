"""Change notification subscriptions through GraphClient, against the simulator; payloads,
handshake tokens and the per-subscription rate limit."""

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from graph import BadRequestError, GraphClient, NotFoundError, Pacer
from graph.subscriptions import (
    CHANGE_TYPES,
    LIFECYCLE_PATH,
    NOTIFICATION_PATH,
    Notification,
    RateLimiter,
    SubscriptionClient,
    contacts_resource,
    new_client_state,
    notification_urls,
    parse_datetime,
    parse_notifications,
    renewal_due,
    validation_token,
)


class HandshakeServer:
    """An application endpoint over plain HTTP that answers Graph's validation handshake."""

    def __init__(self):
        self.tokens = []
        tokens = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                query = parse_qs(urlsplit(self.path).query)
                token = validation_token({k: v[0] for k, v in query.items()}) or ""
                tokens.append(token)
                data = token.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def subscribed(graph_sim):
    server = HandshakeServer()
    user = graph_sim.add_user("alice@contoso.example.com")
    folder = graph_sim.create_folder(user["id"], "Odoo Contacts")
    base = graph_sim.add_relay(server.url)["url"]
    token = graph_sim.issue_token(user["id"])
    client = GraphClient(graph_sim.graph_endpoint, lambda force: token, pacer=Pacer())
    now = datetime.now(timezone.utc)
    yield {
        "sim": graph_sim,
        "server": server,
        "folder": folder["id"],
        "urls": notification_urls(base),
        "subscriptions": SubscriptionClient(client, now=lambda: now),
        "now": now,
    }
    client.close()
    server.close()


def test_create_renew_delete(subscribed):
    sim, subs = subscribed["sim"], subscribed["subscriptions"]
    url, lifecycle = subscribed["urls"]
    state = new_client_state()
    sub = subs.subscribe(subscribed["folder"], url, lifecycle, state)
    assert sub.resource == contacts_resource(subscribed["folder"])
    assert sub.notification_url == url
    # At Graph's maximum for Outlook contacts, less the margin for clock skew.
    lifetime = sub.expires_at - subscribed["now"]
    assert timedelta(minutes=10_060) <= lifetime <= timedelta(minutes=10_080)
    assert len(subscribed["server"].tokens) == 2  # both URLs were validated
    stored = sim.subscriptions()[0]
    assert stored["clientState"] == state
    assert set(stored["changeType"].split(",")) == set(CHANGE_TYPES.split(","))
    renewed = subs.renew(sub.id)
    assert renewed.id == sub.id and renewed.expires_at == sub.expires_at
    assert subs.delete(sub.id) is True
    assert subs.delete(sub.id) is False  # already gone: the same outcome
    with pytest.raises(NotFoundError):
        subs.renew(sub.id)


def test_a_shorter_maximum_is_asked_again_with_the_older_limit(subscribed):
    sim, subs = subscribed["sim"], subscribed["subscriptions"]
    sim.configure(subscription_max_minutes=4230)
    url, lifecycle = subscribed["urls"]
    sub = subs.subscribe(subscribed["folder"], url, lifecycle, new_client_state())
    assert sub.expires_at - subscribed["now"] <= timedelta(minutes=4230)
    assert subs.renew(sub.id).expires_at == sub.expires_at


def test_an_unreachable_endpoint_is_a_bad_request(subscribed):
    subs = subscribed["subscriptions"]
    subscribed["server"].close()
    url, lifecycle = subscribed["urls"]
    with pytest.raises(BadRequestError, match="validation request failed"):
        subs.subscribe(subscribed["folder"], url, lifecycle, new_client_state())
    assert subscribed["sim"].subscriptions() == []


def test_client_state_and_resource_are_checked_before_sending():
    with pytest.raises(ValueError):
        contacts_resource("")
    with pytest.raises(ValueError):
        contacts_resource("it's")
    state = new_client_state()
    assert 40 <= len(state) <= 128 and state != new_client_state()


def test_notification_urls_need_https():
    assert notification_urls("https://odoo.example.com/") == (
        "https://odoo.example.com" + NOTIFICATION_PATH,
        "https://odoo.example.com" + LIFECYCLE_PATH,
    )
    assert notification_urls("https://example.com/odoo")[0] == (
        "https://example.com/odoo" + NOTIFICATION_PATH
    )
    for bad in ("http://odoo.example.com", "", "odoo.example.com", "https://x.com/?db=a"):
        with pytest.raises(ValueError):
            notification_urls(bad)


def test_graph_dates():
    assert parse_datetime("2024-05-01T10:00:00.1234567Z") == datetime(
        2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc
    )
    assert parse_datetime("2024-05-01T12:00:00+02:00") == datetime(
        2024, 5, 1, 10, 0, tzinfo=timezone.utc
    )
    for bad in (None, "", "yesterday", "2024-05-01"):
        with pytest.raises(ValueError):
            parse_datetime(bad)
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert renewal_due(now + timedelta(days=1), now, timedelta(days=2))
    assert not renewal_due(now + timedelta(days=3), now, timedelta(days=2))


def test_validation_token():
    token = "Validation: Testing client application reachability Request-Id: 1"
    assert validation_token({"validationToken": token}) == token
    assert validation_token({}) is None
    for bad in ("", "x" * 1025, "a\r\nSet-Cookie: x=1"):
        with pytest.raises(ValueError):
            validation_token({"validationToken": bad})


def test_parse_notifications_reads_only_what_it_trusts():
    body = {
        "value": [
            {
                "subscriptionId": "s1",
                "clientState": "c1",
                "changeType": "updated",
                "resource": "Users/x/Contacts/y",
                "resourceData": {"id": "y"},
            },
            {"subscriptionId": "s2", "clientState": "c2", "lifecycleEvent": "missed"},
            {"subscriptionId": "s3"},
            {"subscriptionId": 7, "clientState": "c"},
            {"subscriptionId": "s4", "clientState": ["c"]},
            {"subscriptionId": "s5", "clientState": "c", "lifecycleEvent": "exploded"},
            {"subscriptionId": "x" * 257, "clientState": "c"},
            "garbage",
        ]
    }
    notifications, skipped = parse_notifications(body)
    assert notifications == [
        Notification("s1", "c1"),
        Notification("s2", "c2", "missed"),
        Notification("s3", None),
    ]
    assert skipped == 5
    for bad in (None, [], {"value": "x"}, {"values": []}):
        with pytest.raises(ValueError):
            parse_notifications(bad)
    many, skipped = parse_notifications({"value": [{"subscriptionId": "s"}] * 1500})
    assert len(many) == 1000 and skipped == 500


def test_rate_limiter_per_key_refills_and_stays_bounded():
    now = [0.0]
    limiter = RateLimiter(capacity=3, per_second=1.0, max_keys=2, clock=lambda: now[0])
    assert [limiter.allow("a")[0] for _ in range(4)] == [True, True, True, False]
    allowed, wait = limiter.allow("a")
    assert not allowed and 0 < wait <= 1.0
    assert limiter.allow("b")[0]  # another subscription has its own bucket
    now[0] = 1.0
    assert limiter.allow("a")[0] and not limiter.allow("a")[0]
    limiter.allow("c")
    assert len(limiter) == 2  # "b", the least recently used, was forgotten
    with pytest.raises(ValueError):
        RateLimiter(capacity=0)
