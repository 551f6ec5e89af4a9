"""$batch, throttling (concurrency + rate) and fault injection."""

import threading

import pytest
import requests

from graph_simulator import GraphSimulator


@pytest.fixture
def ctx(graph_sim):
    user = graph_sim.add_user("alice@contoso.example.com")
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {graph_sim.issue_token(user['id'])}"
    return graph_sim, user, s, f"{graph_sim.base_url}/v1.0"


def _batch(s, base, items):
    return s.post(f"{base}/$batch", json={"requests": items}, timeout=10)


def test_batch_mixed_statuses_depends_on_and_shuffle(ctx):
    sim, user, s, base = ctx
    made = sim.seed_contacts(user["id"], [{"givenName": f"B{i}"} for i in range(3)])
    json_h = {"Content-Type": "application/json"}
    items = [
        {
            "id": "1",
            "method": "POST",
            "url": "/me/contacts",
            "headers": json_h,
            "body": {"givenName": "New"},
        },
        {"id": "2", "method": "GET", "url": "me/contacts/does-not-exist"},
        {
            "id": "3",
            "method": "PATCH",
            "url": "/me/contacts/nope",
            "headers": json_h,
            "body": {"givenName": "x"},
            "dependsOn": ["2"],
        },
        {"id": "4", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"},
        {"id": "5", "method": "DELETE", "url": f"/me/contacts/{made[0]['id']}"},
        {"id": "6", "method": "POST", "url": "/me/contacts", "body": {"givenName": "NoCT"}},
        {
            "id": "7",
            "method": "POST",
            "url": "/me/contacts",
            "headers": json_h,
            "body": {"businessPhones": ["1", "2", "3"]},
        },
    ]
    r = _batch(s, base, items)
    assert r.status_code == 200
    status = {x["id"]: x["status"] for x in r.json()["responses"]}
    assert status == {"1": 201, "2": 404, "3": 424, "4": 400, "5": 204, "6": 400, "7": 400}
    body1 = next(x for x in r.json()["responses"] if x["id"] == "1")["body"]
    assert body1["givenName"] == "New"
    st = sim.stats()
    assert st["batch_calls"] == 1 and st["batch_items"] == 6  # the 424 is not executed
    # shuffled order (seeded): over a full batch of 20 GETs the order is not the request order
    gets = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(20)]
    order = [x["id"] for x in _batch(s, base, gets).json()["responses"]]
    assert sorted(order, key=int) == [str(i) for i in range(20)] and order != sorted(order, key=int)


def test_batch_whole_request_errors(ctx):
    sim, _, s, base = ctx
    too_many = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]
    r = _batch(s, base, too_many)
    assert r.status_code == 400 and "limit of 20" in r.json()["error"]["message"]
    dup = [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]
    assert _batch(s, base, dup).status_code == 400
    assert _batch(s, base, [{"id": "1", "method": "GET"}]).status_code == 400
    assert (
        _batch(
            s, base, [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}]
        ).status_code
        == 400
    )


def test_concurrency_429_and_max_in_flight(ctx):
    sim, user, s, base = ctx
    sim.configure(latency=0.4)
    token = s.headers["Authorization"]
    barrier = threading.Barrier(6)
    results = []

    def worker():
        with requests.Session() as own:
            own.headers["Authorization"] = token
            barrier.wait()
            results.append(own.get(f"{base}/me/contacts", timeout=10))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes.count(429) >= 1 and codes.count(200) >= 1
    throttled = next(r for r in results if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in throttled.json()["error"]["message"]
    assert int(throttled.headers["Retry-After"]) >= 1
    st = sim.stats()
    assert st["max_concurrent_per_mailbox"][user["id"]] >= 5
    assert st["throttled"]["MailboxConcurrency"] == codes.count(429)


def test_sequential_client_stays_under_limit(ctx):
    sim, user, s, base = ctx
    sim.configure(latency=0.01)
    for _ in range(5):
        assert s.get(f"{base}/me/contacts", timeout=10).status_code == 200
    assert sim.stats()["max_concurrent_per_mailbox"][user["id"]] == 1


def test_rate_limit_with_time_scale(tmp_path, monkeypatch):
    with GraphSimulator(seed=3, time_scale=60, state_dir=str(tmp_path)) as sim:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca_bundle_path)
        user = sim.add_user("bob@contoso.example.com")
        sim.configure(rate_limit=5)  # per 600 simulated s = 10 real s
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {sim.issue_token(user['id'])}"
        codes = [
            s.get(f"{sim.base_url}/v1.0/me/contacts", timeout=10).status_code for _ in range(6)
        ]
        assert codes == [200] * 5 + [429]
        r = s.get(f"{sim.base_url}/v1.0/me/contacts", timeout=10)
        wait = float(r.headers["Retry-After"])
        assert 0 < wait <= 10 and "." in r.headers["Retry-After"]
        assert sim.stats()["throttled"]["RateLimit"] == 2
        # batch items are counted one by one and get their own 429
        sim.advance_time(600)
        items = [{"id": str(i), "method": "GET", "url": "/me/contacts"} for i in range(8)]
        out = s.post(f"{sim.base_url}/v1.0/$batch", json={"requests": items}, timeout=10).json()
        statuses = sorted(x["status"] for x in out["responses"])
        assert statuses == [200] * 5 + [429] * 3
        limited = next(x for x in out["responses"] if x["status"] == 429)
        assert float(limited["headers"]["Retry-After"]) > 0
        sim.advance_time(600)
        assert s.get(f"{sim.base_url}/v1.0/me/contacts", timeout=10).status_code == 200


def test_batch_holds_concurrency_slots(ctx):
    sim, user, s, base = ctx
    sim.configure(latency=0.8)
    token = s.headers["Authorization"]
    items = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(4)]
    out = {}

    def run_batch():
        with requests.Session() as own:
            own.headers["Authorization"] = token
            out["batch"] = own.post(f"{base}/$batch", json={"requests": items}, timeout=10)

    t = threading.Thread(target=run_batch)
    t.start()
    import time

    time.sleep(0.3)
    single = s.get(f"{base}/me", timeout=10)
    t.join()
    assert single.status_code == 429
    assert sim.stats()["max_concurrent_per_mailbox"][user["id"]] == 5


def test_faults(ctx):
    sim, user, s, base = ctx
    sim.inject_fault(r"/me/contacts", kind="drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        s.get(f"{base}/me/contacts", timeout=5)
    sim.inject_fault(r"/me/contacts", kind="malformed")
    r = s.get(f"{base}/me/contacts", timeout=5)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    sim.inject_fault(
        r"/me/contacts", method="GET", status=503, count=2, headers={"Retry-After": "0"}
    )
    assert [s.get(f"{base}/me/contacts", timeout=5).status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]
    sim.inject_fault(r"/me/contacts", kind="oversized", size=2_000_000)
    r = s.get(f"{base}/me/contacts", timeout=5)
    assert len(r.content) == 2_000_000 and r.json()["value"] == []
    sim.inject_fault(r"/me$", kind="hang", delay=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.get(f"{base}/me", timeout=0.3)
    assert s.get(f"{base}/me", timeout=5).status_code == 200
    # inner batch item gets the injected status
    sim.inject_fault(r"/me/contacts", status=429, headers={"Retry-After": "2"})
    items = [
        {"id": "a", "method": "GET", "url": "/me/contacts"},
        {"id": "b", "method": "GET", "url": "/me"},
    ]
    res = {
        x["id"]: x
        for x in s.post(f"{base}/$batch", json={"requests": items}, timeout=5).json()["responses"]
    }
    assert res["a"]["status"] == 429 and res["a"]["headers"]["Retry-After"] == "2"
    assert res["b"]["status"] == 200
    # random 5xx rate
    sim.configure(fault_5xx_rate=1.0)
    assert s.get(f"{base}/me", timeout=5).status_code == 503
    sim.configure(fault_5xx_rate=0.0)
    assert sim.stats()["faults_injected"] >= 7
