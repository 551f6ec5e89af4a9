import threading
import time

import pytest
from graph_fakes import FakeTime

from graph.pacer import Pacer, PacerRegistry, pacer_for


def make_pacer(**kwargs):
    clock = FakeTime()
    return Pacer(clock=clock, sleep=clock.sleep, **kwargs), clock


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


def test_a_wait_beyond_max_wait_raises_instead_of_sleeping():
    from graph import ThrottledError

    pacer, clock = make_pacer()
    pacer.pause_until(30)
    with pytest.raises(ThrottledError) as raised:
        with pacer.slot(max_wait=10):
            pass
    assert raised.value.retry_after == pytest.approx(30)
    assert clock.sleeps == []
    assert pacer.in_flight == 0 and pacer.waiting == 0
    with pacer.slot(max_wait=60):
        pass
    assert clock.sleeps == [pytest.approx(30)]


def test_pause_is_capped():
    from graph.pacer import MAX_PAUSE_SECONDS

    pacer, clock = make_pacer()
    pacer.pause_until(1e308)
    assert pacer.paused_until == pytest.approx(MAX_PAUSE_SECONDS)


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
