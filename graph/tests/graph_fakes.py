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


class FakeOutlook:
    """One mailbox's Outlook throttling on a FakeTime, served as a requests session.

    Each call arrives `latency / 2` after it is sent (Graph counts it then; a $batch's items
    arrive together) and is answered `latency` after it was sent. Graph keeps a sliding window
    of the requests it accepted: beyond `limit` per `window` seconds it answers 429 with a
    Retry-After (whole multiples of `resolution`) until its oldest request leaves. A call that
    arrives while the mailbox is throttled is refused and extends the throttling by
    `extension`. Creates answer 201, everything else 200 with an empty page.
    """

    def __init__(self, time, limit, window, latency=0.05, extension=1.0, resolution=0.001):
        self.time = time
        self.limit = limit
        self.window = window
        self.latency = latency
        self.extension = extension
        self.resolution = resolution
        self.stamps = []  # arrival of every request counted in the window, others' included
        self.accepted = []  # arrival of each of our accepted requests
        self.refused = []  # arrival of each of our refused requests
        self.calls = 0
        self.arrived_while_throttled = 0  # calls that did, each extending the throttling
        self.throttled_until = float("-inf")
        self._ids = 0

    def spend(self, fraction, spread=True):
        """Another client spent `fraction` of the window: evenly over the last window, or now."""
        count = round(fraction * self.limit)
        now = self.time.now
        for n in range(count):
            self.stamps.append(now - self.window + (n + 1) * self.window / count if spread else now)

    def allowed(self, start, end):
        """Most requests the limit let through in [start, end], sent as early as it allowed."""
        window = sorted(s for s in self.stamps if s + self.window > start and s < start)
        count, now = 0, start
        while now <= end:
            window = [s for s in window if s + self.window > now]
            if len(window) < self.limit:
                window.append(now)
                count += 1
            else:
                now = window[0] + self.window
        return count

    def _admit(self, now, first_of_call):
        if now < self.throttled_until:
            if first_of_call:
                self.arrived_while_throttled += 1
                self.throttled_until += self.extension
            return self.throttled_until - now
        live = [s for s in self.stamps if s + self.window > now]
        if len(live) >= self.limit:
            self.throttled_until = live[0] + self.window
            return self.throttled_until - now
        self.stamps.append(now)
        return None

    def _retry_after(self, seconds):
        steps = max(1, -(-seconds // self.resolution))
        return f"{steps * self.resolution:.6f}".rstrip("0").rstrip(".")

    def _answer(self, status, body, headers=None):
        import io
        import json

        import requests
        from requests.structures import CaseInsensitiveDict

        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers or {})
        response.raw = io.BytesIO(json.dumps(body).encode() if body is not None else b"")
        response.encoding = "utf-8"
        return response

    def _item(self, method, arrival, first_of_call):
        wait = self._admit(arrival, first_of_call)
        if wait is not None:
            self.refused.append(arrival)
            error = {"error": {"code": "ApplicationThrottled", "message": "MailboxRequestRate"}}
            return 429, error, {"Retry-After": self._retry_after(wait)}
        self.accepted.append(arrival)
        if method == "POST":
            self._ids += 1
            return 201, {"id": f"contact-{self._ids}"}, {}
        return 200, {"value": [], "@odata.deltaLink": "https://graph.test/v1.0/delta"}, {}

    def request(self, method, url, **kwargs):
        import json

        self.calls += 1
        with self.time._lock:
            self.time.now += self.latency / 2
            arrival = self.time.now
        if url.endswith("/$batch"):
            items = json.loads(kwargs["data"])["requests"]
            responses = []
            for position, item in enumerate(items):
                status, body, headers = self._item(item["method"], arrival, position == 0)
                responses.append(
                    {"id": item["id"], "status": status, "body": body, "headers": headers}
                )
            answer = self._answer(200, {"responses": responses})
        else:
            answer = self._answer(*self._item(method, arrival, True))
        with self.time._lock:
            self.time.now += self.latency / 2
        return answer

    def close(self):
        pass
