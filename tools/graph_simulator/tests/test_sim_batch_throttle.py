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
        wait = r_after(s, sim)  # arrives while throttled: 1 simulated s (1/60 real s) more
        # Real seconds, to the millisecond (a whole number when the wait happens to be one).
        assert 0 < float(wait) <= 10 + 1 / 60
        assert wait == f"{float(wait):.3f}".rstrip("0").rstrip(".")
        assert sim.stats()["throttled"] == {"RateLimit": 1, "WhileThrottled": 1}
        # batch items are counted one by one and get their own 429
        sim.advance_time(600 + sim.config["throttle_extension"])
        items = [{"id": str(i), "method": "GET", "url": "/me/contacts"} for i in range(8)]
        out = s.post(f"{sim.base_url}/v1.0/$batch", json={"requests": items}, timeout=10).json()
        statuses = sorted(x["status"] for x in out["responses"])
        assert statuses == [200] * 5 + [429] * 3
        limited = next(x for x in out["responses"] if x["status"] == 429)
        assert float(limited["headers"]["Retry-After"]) > 0
        sim.advance_time(600)
        assert s.get(f"{sim.base_url}/v1.0/me/contacts", timeout=10).status_code == 200


def r_after(session, sim):
    return session.get(f"{sim.base_url}/v1.0/me/contacts", timeout=10).headers["Retry-After"]


def _get(session, sim):
    return session.get(f"{sim.base_url}/v1.0/me/contacts", timeout=10)


@pytest.fixture
def scaled(tmp_path, monkeypatch):
    """A simulator whose clock runs 60 times faster: 600 simulated s are 10 real s."""
    with GraphSimulator(seed=5, time_scale=60, state_dir=str(tmp_path)) as sim:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca_bundle_path)
        user = sim.add_user("carol@contoso.example.com")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {sim.issue_token(user['id'])}"
        yield sim, user, session


def test_calls_while_throttled_are_refused_and_extend_the_wait(scaled):
    sim, user, s = scaled
    sim.configure(rate_limit=5, throttle_extension=30.0)  # 30 simulated s = 0.5 real s
    assert [_get(s, sim).status_code for _ in range(6)] == [200] * 5 + [429]
    waits = []
    for _ in range(3):
        response = _get(s, sim)
        assert response.status_code == 429
        assert "while throttled" in response.json()["error"]["message"]
        waits.append(float(response.headers["Retry-After"]))
    # Each call made while throttled pushes the end of the throttling 0.5 real s further.
    assert waits[1] - waits[0] == pytest.approx(0.5, abs=0.2)
    assert waits[2] - waits[1] == pytest.approx(0.5, abs=0.2)
    items = [{"id": str(i), "method": "GET", "url": "/me/contacts"} for i in range(6)]
    out = s.post(f"{sim.base_url}/v1.0/$batch", json={"requests": items}, timeout=10).json()
    assert [x["status"] for x in out["responses"]] == [429] * 6
    stats = sim.stats()
    assert stats["throttle_extensions"] == 4  # the $batch counts as one call
    assert stats["throttled"] == {"RateLimit": 1, "WhileThrottled": 9}
    # The window itself freed after 600 s, the extensions hold the mailbox 120 s more, and
    # the call that finds it still throttled 30 s more again.
    sim.advance_time(600)
    assert _get(s, sim).status_code == 429
    sim.advance_time(160)
    assert _get(s, sim).status_code == 200


def test_the_batch_that_meets_the_limit_does_not_extend_it(scaled):
    sim, user, s = scaled
    sim.configure(rate_limit=5)
    items = [{"id": str(i), "method": "GET", "url": "/me/contacts"} for i in range(8)]
    out = s.post(f"{sim.base_url}/v1.0/$batch", json={"requests": items}, timeout=10).json()
    assert sorted(x["status"] for x in out["responses"]) == [200] * 5 + [429] * 3
    stats = sim.stats()
    assert stats["throttled"] == {"RateLimit": 3}
    assert stats["throttle_extensions"] == 0


def test_a_window_spent_by_another_client_frees_as_its_requests_leave(scaled):
    sim, user, s = scaled
    sim.configure(rate_limit=10)
    spent = sim.spend_window(user["id"], 0.9)  # evenly over the last 600 simulated s
    assert spent == {"mailbox": user["id"], "spent": 9, "in_window": 9}
    assert [_get(s, sim).status_code for _ in range(2)] == [200, 429]
    # The oldest of the nine leaves 600 / 9 simulated s (1.1 real s) from now, not 600; the
    # call that asks while throttled adds its second of extension (1/60 real s).
    assert 0 < float(_get(s, sim).headers["Retry-After"]) <= (600 / 9 + 1) / 60 + 0.01


def test_a_window_spent_at_once_frees_one_window_later(scaled):
    sim, user, s = scaled
    sim.configure(rate_limit=10, throttle_extension=0.0)
    sim.spend_window(user["id"], 0.9, spread=False)
    assert [_get(s, sim).status_code for _ in range(2)] == [200, 429]
    assert 9 < float(_get(s, sim).headers["Retry-After"]) <= 10


def test_retry_after_resolution_scales_with_the_window(scaled):
    sim, user, s = scaled
    sim.configure(rate_limit=1, throttle_extension=0.0, retry_after_resolution=0.25)
    assert _get(s, sim).status_code == 200
    value = _get(s, sim).headers["Retry-After"]
    assert float(value) % 0.25 == 0 and 9.75 <= float(value) <= 10  # never shorter than needed


def test_throttling_report_counts_what_the_limit_allowed(scaled):
    sim, user, s = scaled
    sim.configure(rate_limit=4, throttle_extension=0.0)
    since = sim.now()
    sim.spend_window(user["id"], 0.5, spread=False)
    assert [_get(s, sim).status_code for _ in range(3)] == [200, 200, 429]
    report = sim.throttling_report(user["id"], since=since)
    assert report["accepted"] == 2 and report["refused"] == 1
    assert report["refused_by_reason"] == {"RateLimit": 1}
    # From the first request to the last accepted one the limit let two through, at once.
    assert report["allowed"] == 2 and report["best_s"] == 0.0
    assert report["limit"] == 4 and report["window"] == 600.0


def test_greedy_sender_is_what_the_limit_allows():
    from graph_simulator.simulator import _greedy

    # 3 per 10 s, fresh: 3 at 0, 3 at 10, 3 at 20 -> 9 allowed in [0, 20]; 7 needed 20 s.
    assert _greedy([], 0.0, 20.0, 7, 3, 10.0) == (9, 20.0)
    # Two requests of others sent at -5 leave at 5: one at 0, two at 5, one at 10, ...
    assert _greedy([-5.0, -5.0], 0.0, 9.0, 3, 3, 10.0) == (3, 5.0)
    # Needing more than the span held: the least time runs past the span.
    assert _greedy([], 0.0, 5.0, 4, 3, 10.0) == (3, 10.0)


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
