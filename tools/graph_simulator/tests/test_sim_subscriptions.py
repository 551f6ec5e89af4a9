"""Change notifications: subscriptions and their handshake, deliveries, faults, lifecycle, relay."""

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests


class Endpoint:
    """A plain HTTP server on 127.0.0.1 standing for the application Graph notifies.

    It answers the validation handshake (unless told to answer wrong) and 202 to payloads,
    which it records; the simulator reaches it through a relay (HTTPS in front of it)."""

    def __init__(self):
        self.received = []
        self.handshakes = []
        self.echo = "right"  # "right", "wrong" (another token) or "none" (a 500)
        self.status = 202
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = parse_qs(urlsplit(self.path).query)
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    with endpoint.lock:
                        endpoint.handshakes.append(
                            {
                                "path": urlsplit(self.path).path,
                                "token": token,
                                "type": self.headers.get("Content-Type"),
                                "proto": self.headers.get("X-Forwarded-Proto"),
                            }
                        )
                    if endpoint.echo == "none":
                        self.send_response(500)
                        self.end_headers()
                        return
                    answer = (token if endpoint.echo == "right" else "nope").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                with endpoint.lock:
                    endpoint.received.append(
                        {"path": urlsplit(self.path).path, "body": json.loads(body)}
                    )
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def values(self, path=None):
        with self.lock:
            return [
                value
                for request in self.received
                if path is None or request["path"] == path
                for value in request["body"]["value"]
            ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def world(graph_sim, endpoint):
    """A mailbox with a folder, a token, and the endpoint reachable over HTTPS via a relay."""
    user = graph_sim.add_user("alice@contoso.example.com")
    folder = graph_sim.create_folder(user["id"], "Odoo Contacts")
    relay = graph_sim.add_relay(endpoint.url)
    token = graph_sim.issue_token(user["id"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    yield {
        "sim": graph_sim,
        "user": user["id"],
        "folder": folder["id"],
        "url": relay["url"] + "/hooks/notify",
        "lifecycle": relay["url"] + "/hooks/lifecycle",
        "graph": f"{graph_sim.base_url}/v1.0",
        "session": session,
    }
    session.close()


def _expiry(minutes=60):
    stamp = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.1234567Z")


def _subscribe(world, **overrides):
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": world["url"],
        "lifecycleNotificationUrl": world["lifecycle"],
        "resource": f"me/contactFolders('{world['folder']}')/contacts",
        "expirationDateTime": _expiry(),
        "clientState": "s3cret-state",
        **overrides,
    }
    return world["session"].post(f"{world['graph']}/subscriptions", json=body, timeout=30)


def test_create_runs_the_handshake_on_both_urls(world, endpoint):
    answer = _subscribe(world)
    assert answer.status_code == 201, answer.text
    sub = answer.json()
    assert sub["resource"] == f"me/contactFolders('{world['folder']}')/contacts"
    assert sub["changeType"] == "created,deleted,updated"
    assert sub["expirationDateTime"].endswith("Z")
    paths = sorted(h["path"] for h in endpoint.handshakes)
    assert paths == ["/hooks/lifecycle", "/hooks/notify"]
    handshake = endpoint.handshakes[0]
    assert handshake["token"].startswith("Validation: Testing client application reachability")
    assert handshake["type"].startswith("text/plain")
    assert handshake["proto"] == "https"
    listed = world["sim"].subscriptions()
    assert [s["id"] for s in listed] == [sub["id"]]
    assert listed[0]["clientState"] == "s3cret-state"
    assert listed[0]["folderId"] == world["folder"]


@pytest.mark.parametrize("echo", ["wrong", "none"])
def test_an_endpoint_that_does_not_echo_the_token_gets_no_subscription(world, endpoint, echo):
    endpoint.echo = echo
    answer = _subscribe(world)
    assert answer.status_code == 400
    assert "validation request failed" in answer.json()["error"]["message"]
    assert world["sim"].subscriptions() == []


@pytest.mark.parametrize(
    ("overrides", "status", "text"),
    [
        ({"notificationUrl": "http://127.0.0.1:9/x"}, 400, "HTTPS"),
        ({"notificationUrl": "https://odoo.example.com/x"}, 400, "this machine"),
        ({"changeType": "created,moved"}, 400, "changeType"),
        ({"resource": "me/events"}, 400, "Unsupported resource"),
        ({"resource": "me/contactFolders('nope')/contacts"}, 404, "folder"),
        ({"expirationDateTime": _expiry(10_081)}, 400, "10080 minutes"),
        ({"expirationDateTime": "2001-01-01T00:00:00Z"}, 400, "future"),
        ({"clientState": "x" * 129}, 400, "128"),
    ],
)
def test_create_refuses_what_graph_refuses(world, endpoint, overrides, status, text):
    answer = _subscribe(world, **overrides)
    assert answer.status_code == status, answer.text
    assert text in answer.json()["error"]["message"]
    assert endpoint.handshakes == []


def test_changes_in_the_folder_are_notified_and_others_not(world, endpoint):
    sim = world["sim"]
    sub = _subscribe(world).json()
    created = world["session"].post(
        f"{world['graph']}/me/contactFolders/{world['folder']}/contacts",
        json={"givenName": "Ada"},
        timeout=10,
    )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    sim.edit_contact(world["user"], contact_id, surname="Lovelace")
    sim.seed_contacts(world["user"], [{"givenName": "Elsewhere"}])  # the default folder
    sim.delete_contact(world["user"], contact_id)
    log = sim.wait_notifications(3)
    assert [entry["kind"] for entry in log] == ["created", "updated", "deleted"]
    assert all(entry["outcome"] == "delivered" and entry["status"] == 202 for entry in log)
    values = endpoint.values("/hooks/notify")
    assert [v["changeType"] for v in values] == ["created", "updated", "deleted"]
    assert {v["subscriptionId"] for v in values} == {sub["id"]}
    assert {v["clientState"] for v in values} == {"s3cret-state"}
    assert values[0]["resourceData"]["id"] == contact_id


def test_dropped_duplicated_and_failed_notifications(world, endpoint):
    sim = world["sim"]
    _subscribe(world)
    sim.configure(notification_retry_delay=0.01)
    sim.inject_notification_fault("drop")
    sim.inject_notification_fault("duplicate")
    sim.inject_notification_fault("fail")
    folder = world["folder"]
    for name in ("Dropped", "Twice", "Failed", "Fine"):
        sim.seed_contacts(world["user"], [{"givenName": name}], folder_id=folder)
    log = sim.wait_notifications(5)
    outcomes = [(entry["outcome"], entry["attempts"]) for entry in log]
    assert outcomes.count(("dropped", 0)) == 1
    assert outcomes.count(("failed", 3)) == 1  # tried again twice: nobody answered
    assert outcomes.count(("delivered", 1)) == 3
    assert len(endpoint.values()) == 3  # twice the second, once the last
    assert sum(bool(entry["duplicate"]) for entry in log) == 1


def test_random_drops_follow_the_configured_rate(world, endpoint):
    sim = world["sim"]
    _subscribe(world)
    sim.configure(notification_drop_rate=1.0)
    sim.seed_contacts(world["user"], [{"givenName": "Lost"}], folder_id=world["folder"])
    log = sim.wait_notifications(1)
    assert [entry["outcome"] for entry in log] == ["dropped"]
    assert endpoint.values() == []


def test_an_endpoint_in_error_is_tried_again(world, endpoint):
    sim = world["sim"]
    _subscribe(world)
    sim.configure(notification_retry_delay=0.01, notification_retries=1)
    endpoint.status = 503
    sim.seed_contacts(world["user"], [{"givenName": "Ada"}], folder_id=world["folder"])
    log = sim.wait_notifications(1)
    assert log[0]["outcome"] == "failed" and log[0]["status"] == 503
    assert log[0]["attempts"] == 2
    assert len(endpoint.values()) == 2


def test_lifecycle_events_on_demand(world, endpoint):
    sim = world["sim"]
    sub = _subscribe(world).json()
    sim.send_lifecycle_event(sub["id"], "reauthorizationRequired")
    assert sim.subscriptions()[0]["needsReauthorization"] is True
    sim.send_lifecycle_event(sub["id"], "missed")
    sim.wait_notifications(2)
    renewed = world["session"].patch(
        f"{world['graph']}/subscriptions/{sub['id']}",
        json={"expirationDateTime": _expiry(120)},
        timeout=10,
    )
    assert renewed.status_code == 200
    assert sim.subscriptions()[0]["needsReauthorization"] is False
    sim.send_lifecycle_event(sub["id"], "subscriptionRemoved")
    sim.wait_notifications(3)
    assert sim.subscriptions() == []
    events = [v["lifecycleEvent"] for v in endpoint.values("/hooks/lifecycle")]
    assert events == ["reauthorizationRequired", "missed", "subscriptionRemoved"]
    assert {v["clientState"] for v in endpoint.values("/hooks/lifecycle")} == {"s3cret-state"}
    with pytest.raises(ValueError):
        sim.send_lifecycle_event(sub["id"], "bogus")


def test_renew_reauthorize_delete_and_expiry(world, endpoint):
    sim = world["sim"]
    graph, session = world["graph"], world["session"]
    sub = _subscribe(world).json()
    assert session.get(f"{graph}/subscriptions/{sub['id']}", timeout=10).status_code == 200
    assert [s["id"] for s in session.get(f"{graph}/subscriptions", timeout=10).json()["value"]] == [
        sub["id"]
    ]
    too_far = session.patch(
        f"{graph}/subscriptions/{sub['id']}",
        json={"expirationDateTime": _expiry(20_000)},
        timeout=10,
    )
    assert too_far.status_code == 400
    reauth = session.post(f"{graph}/subscriptions/{sub['id']}/reauthorize", timeout=10)
    assert reauth.status_code == 204
    sim.advance_time(2 * 3600)  # past its expiry, never renewed
    session.headers["Authorization"] = f"Bearer {sim.issue_token(world['user'])}"
    assert session.get(f"{graph}/subscriptions/{sub['id']}", timeout=10).status_code == 404
    sim.seed_contacts(world["user"], [{"givenName": "Late"}], folder_id=world["folder"])
    assert sim.wait_notifications(1, timeout=0.3) == []
    second = _subscribe(world, expirationDateTime=_expiry(3 * 60 + 60)).json()
    assert session.delete(f"{graph}/subscriptions/{second['id']}", timeout=10).status_code == 204
    assert session.delete(f"{graph}/subscriptions/{second['id']}", timeout=10).status_code == 404
    assert sim.subscriptions() == []


def test_another_users_subscription_is_not_found(world):
    sim = world["sim"]
    sub = _subscribe(world).json()
    bob = sim.add_user("bob@contoso.example.com")
    headers = {"Authorization": f"Bearer {sim.issue_token(bob['id'])}"}
    answer = requests.delete(
        f"{world['graph']}/subscriptions/{sub['id']}", headers=headers, timeout=10
    )
    assert answer.status_code == 404
    assert len(sim.subscriptions()) == 1


def test_subscriptions_survive_snapshots(world, endpoint):
    sim = world["sim"]
    sub = _subscribe(world).json()
    sim.snapshot("subscribed")
    world["session"].delete(f"{world['graph']}/subscriptions/{sub['id']}", timeout=10)
    assert sim.subscriptions() == []
    sim.restore("subscribed")
    assert [s["id"] for s in sim.subscriptions()] == [sub["id"]]
    sim.seed_contacts(world["user"], [{"givenName": "Again"}], folder_id=world["folder"])
    assert sim.wait_notifications(1)[0]["outcome"] == "delivered"


def test_relay_forwards_like_a_reverse_proxy(graph_sim, endpoint):
    relay = graph_sim.add_relay(endpoint.url)
    answer = requests.post(
        relay["url"] + "/some/path?validationToken=a%20b%3Ac", data=b"", timeout=10
    )
    assert answer.status_code == 200 and answer.text == "a b:c"
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert endpoint.handshakes[-1]["path"] == "/some/path"
    assert requests.get(f"{graph_sim.base_url}/_relay/unknown/x", timeout=10).status_code == 404
    with pytest.raises(ValueError):
        graph_sim.add_relay("http://10.0.0.1:8069")
    with pytest.raises(ValueError):
        graph_sim.add_relay("https://127.0.0.1:8069")


def test_admin_api_drives_notifications(world, endpoint):
    sim = world["sim"]
    admin = f"{sim.base_url}/_sim"
    sub = _subscribe(world).json()
    listed = requests.get(f"{admin}/subscriptions", timeout=10).json()
    assert listed[0]["clientState"] == "s3cret-state"
    answer = requests.post(
        f"{admin}/notification_faults", json={"kind": "duplicate", "count": 1}, timeout=10
    )
    assert answer.ok
    sim.seed_contacts(world["user"], [{"givenName": "Ada"}], folder_id=world["folder"])
    log = requests.post(f"{admin}/notifications/wait", json={"count": 2}, timeout=20).json()
    assert [entry["outcome"] for entry in log] == ["delivered", "delivered"]
    requests.post(
        f"{admin}/subscriptions/{sub['id']}/lifecycle", json={"event": "missed"}, timeout=10
    )
    log = requests.post(f"{admin}/notifications/wait", json={"count": 3}, timeout=20).json()
    assert log[-1]["kind"] == "missed"
    assert requests.delete(f"{admin}/notifications", timeout=10).ok
    assert requests.get(f"{admin}/notifications", timeout=10).json() == []
    assert requests.post(f"{admin}/subscriptions/{sub['id']}/expire", timeout=10).ok
    assert requests.get(f"{admin}/subscriptions", timeout=10).json() == []
    relay = requests.post(f"{admin}/relays", json={"target": endpoint.url}, timeout=10).json()
    assert relay["url"].startswith(f"{sim.base_url}/_relay/")
