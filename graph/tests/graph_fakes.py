"""Fake time for tier-1 tests: it moves only when someone sleeps, so waits cost nothing."""

import threading


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []
        self._lock = threading.Lock()

    def clock(self):
        with self._lock:
            return self.now

    __call__ = clock

    def sleep(self, seconds):
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
