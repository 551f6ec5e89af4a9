import threading
import time

import pytest
from graph_fakes import FakeTime

from graph import PacingDeadlineError
from graph.pacer import CONCURRENCY, RATE, UNAVAILABLE, Pacer, PacerRegistry, pacer_for


def make_pacer(**kwargs):
    clock = FakeTime()
    return Pacer(clock=clock, sleep=clock.sleep, wall_clock=clock.clock, **kwargs), clock


def test_never_more_than_four_in_flight_with_ten_threads():
    pacer, _ = make_pacer(max_in_flight=4)
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "done": 0}

    def worker():
        for _ in range(5):
            with pacer.slot():
                with lock:
                    state["now"] += 1
                    state["max"] = max(state["max"], state["now"])
                time.sleep(0.002)
                with lock:
                    state["now"] -= 1
        with lock:
            state["done"] += 1

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert state["done"] == 10
    assert state["max"] == 4  # reached, never exceeded
    assert pacer.in_flight == 0


def test_batch_takes_several_slots_and_blocks_single_requests():
    pacer, _ = make_pacer(max_in_flight=4)
    entered = threading.Event()
    with pacer.slot(concurrency=20, cost=20):
        assert pacer.in_flight == 4

        def single():
            with pacer.slot():
                entered.set()

        thread = threading.Thread(target=single)
        thread.start()
        assert not entered.wait(0.05)
    assert entered.wait(5)
    thread.join(5)
    assert pacer.in_flight == 0


def test_slot_is_released_when_the_body_raises():
    pacer, _ = make_pacer(max_in_flight=1)
    with pytest.raises(RuntimeError), pacer.slot():
        raise RuntimeError("boom")
    assert pacer.in_flight == 0


def test_rate_window_waits_for_the_oldest_request_to_leave():
    pacer, clock = make_pacer(max_requests=5, window=10.0)
    for _ in range(5):
        with pacer.slot():
            pass
    assert clock.sleeps == []
    with pacer.slot():
        pass
    assert clock.sleeps == [pytest.approx(10.0)]
    assert clock.now == pytest.approx(10.0)


def test_rate_window_is_sliding_and_counts_batch_cost():
    pacer, clock = make_pacer(max_requests=10, window=60.0)
    with pacer.slot(concurrency=4, cost=4):
        pass
    clock.now = 30.0
    with pacer.slot(concurrency=4, cost=6):
        pass
    assert clock.sleeps == []
    # Full: the 4 from t=0 must leave before 3 more fit (t=60), not the 6 from t=30.
    with pacer.slot(concurrency=3, cost=3):
        pass
    assert clock.sleeps == [pytest.approx(30.0)]
    assert clock.now == pytest.approx(60.0)


def test_cost_larger_than_the_window_does_not_deadlock():
    pacer, clock = make_pacer(max_requests=3, window=10.0)
    with pacer.slot(concurrency=4, cost=50):
        pass
    with pacer.slot():
        pass
    assert clock.sleeps == [pytest.approx(10.0)]


def test_pause_until_holds_every_request_of_the_mailbox():
    pacer, clock = make_pacer()
    pacer.pause_until(7.5)
    pacer.pause_until(2.0)  # a shorter pause never shortens a longer one
    with pacer.slot():
        pass
    assert clock.sleeps == [pytest.approx(7.5)]
    with pacer.slot():
        pass
    assert len(clock.sleeps) == 1


def test_pause_applies_to_waiting_threads_too():
    pacer, clock = make_pacer()
    pacer.pause_until(3.0)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(pacer.slot().__enter__())) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 3
    assert clock.now >= 3.0
    assert sum(clock.sleeps) == pytest.approx(3.0)


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError):
        Pacer(max_in_flight=0)
    with pytest.raises(ValueError):
        Pacer(window=0)


def test_registry_gives_one_pacer_per_mailbox():
    registry = PacerRegistry(factory=lambda: Pacer(max_in_flight=2))
    first = registry.get(("app", "alice"))
    assert registry.get(("app", "alice")) is first
    assert registry.get(("app", "bob")) is not first
    assert first.max_in_flight == 2
    assert pacer_for("mailbox-x") is pacer_for("mailbox-x")


def test_waiting_batch_is_served_before_later_single_requests():
    pacer, _ = make_pacer(max_in_flight=4)
    order = []
    first = pacer.slot()
    first.__enter__()
    batch_waiting = threading.Event()

    def batch():
        batch_waiting.set()
        with pacer.slot(concurrency=4, cost=4):
            order.append("batch")

    def single(n):
        with pacer.slot():
            order.append(f"single{n}")

    batch_thread = threading.Thread(target=batch)
    batch_thread.start()
    batch_waiting.wait(5)
    deadline = time.monotonic() + 5
    while pacer.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    singles = [threading.Thread(target=single, args=(n,)) for n in range(3)]
    for thread in singles:
        thread.start()
    while pacer.waiting < 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert order == []  # three slots are free, yet the singles queue behind the batch
    first.__exit__(None, None, None)
    for thread in [batch_thread, *singles]:
        thread.join(5)
    assert order[0] == "batch"
    assert sorted(order[1:]) == ["single0", "single1", "single2"]


def test_a_wait_past_the_deadline_raises_at_once_with_retry_at():
    pacer, clock = make_pacer()
    pacer.pause_until(30)
    with pytest.raises(PacingDeadlineError) as raised:
        with pacer.slot(max_wait=10):
            pass
    assert raised.value.retry_after == pytest.approx(30)
    assert raised.value.retry_at == pytest.approx(30)  # the wall clock here is the fake clock
    assert clock.sleeps == []
    assert pacer.in_flight == 0 and pacer.waiting == 0
    with pacer.slot(max_wait=60):
        pass
    assert clock.sleeps == [pytest.approx(30)]


def test_nothing_starts_once_the_deadline_has_passed():
    pacer, clock = make_pacer()
    clock.now = 100.0
    with pytest.raises(PacingDeadlineError) as raised:
        with pacer.slot(max_wait=-1):
            pass
    assert raised.value.retry_at == pytest.approx(100.0)  # nothing holds the mailbox back
    assert pacer.in_flight == 0


def test_a_long_retry_after_is_honoured_in_full():
    pacer, clock = make_pacer()
    pacer.throttled(86400.0, kind=RATE)
    assert pacer.paused_until == pytest.approx(86400.0)
    assert pacer.ready_at() == pytest.approx(86400.0)
    with pacer.slot():
        pass
    assert clock.sleeps == [pytest.approx(86400.0)]


def test_a_request_counts_from_its_answer_so_the_window_never_frees_early():
    pacer, clock = make_pacer(max_requests=2, window=10.0)
    with pacer.slot():
        clock.sleep(3.0)  # the answer takes 3 s: Graph counted it on arrival, later than t=0
    with pacer.slot():
        pass
    clock.sleeps.clear()
    with pacer.slot():  # the window is full until the first request's answer time + 10 s
        pass
    assert clock.sleeps == [pytest.approx(10.0)]


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)
    return condition()


def test_a_429_holds_the_requests_queued_behind_the_one_that_got_it():
    pacer, clock = make_pacer(max_in_flight=1)
    started = []
    first = pacer.slot()
    grant = first.__enter__()

    def queued():
        with pacer.slot():
            started.append(clock.now)

    thread = threading.Thread(target=queued)
    thread.start()
    assert wait_until(lambda: pacer.waiting == 1)
    pacer.throttled(5.0, grant=grant, refused=1)
    first.__exit__(None, None, None)
    thread.join(5)
    assert started == [pytest.approx(5.0)]  # it was queued, not throttled itself, and waited


def test_graph_s_own_window_teaches_the_budget_it_enforces():
    pacer, clock = make_pacer(max_requests=1000, window=60.0)
    for _ in range(5):
        with pacer.slot(concurrency=20, cost=20) as grant:
            clock.now += 0.1  # Graph counts each $batch 0.05 s after it was sent
    # The fifth $batch: Graph took 8 of 20, and frees a slot when our first request leaves.
    pacer.throttled(60.05 - clock.now, grant=grant, refused=12)
    assert pacer.budget == 88
    assert pacer.paused_until == pytest.approx(60.05)
    clock.sleeps.clear()
    with pacer.slot(concurrency=20, cost=20):
        pass
    # Our oldest $batch leaves our window 60 s after its answer (t=0.1): then 20 fit again.
    assert clock.now == pytest.approx(60.1)


def test_others_requests_in_graph_s_window_are_waited_for_one_by_one():
    pacer, clock = make_pacer(max_requests=100, window=60.0)
    with pacer.slot(concurrency=20, cost=20) as grant:
        clock.now += 0.1
    # Graph took 6 of 20, and its oldest request leaves in 0.6 s: that one is not ours.
    pacer.throttled(0.6, grant=grant, refused=14)
    assert pacer.budget == 100  # the others spent the window, the limit is unchanged
    with pacer.slot(concurrency=20, cost=20):
        pass
    # 94 requests of others are assumed to leave evenly from t=0.7 to t=60.1: the next
    # $batch goes when 20 of them have left, instead of racing them for each free slot.
    assert clock.now == pytest.approx(0.7 + 19 * 59.4 / 94)


def test_a_429_although_others_were_assumed_halves_the_budget():
    pacer, clock = make_pacer(max_requests=100, window=60.0)
    with pacer.slot(concurrency=20, cost=20) as grant:
        clock.now += 0.1
    pacer.throttled(0.6, grant=grant, refused=14)
    with pacer.slot(concurrency=20, cost=20) as grant:
        clock.now += 0.1
    pacer.throttled(0.5, grant=grant, refused=20)
    assert pacer.budget == 50


def test_a_concurrency_429_halves_the_concurrency_not_the_budget():
    pacer, clock = make_pacer()
    held = [pacer.slot() for _ in range(4)]
    grants = [slot.__enter__() for slot in held]
    pacer.throttled(1.0, kind=CONCURRENCY, grant=grants[-1], refused=1)
    for slot in held:
        slot.__exit__(None, None, None)
    assert pacer.concurrency == 2
    assert pacer.budget == 10000
    assert pacer.paused_until == pytest.approx(1.0)


def test_a_503_with_retry_after_pauses_and_halves_the_concurrency():
    pacer, clock = make_pacer()
    with pacer.slot(concurrency=4, cost=4) as grant:
        pass
    pacer.throttled(2.0, kind=UNAVAILABLE, grant=grant, refused=4)
    assert (pacer.concurrency, pacer.budget) == (2, 10000)
    assert pacer.paused_until == pytest.approx(2.0)


def test_concurrency_comes_back_one_slot_at_a_time_while_requests_wait_for_one():
    pacer, _ = make_pacer(max_in_flight=4)
    held = [pacer.slot() for _ in range(4)]
    grants = [slot.__enter__() for slot in held]
    pacer.throttled(0.0, kind=CONCURRENCY, grant=grants[-1], refused=1)
    for slot in held:
        slot.__exit__(None, None, None)
    assert pacer.concurrency == 2
    lock = threading.Lock()
    seen = []
    state = {"now": 0}

    def worker():
        for _ in range(40):
            with pacer.slot():
                with lock:
                    state["now"] += 1
                    seen.append(state["now"])
                time.sleep(0.0005)
                with lock:
                    state["now"] -= 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert max(seen[:10]) <= 2  # first held to the learned concurrency
    assert max(seen) == 4  # then back up, never beyond the documented 4
    assert pacer.concurrency == 4


def test_a_429_read_late_counts_what_graph_counted_when_it_refused():
    pacer, clock = make_pacer(max_requests=1000, window=10.0)
    for _ in range(5):  # 100 requests, answered at t=0.1 ... 0.5
        with pacer.slot(concurrency=20, cost=20):
            clock.now += 0.1
    clock.now = 10.02  # Graph still counts all 100 (they arrived after t=0.02)
    with pacer.slot(concurrency=20, cost=20) as grant:
        clock.now = 10.35  # the answer is read late: three $batches have left our window since
    pacer.throttled(0.03, grant=grant, refused=20)
    assert pacer.budget == 100  # not 40
