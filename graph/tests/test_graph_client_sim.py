"""GraphClient over real HTTPS against the Graph simulator, with faults injected.

Retry waits go through a fake sleep (recorded, never slept), so Retry-After values can be asserted
and the suite stays fast; only timeouts and the concurrency runs spend (fractions of) real time.
"""

import threading
import time

import pytest
from graph_fakes import FakeTime

from graph import (
    AuthExpiredError,
    BadRequestError,
    BatchRequest,
    GraphClient,
    GraphError,
    MalformedResponseError,
    NotFoundError,
    Pacer,
    PacingDeadlineError,
    ServerError,
    SyncStateLostError,
    ThrottledError,
    TransportError,
)


class TokenSource:
    """Token callback that counts calls; a forced refresh gets a fresh simulator token."""

    def __init__(self, sim, user_id, refresh_works=True):
        self.sim = sim
        self.user_id = user_id
        self.refresh_works = refresh_works
        self.calls = []
        self.token = sim.issue_token(user_id)

    def __call__(self, force_refresh):
        self.calls.append(force_refresh)
        if force_refresh:
            self.token = self.sim.issue_token(self.user_id)
            if not self.refresh_works:
                self.sim.expire_access_tokens(self.user_id)
        return self.token


@pytest.fixture
def mailbox(graph_sim):
    user = graph_sim.add_user("alice@contoso.example.com")
    return graph_sim, user["id"]


def make_client(sim, user_id, **kwargs):
    fake = FakeTime()
    tokens = TokenSource(sim, user_id)
    options = {
        "clock": fake.clock,
        "sleep": fake.sleep,
        "wall_clock": fake.clock,
        "verify": sim.ca_bundle_path,
    }
    options.update(kwargs)
    client = GraphClient(sim.graph_endpoint, tokens, **options)
    return client, fake, tokens


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def people(count, start=0):
    return [{"givenName": f"Person{n}", "surname": "Test"} for n in range(start, start + count)]


def test_paging_follows_next_links(mailbox):
    sim, uid = mailbox
    seeded = {c["id"] for c in sim.seed_contacts(uid, people(25))}
    client, fake, _ = make_client(sim, uid)
    ids = [item["id"] for item in client.iter_pages("/me/contacts", params={"$top": 10})]
    assert sorted(ids) == sorted(seeded)
    assert len(ids) == 25
    assert sim.stats()["by_kind"]["contacts.list"] == 3
    assert fake.sleeps == []


def test_immutable_id_preference_is_sent(mailbox):
    sim, uid = mailbox
    client, _, _ = make_client(sim, uid)
    created = client.post("/me/contacts", {"givenName": "Ada", "surname": "Lovelace"})
    assert client.get(f"/me/contacts/{created['id']}")["displayName"] == "Ada Lovelace"
    assert client.delete(f"/me/contacts/{created['id']}") is None
    with pytest.raises(NotFoundError) as caught:
        client.get(f"/me/contacts/{created['id']}")
    assert caught.value.code == "ErrorItemNotFound"
    assert caught.value.request_id


def _raw_delta_ids(client, path):
    ids, url = [], path
    while True:
        page = client.get(url, headers={"Prefer": "odata.maxpagesize=7"})
        ids += [item["id"] for item in page["value"]]
        if "@odata.nextLink" not in page:
            return ids
        url = page["@odata.nextLink"]


def test_delta_with_replays_and_removals_has_each_id_once(mailbox):
    sim, uid = mailbox
    folder = sim.create_folder(uid, "Odoo")
    path = f"/me/contactFolders/{folder['id']}/contacts/delta"
    seeded = [c["id"] for c in sim.seed_contacts(uid, people(40), folder_id=folder["id"])]
    sim.configure(delta_replay_rate=0.5)
    client, _, _ = make_client(sim, uid)

    # The simulator really does replay items at this rate: raw pages hold duplicates.
    raw = _raw_delta_ids(client, path)
    assert len(raw) > len(set(raw)) == 40

    first = client.delta(path, select=["givenName", "surname"], page_size=7)
    assert sorted(item["id"] for item in first.items) == sorted(seeded)
    assert first.removed == {}
    assert first.pages >= 6
    assert first.delta_link.startswith(sim.graph_endpoint)

    sim.edit_contact(uid, seeded[0], jobTitle="Engineer")
    sim.edit_contact(uid, seeded[1], jobTitle="Manager")
    for cid in seeded[2:5]:
        sim.delete_contact(uid, cid)
    added = sim.seed_contacts(uid, people(1, start=100), folder_id=folder["id"])[0]["id"]

    second = client.delta(first.delta_link, page_size=2)
    changed = {item["id"]: item for item in second.items}
    assert set(changed) == {seeded[0], seeded[1], added}
    assert changed[seeded[0]]["givenName"] == "Person0"
    assert second.removed == dict.fromkeys(seeded[2:5], "deleted")
    assert not set(changed) & set(second.removed)


def test_reset_sync_state_means_full_resync(mailbox):
    sim, uid = mailbox
    folder = sim.create_folder(uid, "Odoo")
    path = f"/me/contactFolders/{folder['id']}/contacts/delta"
    sim.seed_contacts(uid, people(3), folder_id=folder["id"])
    client, fake, _ = make_client(sim, uid)
    link = client.delta(path).delta_link
    sim.reset_sync_state(uid, folder["id"])
    with pytest.raises(SyncStateLostError) as caught:
        client.delta(link)
    assert caught.value.status == 410
    assert "full resync" in str(caught.value)
    assert "deltatoken" not in str(caught.value)
    assert fake.sleeps == []  # a 410 is final, never retried
    assert len(client.delta(path).items) == 3


def test_batch_mixed_statuses_and_item_retries_in_input_order(mailbox):
    sim, uid = mailbox
    existing = [c["id"] for c in sim.seed_contacts(uid, people(4))]
    sim.inject_fault(f"/me/contacts/{existing[0]}$", status=429, headers={"Retry-After": "2"})
    sim.inject_fault(f"/me/contacts/{existing[2]}$", status=429, headers={"Retry-After": "3"})
    too_many_emails = {
        "givenName": "Many",
        "emailAddresses": [{"address": f"m{n}@example.com"} for n in range(4)],
    }
    requests_ = [
        BatchRequest("GET", f"/me/contacts/{existing[0]}"),
        BatchRequest("GET", "/me/contacts/AAMkDoesNotExist"),
        BatchRequest("PATCH", f"/me/contacts/{existing[1]}", body={"jobTitle": "CTO"}),
        BatchRequest("GET", f"/me/contacts/{existing[2]}"),
        BatchRequest("POST", "/me/contacts", body=too_many_emails),
        BatchRequest("POST", "/me/contacts", body={"givenName": "New", "surname": "One"}),
        BatchRequest("DELETE", f"/me/contacts/{existing[3]}"),
    ]
    client, fake, _ = make_client(sim, uid)
    outcomes = client.batch(requests_)

    assert [outcome.request.url for outcome in outcomes] == [r.url for r in requests_]
    assert [outcome.status for outcome in outcomes] == [200, 404, 200, 200, 400, 201, 204]
    assert outcomes[0].body["id"] == existing[0] and outcomes[3].body["id"] == existing[2]
    assert isinstance(outcomes[1].error, NotFoundError)
    assert isinstance(outcomes[4].error, BadRequestError)
    assert "emailAddresses" in str(outcomes[4].error) or outcomes[4].error.message
    assert all(outcomes[i].ok for i in (0, 2, 3, 5, 6))
    # The two throttled items went again together, after the longest Retry-After.
    assert fake.sleeps == [3.0]
    stats = sim.stats()
    assert stats["batch_calls"] == 2
    names = sorted(c.get("givenName") for c in sim.contacts(uid))
    assert names == ["New", "Person0", "Person1", "Person2"]  # the POST ran exactly once


def test_batch_of_45_is_sent_in_chunks_of_20(mailbox):
    sim, uid = mailbox
    client, _, _ = make_client(sim, uid)
    outcomes = client.batch([BatchRequest("POST", "/me/contacts", body=p) for p in people(45)])
    assert len(outcomes) == 45
    assert all(outcome.status == 201 for outcome in outcomes)
    created = [outcome.body["givenName"] for outcome in outcomes]
    assert created == [f"Person{n}" for n in range(45)]
    assert sim.stats()["batch_calls"] == 3
    assert len(sim.contacts(uid)) == 45


def test_a_throttled_batch_item_goes_again_until_graph_takes_it(mailbox):
    sim, uid = mailbox
    cid = sim.seed_contacts(uid, people(1))[0]["id"]
    sim.inject_fault(f"/me/contacts/{cid}$", status=429, count=10)
    client, fake, _ = make_client(sim, uid, max_retries=2)
    outcomes = client.batch(
        [BatchRequest("GET", f"/me/contacts/{cid}"), BatchRequest("GET", "/me")]
    )
    assert all(outcome.ok for outcome in outcomes)  # pacing is not a failure
    assert outcomes[0].body["id"] == cid
    assert fake.sleeps == [1.0] * 10


def test_a_batch_throttled_past_the_deadline_raises_with_what_was_done(mailbox):
    sim, uid = mailbox
    cid = sim.seed_contacts(uid, people(1))[0]["id"]
    sim.inject_fault(f"/me/contacts/{cid}$", status=429, headers={"Retry-After": "600"})
    fake = FakeTime()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep, wall_clock=fake.clock)
    client, _, _ = make_client(
        sim, uid, clock=fake.clock, sleep=fake.sleep, wall_clock=fake.clock, pacer=pacer
    )
    client.deadline = 300.0
    requests_ = [
        BatchRequest("GET", f"/me/contacts/{cid}"),
        BatchRequest("GET", "/me"),
        BatchRequest("GET", "/me/contacts/AAMkDoesNotExist"),
    ]
    requests_ += [BatchRequest("POST", "/me/contacts", body=p) for p in people(25)]
    with pytest.raises(PacingDeadlineError) as caught:
        client.batch(requests_)
    assert caught.value.retry_at == pytest.approx(600.0)
    outcomes = caught.value.batch_outcomes
    assert outcomes[0] is None  # throttled: still to do, not failed
    assert outcomes[1].ok and all(outcome.ok for outcome in outcomes[3:20])
    assert isinstance(outcomes[2].error, NotFoundError)  # answered: kept as it was
    assert outcomes[20:] == [None] * 8  # the next chunk was never sent
    assert len(sim.contacts(uid)) == 1 + 17
    assert fake.sleeps == []
    assert sim.stats()["batch_calls"] == 1


def test_retry_after_is_honoured_and_pauses_the_mailbox(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me/contacts$", method="GET", status=429, headers={"Retry-After": "7"})
    sim.inject_fault("/me/contacts$", method="GET", status=503, headers={"Retry-After": "0.5"})
    fake = FakeTime()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)
    client, _, _ = make_client(sim, uid, clock=fake.clock, sleep=fake.sleep, pacer=pacer)
    assert client.get("/me/contacts")["value"] == []
    assert fake.sleeps == [7.0, 0.5]
    # Other requests of the mailbox were held too: the pause covers both Retry-After waits.
    assert pacer.paused_until == pytest.approx(7.5)
    assert sim.stats()["status_counts"] == {"429": 1, "503": 1, "200": 1}


def test_throttled_beyond_the_time_budget_raises_with_retry_after(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me$", status=429, headers={"Retry-After": "400"})
    client, fake, _ = make_client(sim, uid, max_retry_seconds=300)
    with pytest.raises(ThrottledError) as caught:
        client.get("/me")
    assert caught.value.retry_after == 400.0
    assert fake.sleeps == []


def _hammer(client, count):
    errors, done = [], []
    barrier = threading.Barrier(count)

    def call():
        barrier.wait(5)
        try:
            client.get("/me/contacts", params={"$top": 1})
            done.append(1)
        except ThrottledError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return done, errors


def test_pacer_keeps_a_mailbox_within_four_concurrent_requests(mailbox):
    sim, uid = mailbox
    sim.configure(latency=0.08)
    client, _, _ = make_client(sim, uid, pacer=Pacer(max_in_flight=4))
    done, errors = _hammer(client, 12)
    assert (len(done), errors) == (12, [])
    stats = sim.stats()
    assert stats["max_concurrent_per_mailbox"][uid] <= 4
    assert stats["throttled"].get("MailboxConcurrency", 0) == 0


def test_without_a_pacer_the_mailbox_limit_is_exceeded(mailbox):
    """Control run: proves the simulator would catch a pacer that lets too much through."""
    sim, uid = mailbox
    sim.configure(latency=0.08)
    client, _, _ = make_client(sim, uid, max_retry_seconds=0)
    done, errors = _hammer(client, 12)
    stats = sim.stats()
    assert stats["max_concurrent_per_mailbox"][uid] > 4
    assert stats["throttled"]["MailboxConcurrency"] > 0
    assert len(errors) == stats["throttled"]["MailboxConcurrency"]
    assert len(done) + len(errors) == 12


def test_expired_token_is_refreshed_once(mailbox):
    sim, uid = mailbox
    client, _, tokens = make_client(sim, uid)
    sim.expire_access_tokens(uid)
    assert client.get("/me")["id"] == uid
    assert tokens.calls == [False, True]
    assert client.get("/me")["id"] == uid
    assert tokens.calls == [False, True, False]


def test_second_401_is_auth_expired(mailbox):
    sim, uid = mailbox
    client, _, tokens = make_client(sim, uid)
    tokens.refresh_works = False
    sim.expire_access_tokens(uid)
    with pytest.raises(AuthExpiredError) as caught:
        client.get("/me")
    assert tokens.calls == [False, True]
    assert caught.value.status == 401
    assert tokens.token not in str(caught.value)
    assert sim.stats()["status_counts"] == {"401": 2}


def test_token_callback_reporting_lost_consent_stops_the_call(mailbox):
    sim, uid = mailbox

    def consent_lost(force_refresh):
        raise AuthExpiredError("the user revoked consent")

    client = GraphClient(sim.graph_endpoint, consent_lost)
    with pytest.raises(AuthExpiredError, match="revoked consent"):
        client.get("/me")
    assert sim.stats()["http_round_trips"] == 0


def test_hanging_server_is_a_transport_error_after_bounded_retries(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me$", kind="hang", delay=1.0, count=3)
    client, fake, _ = make_client(sim, uid, timeout=(2, 0.15), max_retries=2)
    started = time.monotonic()
    with pytest.raises(TransportError, match="read timeout"):
        client.get("/me")
    assert time.monotonic() - started < 1.5
    assert len(fake.sleeps) == 2
    assert sim.stats()["faults_injected"] == 3
    # The server finishes the hung requests later; let them land before the next test.
    assert wait_for(lambda: sim.stats()["by_kind"].get("me", 0) == 3)


def test_post_is_not_retried_after_a_read_timeout(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me/contacts$", method="POST", kind="hang", delay=0.5)
    client, fake, _ = make_client(sim, uid, timeout=(2, 0.1))
    with pytest.raises(TransportError):
        client.post("/me/contacts", {"givenName": "Once"})
    assert fake.sleeps == []
    assert sim.stats()["faults_injected"] == 1
    # The timed-out POST did land in the end: a retry would have created a duplicate.
    assert wait_for(lambda: len(sim.contacts(uid)) == 1)
    assert [c["givenName"] for c in sim.contacts(uid)] == ["Once"]


def test_malformed_body_is_reported(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me/contacts", kind="malformed")
    client, fake, _ = make_client(sim, uid)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        list(client.iter_pages("/me/contacts"))
    assert fake.sleeps == []


def test_oversized_body_is_refused(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me/contacts", kind="oversized", size=300_000)
    client, _, _ = make_client(sim, uid, max_response_bytes=100_000)
    with pytest.raises(MalformedResponseError, match="larger than 100000 bytes"):
        client.get("/me/contacts")
    assert client.get("/me/contacts")["value"] == []


def test_dropped_connection_is_retried_for_reads(mailbox):
    sim, uid = mailbox
    sim.seed_contacts(uid, people(2))
    sim.inject_fault("/me/contacts", method="GET", kind="drop", count=2)
    client, fake, _ = make_client(sim, uid)
    assert len(client.get("/me/contacts")["value"]) == 2
    assert len(fake.sleeps) == 2
    assert all(0 <= delay <= 2 for delay in fake.sleeps)


def test_dropped_connection_on_create_is_not_retried(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me/contacts$", method="POST", kind="drop")
    client, fake, _ = make_client(sim, uid)
    with pytest.raises(TransportError, match="dropped"):
        client.post("/me/contacts", {"givenName": "Once"})
    assert fake.sleeps == []
    assert sim.contacts(uid) == []


def test_server_errors_are_retried_then_raised(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me$", status=502, count=10)
    client, fake, _ = make_client(sim, uid, max_retries=3)
    with pytest.raises(Exception) as caught:
        client.get("/me")
    assert type(caught.value).__name__ == "ServerError"
    assert caught.value.status == 502
    assert len(fake.sleeps) == 3
    assert [round(min(s, 8), 3) <= 2**i for i, s in enumerate(fake.sleeps)] == [True] * 3


def test_whole_batch_failure_keeps_the_outcomes_of_earlier_chunks(mailbox):
    sim, uid = mailbox
    client, _, _ = make_client(sim, uid, max_retries=1)
    # The first $batch call goes through, the second (items 21..25) fails for good.
    calls = {"n": 0}
    original = client.session.request

    def second_batch_fails(method, url, **kwargs):
        if url.endswith("/$batch"):
            calls["n"] += 1
            if calls["n"] == 2:
                sim.inject_fault(r"^/v1\.0/\$batch$", status=503, count=5)
        return original(method, url, **kwargs)

    client.session.request = second_batch_fails
    with pytest.raises(GraphError) as caught:
        client.batch([BatchRequest("POST", "/me/contacts", body=p) for p in people(25)])
    outcomes = caught.value.batch_outcomes
    assert caught.value.status == 503
    assert [o.status for o in outcomes[:20]] == [201] * 20
    assert outcomes[20:] == [None] * 5
    assert len(sim.contacts(uid)) == 20


@pytest.mark.parametrize(
    "fault", [{"status": 504}, {"status": 502}, {"status": 503}, {"kind": "drop"}]
)
def test_a_create_that_landed_but_lost_its_answer_is_not_sent_twice(mailbox, fault):
    """The contact exists in Outlook although the client saw a failure: retrying would
    duplicate it, so the client reports the failure and the caller relinks later."""
    sim, uid = mailbox
    sim.inject_fault("/me/contacts$", method="POST", after=True, **fault)
    client, _, _ = make_client(sim, uid)
    with pytest.raises((ServerError, TransportError)):
        client.post("/me/contacts", {"givenName": "Once"})
    assert [c["givenName"] for c in sim.contacts(uid)] == ["Once"]


def test_a_batched_create_that_landed_but_lost_its_answer_is_not_sent_twice(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me/contacts$", method="POST", status=504, after=True)
    client, _, _ = make_client(sim, uid)
    outcomes = client.batch(
        [BatchRequest("POST", "/me/contacts", body=person) for person in people(3)]
    )
    assert sorted(outcome.status for outcome in outcomes) == [201, 201, 504]
    assert sorted(c["givenName"] for c in sim.contacts(uid)) == ["Person0", "Person1", "Person2"]


# -- adaptive pacing over HTTPS (real clocks: the simulator's window runs on real time; the
# assertions are counts, never durations) ----------------------------------------------------


def paced_push(sim, uid, count, documented, window):
    pacer = Pacer(max_requests=documented, window=window)
    client = GraphClient(
        sim.graph_endpoint,
        TokenSource(sim, uid),
        pacer=pacer,
        verify=sim.ca_bundle_path,
        deadline=time.time() + 120,
    )
    outcomes = client.batch([BatchRequest("POST", "/me/contacts", body=p) for p in people(count)])
    return outcomes, pacer


def scaled_outlook(sim, limit, window):
    """Outlook's limits scaled down: Retry-After and the extension in scaled whole seconds."""
    sim.configure(
        rate_limit=limit,
        rate_window=window,
        retry_after_resolution=window / 600,
        throttle_extension=window / 600,
    )


def test_a_run_meeting_a_spent_window_waits_and_completes_over_https(mailbox):
    sim, uid = mailbox
    scaled_outlook(sim, limit=40, window=2.0)
    sim.spend_window(uid, 0.9)  # another client of the app spent 36 of 40, evenly
    outcomes, pacer = paced_push(sim, uid, 100, documented=40, window=2.0)
    assert len(outcomes) == 100 and all(outcome.status == 201 for outcome in outcomes)
    assert len(sim.contacts(uid)) == 100  # each created once
    stats = sim.stats()
    assert stats["throttled_total"] <= 20  # only what the first $batch could not fit
    assert stats["throttle_extensions"] == 0  # nothing sent while throttled
    assert pacer.budget == 40  # others' load is not mistaken for a lower limit


def test_a_tighter_limit_is_learned_over_https(mailbox):
    sim, uid = mailbox
    scaled_outlook(sim, limit=30, window=1.5)
    outcomes, pacer = paced_push(sim, uid, 100, documented=300, window=1.5)
    assert all(outcome.status == 201 for outcome in outcomes)
    assert len(sim.contacts(uid)) == 100
    stats = sim.stats()
    # The first 429 teaches the limit; later ones are single-request probes at most.
    assert stats["throttled"].get("RateLimit", 0) <= 20 + 3
    assert stats["throttle_extensions"] == 0
    assert pacer.budget <= 31


def test_concurrency_adapts_to_what_graph_allows_over_https(mailbox):
    sim, uid = mailbox
    sim.configure(
        max_concurrent=2, latency=0.03, concurrency_retry_after=0.05, retry_after_resolution=0.05
    )
    pacer = Pacer(max_in_flight=4)
    client, _, _ = make_client(sim, uid, pacer=pacer, clock=time.monotonic, sleep=time.sleep)
    client._wall_clock = time.time
    done, errors = [], []

    def worker():
        for _ in range(6):
            try:
                client.get("/me/contacts", params={"$top": 1})
                done.append(1)
            except GraphError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert (len(done), errors) == (36, [])
    refused = sim.stats()["throttled"].get("MailboxConcurrency", 0)
    assert 1 <= refused <= 8  # learned after the first ones, then probed back now and then
    assert pacer.concurrency <= 3


def test_a_long_retry_after_stops_the_run_at_its_deadline_without_sending(mailbox):
    sim, uid = mailbox
    sim.inject_fault("/me$", status=429, headers={"Retry-After": "3600"})
    fake = FakeTime()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep, wall_clock=fake.clock)
    client, _, _ = make_client(sim, uid, pacer=pacer, deadline=600.0)
    for _ in range(2):
        with pytest.raises(PacingDeadlineError) as caught:
            client.get("/me")
        assert caught.value.retry_at == pytest.approx(3600.0)
    assert sim.stats()["by_kind"] == {"fault": 1}  # the second call never left
    assert fake.sleeps == []
