"""Adaptive pacing per mailbox: send what Graph will accept, learned from its 429 answers.

Outlook documents 4 concurrent requests and 10,000 requests per 10 minutes per app and mailbox.
Graph may enforce less, and other processes of the same app spend the same budget, so these are
ceilings, not targets. Every request of one mailbox from this process goes through its pacer:

- It keeps a sliding window of the requests Graph accepted and sends no more than its budget per
  window, and no more than its concurrency at once. Both start at the documented limits and never
  go above them.
- A 429 (or a 503 with Retry-After) pauses the whole mailbox until Graph allows again: requests
  in flight finish, the queued ones wait, none is sent meanwhile. Graph extends the throttling of
  clients that keep sending while throttled.
- A 429 for the request rate lowers the budget (multiplicative decrease). When Graph's window
  holds only our own requests (it frees when our oldest one leaves), what it accepted from us is
  the limit it enforces: that becomes the budget. When it frees sooner, others' requests fill it
  (another process, earlier traffic). They leave within one window length, and the pacer spreads
  its requests over that time to take their place as they leave, instead of racing for each free
  slot. A further 429 while others' load is assumed halves the budget.
- After a whole window with no 429 in which requests waited for the budget, the budget grows by
  one step (additive increase), sent as a call of its own so that a refused probe costs that
  step, not a whole $batch. Each step Graph accepts doubles the next one (a budget cut too far
  comes back quickly); a probe that fails doubles the time before the next one. Concurrency
  adapts the same way: halved on a 429 for concurrency or a 503, one more slot after a run of
  answers without one while requests waited for a slot.
- A caller may bound its wait (GraphClient turns its deadline into that bound). A wait that would
  end later raises PacingDeadlineError at once, with `retry_at`, instead of sleeping; nothing is
  sent past it.

The pacer is per process: other Odoo workers are not counted (the account lock keeps one sync per
mailbox at a time); what they spend shows up as others' load in Graph's answers.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from .errors import PacingDeadlineError

_logger = logging.getLogger(__name__)

# What a 429 or 503 says about the mailbox; GraphClient tells the pacer which one it got.
RATE = "rate"
CONCURRENCY = "concurrency"
UNAVAILABLE = "unavailable"

# A 429 although others' load was already assumed: keep this share of the budget.
DECREASE = 0.5
# One additive step, as a share of the budget (at least one request).
PROBE_STEP = 0.01
# A failed probe doubles the time to the next one, up to this many windows.
MAX_PROBE_WINDOWS = 16
# Answers in a row without a concurrency 429, per slot, before one more slot is tried.
CONCURRENCY_PROBE_ANSWERS = 10
# Graph's Retry-After and our send stamps agree within this share of the window, or others'
# requests are in Graph's window.
OWN_WINDOW_TOLERANCE = 0.005


@dataclass
class _Entry:
    sent_at: float
    # When it leaves our window: the answer time for our requests (Graph counts a request when
    # it arrives, after we sent it, so counting from the answer never frees our window before
    # Graph's), the estimated arrival for others' requests.
    stamp: float
    cost: int
    own: bool = True


class Grant:
    """One admitted request or $batch: report what Graph refused of it via Pacer.throttled."""

    def __init__(self, entry: _Entry, in_flight: int) -> None:
        self._entry = entry
        # Requests of the mailbox in flight with this one (a concurrency 429 says so many were
        # too many).
        self.in_flight = in_flight

    @property
    def sent_at(self) -> float:
        return self._entry.sent_at


class Pacer:
    def __init__(
        self,
        max_in_flight: int = 4,
        max_requests: int = 10000,
        window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if max_in_flight < 1 or max_requests < 1 or window <= 0:
            raise ValueError("pacer limits must be positive")
        # The documented limits: ceilings the learned values never pass.
        self.max_in_flight = max_in_flight
        self.max_requests = max_requests
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._cond = threading.Condition()
        self._budget = max_requests
        self._concurrency = max_in_flight
        self._in_flight = 0
        self._entries: collections.deque[_Entry] = collections.deque()
        self._paused_until = float("-inf")
        self._queue: collections.deque[object] = collections.deque()
        # Probing: only after a clean window in which the budget held requests back.
        self._budget_held_back = False
        # What Graph is known to have accepted in one window: a probe beyond it that Graph also
        # accepts is confirmed (single-threaded callers report each 429 before the next call).
        self._confirmed = max_requests
        self._probe_step = 0  # 0: not probing
        self._next_probe_at = float("-inf")
        self._probe_windows = 1
        self._concurrency_credit = 0
        self._concurrency_held_back = False

    # -- what the pacer knows ----------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def paused_until(self) -> float:
        """Clock time before which no request of this mailbox starts."""
        with self._cond:
            return self._paused_until

    @property
    def budget(self) -> int:
        """Requests per window the pacer lets through now (learned, at most max_requests)."""
        with self._cond:
            return min(self._budget, self.max_requests)

    @property
    def concurrency(self) -> int:
        """Requests at once the pacer lets through now (learned, at most max_in_flight)."""
        with self._cond:
            return min(self._concurrency, self.max_in_flight)

    def batch_limit(self) -> int:
        """Most requests one call should carry now: what the window still has room for.

        A window with room for fewer than a full call sends that many now instead of holding
        them back until a whole call fits. A probe sends only its step, so a refused probe
        costs that step, not a whole $batch. A full window: the budget (the call waits).
        """
        with self._cond:
            now = self._clock()
            self._forget(now)
            self._probe_budget(now)
            budget = min(self._budget, self.max_requests)
            room = budget - self._used(now)
            if self._probe_step:
                return max(1, room)
            return room if room > 0 else budget

    def wait_time(self, cost: int = 1) -> float:
        """Seconds before a request of this cost could start, by what is known now."""
        with self._cond:
            return self._time_to_send(self._clock(), self._capped_cost(cost))

    def ready_at(self, cost: int = 1) -> float:
        """Wall-clock time (epoch seconds) at which a request of this cost could start."""
        return self._wall_clock() + self.wait_time(cost)

    # -- what Graph said ---------------------------------------------------------------------

    def pause_until(self, seconds_from_now: float) -> None:
        """After a Retry-After, the whole mailbox waits, not just the request that got it."""
        with self._cond:
            self._pause(self._clock(), seconds_from_now)
            self._cond.notify_all()

    def throttled(
        self,
        retry_after: float | None,
        *,
        kind: str = RATE,
        grant: Grant | None = None,
        refused: int = 0,
    ) -> None:
        """Graph refused `refused` requests of `grant` (429, or 503 with Retry-After)."""
        with self._cond:
            now = self._clock()
            if grant is not None and refused:
                # Graph does not count what it refused against the window.
                grant._entry.cost = max(0, grant._entry.cost - int(refused))
            if retry_after is not None:
                self._pause(now, retry_after)
            if kind == RATE:
                free_at = now + max(0.0, retry_after or 0.0)
                # Graph counted the refused request after it was sent: what was in our window
                # then is what was in Graph's (counting from now could miss a $batch that left
                # while the answer was on its way or waiting to be read).
                counted_at = grant.sent_at if grant is not None else now
                self._learn_budget(now, free_at, counted_at)
            elif kind in (CONCURRENCY, UNAVAILABLE):
                in_flight = grant.in_flight if grant is not None else self._in_flight
                self._concurrency = max(1, math.ceil(min(self._concurrency, in_flight) / 2))
                self._concurrency_credit = 0
            _logger.debug(
                "throttled (%s, %s refused, retry after %s s): budget %d per %g s (%d assumed "
                "others' in the window), concurrency %d",
                kind,
                refused,
                retry_after,
                self._budget,
                self.window,
                sum(1 for entry in self._live(now) if not entry.own),
                self._concurrency,
            )
            self._cond.notify_all()

    # -- sending -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def slot(
        self, concurrency: int = 1, cost: int = 1, max_wait: float | None = None
    ) -> Iterator[Grant]:
        """Hold `concurrency` in-flight slots for a request that Graph counts `cost` times.

        PacingDeadlineError, at once and without sending, when the request could start only
        more than `max_wait` seconds from now (a caller's deadline, as time left).
        """
        slots = min(max(1, int(concurrency)), self.max_in_flight)
        grant = self._acquire(slots, max(1, int(cost)), max_wait)
        answered = False
        try:
            yield grant
            answered = True
        finally:
            with self._cond:
                grant._entry.stamp = max(grant._entry.stamp, self._clock())
                self._in_flight -= slots
                if answered:
                    self._credit_concurrency()
                self._cond.notify_all()

    def _acquire(self, slots: int, cost: int, max_wait: float | None) -> Grant:
        # First come, first served: a $batch waiting for 4 free slots is not starved by a
        # stream of single requests that each need only one.
        ticket = object()
        with self._cond:
            limit = None if max_wait is None else self._clock() + float(max_wait)
            self._queue.append(ticket)
            try:
                while True:
                    if self._queue[0] is not ticket:
                        self._cond.wait()
                        continue
                    now = self._clock()
                    self._probe_budget(now)
                    wait = self._time_to_send(now, self._capped_cost(cost))
                    if wait > self._paused_until - now:
                        self._budget_held_back = True
                    if limit is not None and now + wait > limit:
                        raise PacingDeadlineError(
                            "the mailbox is paced (Retry-After or the request rate) beyond "
                            "the deadline of this run",
                            retry_after=round(wait, 3),
                            retry_at=self._wall_clock() + wait,
                        )
                    if wait > 0:
                        # Time-based waits go through the injected sleep (tests use a fake
                        # clock); the lock is released meanwhile so finishing requests can
                        # free their slots.
                        self._cond.release()
                        try:
                            self._sleep(wait)
                        finally:
                            self._cond.acquire()
                        continue
                    if not self._slots_free(slots):
                        self._concurrency_held_back = True
                        self._cond.wait()
                        continue
                    self._in_flight += slots
                    entry = _Entry(sent_at=now, stamp=now, cost=cost)
                    self._entries.append(entry)
                    return Grant(entry, self._in_flight)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def _capped_cost(self, cost: int) -> int:
        # A $batch bigger than the whole budget would otherwise wait forever: it goes alone.
        return min(max(1, int(cost)), self._budget, self.max_requests)

    def _slots_free(self, slots: int) -> bool:
        allowed = min(self._concurrency, self.max_in_flight)
        # A $batch wider than the learned concurrency goes alone.
        return self._in_flight == 0 or self._in_flight + slots <= allowed

    def _time_to_send(self, now: float, cost: int) -> float:
        return max(self._paused_until - now, self._rate_wait(now, cost), 0.0)

    def _live(self, at: float) -> Iterator[_Entry]:
        """The entries in the window at time `at`."""
        return (entry for entry in self._entries if entry.stamp + self.window > at)

    def _used(self, now: float) -> int:
        return sum(entry.cost for entry in self._live(now))

    def _rate_wait(self, now: float, cost: int) -> float:
        self._forget(now)
        budget = min(self._budget, self.max_requests)
        used = self._used(now)
        if used + cost <= budget:
            return 0.0
        # The oldest requests leave the window first: wait until enough of them have. Stamps
        # move to answer times, so the deque is not sorted.
        excess = used + cost - budget
        for entry in sorted(self._live(now), key=lambda e: e.stamp):
            excess -= entry.cost
            if excess <= 0:
                return max(entry.stamp + self.window - now, 1e-6)
        return self.window

    def _forget(self, now: float) -> None:
        # A request leaves the window `window` seconds after its stamp (written so, rounding
        # cannot keep it in at the very moment a wait for it ends). Entries are kept one window
        # more, for a 429 whose answer arrives late (see throttled()).
        horizon = now - 2 * self.window
        if any(entry.stamp <= horizon for entry in self._entries):
            self._entries = collections.deque(e for e in self._entries if e.stamp > horizon)

    # -- learning ----------------------------------------------------------------------------

    def _pause(self, now: float, seconds: float) -> None:
        # Honoured however long: a caller that cannot wait that long has a deadline.
        self._paused_until = max(self._paused_until, now + max(0.0, float(seconds)))

    def _learn_budget(self, now: float, free_at: float, counted_at: float) -> None:
        self._forget(now)
        own = [entry for entry in self._live(counted_at) if entry.own and entry.cost > 0]
        accepted = sum(entry.cost for entry in own)
        oldest_sent = min((entry.sent_at for entry in own), default=None)
        others_assumed = any(not entry.own for entry in self._live(now))
        self._entries = collections.deque(entry for entry in self._entries if entry.own)
        tolerance = OWN_WINDOW_TOLERANCE * self.window
        if oldest_sent is not None and free_at + tolerance >= oldest_sent + self.window:
            # Graph frees a slot only when our oldest request leaves: its window is ours, and
            # what it accepted from us is what it enforces.
            if self._probe_step:
                self._probe_windows = min(self._probe_windows * 2, MAX_PROBE_WINDOWS)
            self._budget = max(1, accepted)
        else:
            # Others' requests fill Graph's window and leave it by one window from now.
            if others_assumed:
                self._budget = max(1, accepted, math.floor(self._budget * DECREASE))
            self._assume_others(now, free_at, self._budget - accepted)
        self._budget = min(self._budget, self.max_requests)
        self._confirmed = min(self._confirmed, self._budget)
        self._probe_step = 0
        self._next_probe_at = now + self._probe_windows * self.window
        self._budget_held_back = False

    def _assume_others(self, now: float, free_at: float, count: int) -> None:
        """Others' requests, leaving evenly from `free_at` until one window from now."""
        if count <= 0:
            return
        span = max(0.0, now + self.window - free_at)
        for index in range(count):
            leaves_at = free_at + span * index / count
            stamp = leaves_at - self.window
            self._entries.append(_Entry(sent_at=stamp, stamp=stamp, cost=1, own=False))

    def _probe_budget(self, now: float) -> None:
        """Additive increase, one step; each step Graph accepts doubles the next (slow start)."""
        ceiling = self.max_requests
        if self._probe_step and self._used(now) > self._confirmed:
            # Graph took more than it was known to: the step held. Go on at once.
            self._confirmed = self._used(now)
            self._probe_windows = 1
            self._probe_step *= 2
            self._budget = min(ceiling, self._confirmed + self._probe_step)
            if self._budget >= ceiling:
                self._probe_step = 0
            return
        if self._probe_step or self._budget >= ceiling:
            return
        if now < self._next_probe_at or not self._budget_held_back:
            return
        self._confirmed = self._budget
        self._probe_step = max(1, math.ceil(self._budget * PROBE_STEP))
        self._budget = min(ceiling, self._budget + self._probe_step)
        self._budget_held_back = False

    def _credit_concurrency(self) -> None:
        if self._concurrency >= self.max_in_flight:
            return
        self._concurrency_credit += 1
        if (
            self._concurrency_held_back
            and self._concurrency_credit >= CONCURRENCY_PROBE_ANSWERS * self._concurrency
        ):
            self._concurrency += 1
            self._concurrency_credit = 0
            self._concurrency_held_back = False


class PacerRegistry:
    """One pacer per mailbox key (e.g. app id + mailbox id), shared by all clients."""

    def __init__(self, factory: Callable[[], Pacer] = Pacer) -> None:
        self._factory = factory
        self._pacers: dict[Hashable, Pacer] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Pacer:
        with self._lock:
            pacer = self._pacers.get(key)
            if pacer is None:
                pacer = self._pacers[key] = self._factory()
            return pacer

    def clear(self) -> None:
        with self._lock:
            self._pacers.clear()


_default_registry = PacerRegistry()


def pacer_for(key: Hashable) -> Pacer:
    """The process-wide pacer of one mailbox."""
    return _default_registry.get(key)
