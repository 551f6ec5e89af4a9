"""GraphClient and its pacer against Outlook's throttling model on a fake clock.

FakeOutlook (graph_fakes.py) enforces a sliding window of accepted requests per mailbox, answers
429 with Retry-After and extends the throttling of calls that arrive while throttled. The clock
is fake, so minutes of pacing cost nothing and every figure is exact: nothing here reads the
wall clock.
"""

import itertools

import pytest
from graph_fakes import FakeOutlook, FakeTime

from graph import BatchRequest, GraphClient, Pacer, PacingDeadlineError

# Outlook's 10,000 requests per 600 s scaled down a hundredfold: 100 per 6 s, Retry-After in
# (scaled) whole seconds.
LIMIT = 100
WINDOW = 6.0


def outlook(limit=LIMIT, **options):
    clock = FakeTime()
    clock.now = 1000.0
    options.setdefault("extension", WINDOW / 600)
    options.setdefault("resolution", WINDOW / 600)
    return FakeOutlook(clock, limit, WINDOW, **options), clock


def client_for(fake, clock, documented=LIMIT, **options):
    pacer = Pacer(
        max_requests=documented,
        window=WINDOW,
        clock=clock.clock,
        sleep=clock.sleep,
        wall_clock=clock.clock,
    )
    client = GraphClient(
        "https://graph.test",
        lambda force_refresh: "token",
        session=fake,
        pacer=pacer,
        clock=clock.clock,
        sleep=clock.sleep,
        wall_clock=clock.clock,
        **options,
    )
    return client, pacer


def push(client, count):
    """What a first sync does: a few reads, then creates in $batch, 500 per call."""
    for _ in range(3):
        client.get("/me/contactFolders")
    outcomes = []
    for start in range(0, count, 500):
        creates = [
            BatchRequest("POST", "/me/contacts", body={"givenName": f"P{n}"})
            for n in range(start, min(count, start + 500))
        ]
        outcomes += client.batch(creates)
    return outcomes


def figures(fake):
    accepted, refused = len(fake.accepted), len(fake.refused)
    allowed = fake.allowed(fake.accepted[0], fake.accepted[-1])
    return accepted / allowed, refused / (accepted + refused)


@pytest.mark.parametrize("share", [1.0, 0.5, 0.1])
def test_the_pace_follows_the_limit_graph_enforces(share):
    fake, clock = outlook()
    client, pacer = client_for(fake, clock, documented=round(LIMIT / share))
    outcomes = push(client, 1000)
    assert len(outcomes) == 1000 and all(outcome.ok for outcome in outcomes)
    used, throttled = figures(fake)
    assert used >= 0.9
    assert throttled <= 0.01
    assert pacer.budget in range(LIMIT, LIMIT + 2)  # learned (within one probe step)
    assert fake.arrived_while_throttled == 0


def test_a_run_meeting_a_spent_window_waits_and_completes():
    fake, clock = outlook()
    fake.spend(0.9)  # another client of the app sent 90 in the last window, evenly
    client, pacer = client_for(fake, clock)
    outcomes = push(client, 1000)
    assert len(outcomes) == 1000 and all(outcome.ok for outcome in outcomes)
    used, _ = figures(fake)
    assert used >= 0.9
    # The first $batch met the spent window: only what it could not fit was refused, and
    # nothing was sent while throttled (no storm, no extension).
    assert len(fake.refused) <= 20
    assert fake.arrived_while_throttled == 0
    assert pacer.budget == LIMIT  # others' load is not mistaken for a lower limit


def test_a_window_spent_at_once_is_recovered_from():
    fake, clock = outlook()
    fake.spend(0.9, spread=False)  # all 90 just now: they leave together, one window on
    client, _ = client_for(fake, clock)
    outcomes = push(client, 1000)
    assert all(outcome.ok for outcome in outcomes)
    used, throttled = figures(fake)
    assert used >= 0.85
    assert throttled <= 0.02
    assert fake.arrived_while_throttled == 0


def test_others_load_and_a_tighter_limit_at_once_converge():
    fake, clock = outlook()
    fake.spend(0.9)
    client, pacer = client_for(fake, clock, documented=10 * LIMIT)
    outcomes = push(client, 1000)
    assert all(outcome.ok for outcome in outcomes)
    used, throttled = figures(fake)
    assert used >= 0.85
    assert throttled <= 0.06  # a few halvings, each one $batch's overflow at most
    assert pacer.budget in range(LIMIT, LIMIT + 2)


def test_a_limit_that_rises_again_is_found_by_probing():
    fake, clock = outlook()
    client, pacer = client_for(fake, clock, documented=4 * LIMIT)
    push(client, 1000)
    assert pacer.budget in range(LIMIT, LIMIT + 2)
    fake.limit = 3 * LIMIT
    start = len(fake.accepted)
    push(client, 3000)
    windows = (fake.accepted[-1] - fake.accepted[start]) / WINDOW
    assert pacer.budget >= 2.5 * LIMIT
    assert (len(fake.accepted) - start) / windows >= 2 * LIMIT  # the higher rate was used


def test_probing_a_steady_limit_costs_one_request_per_probe_and_grows_rarer():
    fake, clock = outlook()
    client, pacer = client_for(fake, clock, documented=2 * LIMIT)
    push(client, 6000)  # about 60 windows
    refused_at = sorted(set(fake.refused))
    first_event, probes = refused_at[0], refused_at[1:]
    assert len([t for t in fake.refused if t > first_event]) == len(probes)  # one each
    gaps = [later - earlier for earlier, later in itertools.pairwise(probes)]
    assert gaps == sorted(gaps) and gaps[-1] >= 4 * WINDOW
    assert len(fake.refused) / (len(fake.accepted) + len(fake.refused)) <= 0.005


def test_a_long_retry_after_is_honoured():
    fake, clock = outlook(resolution=1.0)
    fake.throttled_until = clock.now + 3600.0  # Graph asks for an hour
    client, pacer = client_for(fake, clock, deadline=clock.now + 7200.0)
    assert client.get("/me")["value"] == []
    assert clock.sleeps and sum(clock.sleeps) >= 3600.0
    # One call met the throttling (it could not know); its retry waited the hour out.
    assert len(fake.refused) == 1 and fake.arrived_while_throttled == 1


def test_the_deadline_stops_the_run_with_retry_at_and_nothing_sent_past_it():
    fake, clock = outlook()
    deadline = clock.now + 20.0
    client, pacer = client_for(fake, clock, documented=10 * LIMIT, deadline=deadline)
    requests_ = [BatchRequest("POST", "/me/contacts", body={"n": n}) for n in range(1000)]
    with pytest.raises(PacingDeadlineError) as raised:
        client.batch(requests_)
    done = [outcome for outcome in raised.value.batch_outcomes if outcome is not None]
    assert all(outcome.ok for outcome in done)  # nothing failed: the rest is still to do
    assert len(done) == len(fake.accepted)  # Graph's window is full, the rest waits
    assert len(fake.accepted) >= 0.98 * 4 * LIMIT  # four windows fit before the deadline
    assert max(fake.accepted + fake.refused) <= deadline
    assert deadline < raised.value.retry_at == pytest.approx(pacer.ready_at())
    assert clock.now <= deadline  # it did not sleep towards a wait it could not finish
    # The next run, once Graph allows, takes up the rest.
    clock.now = raised.value.retry_at
    client.deadline = None
    rest = client.batch(requests_[len(done) :])
    assert all(outcome.ok for outcome in rest) and len(fake.accepted) == 1000
