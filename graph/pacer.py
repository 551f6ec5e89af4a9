"""Client-side pacing per mailbox, so Outlook's limits are met before Graph answers 429.

Outlook allows 4 concurrent requests and 10,000 requests per 10 minutes per app and mailbox;
every request to one mailbox from this process goes through that mailbox's pacer. The pacer is
per process: Odoo workers in other processes are not counted (the account lock keeps one sync
per mailbox at a time, so that is enough in practice).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Hashable, Iterator

from .errors import ThrottledError

# A Retry-After longer than this is capped: the next request simply asks Graph again.
MAX_PAUSE_SECONDS = 900.0


class Pacer:
    def __init__(
        self,
        max_in_flight: int = 4,
        max_requests: int = 10000,
        window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_in_flight < 1 or max_requests < 1 or window <= 0:
            raise ValueError("pacer limits must be positive")
        self.max_in_flight = max_in_flight
        self.max_requests = max_requests
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        # [stamp, cost]; the stamp moves to the answer's arrival (see slot()).
        self._sent: collections.deque[list] = collections.deque()
        self._sent_total = 0
        self._paused_until = float("-inf")
        self._queue: collections.deque[object] = collections.deque()

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

    def pause_until(self, seconds_from_now: float) -> None:
        """After a Retry-After, the whole mailbox waits, not just the request that got it."""
        seconds = min(max(0.0, float(seconds_from_now)), MAX_PAUSE_SECONDS)
        with self._cond:
            until = self._clock() + seconds
            self._paused_until = max(self._paused_until, until)
            self._cond.notify_all()

    @contextlib.contextmanager
    def slot(
        self, concurrency: int = 1, cost: int = 1, max_wait: float | None = None
    ) -> Iterator[None]:
        """Hold `concurrency` in-flight slots; ThrottledError if the wait would pass max_wait."""
        slots = min(max(1, int(concurrency)), self.max_in_flight)
        # A single $batch bigger than the whole window would otherwise wait forever.
        cost = min(max(1, int(cost)), self.max_requests)
        entry = self._acquire(slots, cost, max_wait)
        try:
            yield
        finally:
            with self._cond:
                # Graph counts a request when it arrives, after we sent it: counting it from
                # the answer keeps our window from freeing before Graph's does.
                entry[0] = max(entry[0], self._clock())
                self._in_flight -= slots
                self._cond.notify_all()

    def _acquire(self, slots: int, cost: int, max_wait: float | None) -> list:
        # First come, first served: a $batch waiting for 4 free slots is not starved by a
        # stream of single requests that each need only one.
        ticket = object()
        deadline = None if max_wait is None else self._clock() + max(0.0, max_wait)
        with self._cond:
            self._queue.append(ticket)
            try:
                while True:
                    if self._queue[0] is not ticket:
                        self._cond.wait()
                        continue
                    now = self._clock()
                    wait = max(self._paused_until - now, self._rate_wait(now, cost))
                    if wait > 0 and deadline is not None and now + wait > deadline:
                        raise ThrottledError(
                            "this mailbox is paced (an earlier Retry-After or the request "
                            "rate) beyond the time this call may wait",
                            retry_after=round(wait, 3),
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
                    if self._in_flight + slots > self.max_in_flight:
                        self._cond.wait()
                        continue
                    self._in_flight += slots
                    entry = [now, cost]
                    self._sent.append(entry)
                    self._sent_total += cost
                    return entry
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def _rate_wait(self, now: float, cost: int) -> float:
        horizon = now - self.window
        # Stamps move to answer times, so the oldest entry is not always first: filter all.
        if any(stamp <= horizon for stamp, _spent in self._sent):
            self._sent = collections.deque(e for e in self._sent if e[0] > horizon)
            self._sent_total = sum(spent for _stamp, spent in self._sent)
        if self._sent_total + cost <= self.max_requests:
            return 0.0
        # Oldest requests leave the window first: wait until enough of them have.
        excess = self._sent_total + cost - self.max_requests
        for stamp, spent in sorted(self._sent):
            excess -= spent
            if excess <= 0:
                return max(stamp + self.window - now, 1e-6)
        return self.window


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
