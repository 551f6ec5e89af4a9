"""Client behaviour that is easier to pin down with a scripted transport than a simulator."""

import io
import json

import pytest
import requests
from graph_fakes import FakeTime
from requests.structures import CaseInsensitiveDict

from graph import (
    AuthExpiredError,
    BadRequestError,
    BatchRequest,
    ConflictError,
    ForbiddenError,
    GraphClient,
    MalformedResponseError,
    NotFoundError,
    Pacer,
    PacingDeadlineError,
    ServerError,
    SyncStateLostError,
    ThrottledError,
    TransportError,
    error_from_response,
)

GRAPH = "https://graph.test"
TOKEN = "secret-token-value"


def response(status=200, body=None, headers=None, raw=None):
    resp = requests.Response()
    resp.status_code = status
    resp.headers = CaseInsensitiveDict(headers or {})
    if raw is None:
        raw = b"" if body is None else json.dumps(body).encode()
    resp.raw = io.BytesIO(raw)
    resp.encoding = "utf-8"
    return resp


class ScriptedSession:
    """Answers from a script; records what the client sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(method, url, kwargs)
        return answer

    def close(self):
        pass


def make_client(*answers, **kwargs):
    session = ScriptedSession(*answers)
    fake = FakeTime()
    tokens = []

    def token_provider(force_refresh):
        tokens.append(force_refresh)
        return TOKEN if not force_refresh else TOKEN + "-fresh"

    kwargs.setdefault("wall_clock", fake.clock)
    client = GraphClient(
        GRAPH,
        token_provider,
        session=session,
        clock=fake.clock,
        sleep=fake.sleep,
        **kwargs,
    )
    return client, session, fake, tokens


def graph_error(code, message="nope"):
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "rid-1"}}}


def test_every_call_carries_the_required_headers():
    client, session, _, _ = make_client(response(200, {"value": []}), verify="/tmp/ca.pem")
    list(client.iter_pages("/me/contacts", page_size=50))
    call = session.calls[0]
    headers = call["headers"]
    assert call["url"] == f"{GRAPH}/v1.0/me/contacts"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Prefer"] == 'odata.maxpagesize=50, IdType="ImmutableId"'
    assert headers["Accept"] == "application/json"
    assert len(headers["client-request-id"]) == 36
    assert call["timeout"] == (5, 30)
    assert call["stream"] is True
    assert call["allow_redirects"] is False
    assert call["verify"] == "/tmp/ca.pem"


def test_verify_is_left_to_requests_when_not_given():
    client, session, _, _ = make_client(response(204))
    assert client.delete("/me/contacts/1") is None
    assert "verify" not in session.calls[0]


def test_a_link_to_another_host_is_never_followed():
    page = {"value": [{"id": "1"}], "@odata.nextLink": "https://evil.test/v1.0/me/contacts?p=2"}
    client, session, _, _ = make_client(response(200, page))
    with pytest.raises(MalformedResponseError) as caught:
        list(client.iter_pages("/me/contacts"))
    assert len(session.calls) == 1
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "link",
    ["https://graph.test.evil.io/v1.0/x", "http://graph.test/v1.0/x", "https://graph.test:444/x"],
)
def test_lookalike_hosts_are_refused(link):
    client, session, _, _ = make_client()
    with pytest.raises(MalformedResponseError):
        client.get(link)
    assert session.calls == []


def test_absolute_link_on_the_graph_host_is_followed_verbatim():
    link = f"{GRAPH}/v1.0/me/contacts?$skiptoken=abc%3D"
    client, session, _, _ = make_client(response(200, {"value": []}))
    client.get(link)
    assert session.calls[0]["url"] == link
    assert session.calls[0]["params"] is None


def test_caller_prefer_is_merged_in_one_header():
    client, session, _, _ = make_client(response(200, {}))
    client.get("/me/contacts", headers={"prefer": 'outlook.body-content-type="text"'})
    headers = session.calls[0]["headers"]
    assert [k for k in headers if k.lower() == "prefer"] == ["Prefer"]
    assert headers["Prefer"] == 'outlook.body-content-type="text", IdType="ImmutableId"'


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "ErrorInvalidProperty", BadRequestError),
        (409, "ErrorFolderExists", BadRequestError),
        (403, "ErrorAccessDenied", ForbiddenError),
        (404, "ErrorItemNotFound", NotFoundError),
        (412, "ErrorIrresolvableConflict", ConflictError),
        (409, "ErrorIrresolvableConflict", ConflictError),
        (410, "SyncStateNotFound", SyncStateLostError),
        (400, "syncStateNotFound", SyncStateLostError),
        (400, "resyncRequired", SyncStateLostError),
        (429, "TooManyRequests", ThrottledError),
        (500, "InternalServerError", ServerError),
    ],
)
def test_status_and_code_map_to_typed_errors(status, code, cls):
    error = error_from_response(
        status, graph_error(code, "Readable reason."), method="GET", path="/me/contacts"
    )
    assert type(error) is cls
    assert error.status == status
    assert error.code == code
    assert error.message == "Readable reason."
    assert error.request_id == "rid-1"
    assert "Readable reason." in str(error)
    assert "HTTP" in str(error)


def test_error_text_has_no_query_string_and_no_token():
    client, _, _, _ = make_client(response(404, graph_error("ErrorItemNotFound")))
    with pytest.raises(NotFoundError) as caught:
        client.get(f"{GRAPH}/v1.0/me/contacts/abc?$deltatoken=private")
    text = str(caught.value)
    assert "private" not in text
    assert TOKEN not in text
    assert "/me/contacts/abc" in text


def test_non_json_error_body_keeps_the_status_type():
    client, _, _, _ = make_client(response(403, raw=b"<html>Forbidden by proxy</html>"))
    with pytest.raises(ForbiddenError, match="Forbidden by proxy"):
        client.get("/me")


def test_json_that_is_not_an_object_is_malformed():
    client, _, _, _ = make_client(response(200, [1, 2]), response(200, {"nope": 1}))
    with pytest.raises(MalformedResponseError):
        client.get("/me")
    with pytest.raises(MalformedResponseError, match="collection"):
        list(client.iter_pages("/me/contacts"))


def test_declared_oversized_body_is_refused_before_reading():
    big = response(200, raw=b"{}", headers={"Content-Length": "999999"})
    client, _, _, _ = make_client(big, max_response_bytes=1000)
    with pytest.raises(MalformedResponseError, match="larger than 1000"):
        client.get("/me")


def test_streamed_oversized_body_is_cut_off_while_reading():
    class CountingRaw(io.BytesIO):
        consumed = 0

        def read(self, size=-1):
            data = super().read(size)
            CountingRaw.consumed += len(data)
            return data

    chunked = response(200)
    chunked.raw = CountingRaw(b'{"value": [' + b'"x",' * 100_000 + b'"x"]}')
    client, _, _, _ = make_client(chunked, max_response_bytes=64 * 1024)
    with pytest.raises(MalformedResponseError, match="larger than"):
        client.get("/me/contacts")
    assert CountingRaw.consumed < 200 * 1024
    assert chunked.raw.closed


def test_post_is_not_retried_after_504_or_a_read_timeout():
    client, session, fake, _ = make_client(response(504))
    with pytest.raises(ServerError):
        client.post("/me/contacts", {"givenName": "A"})
    assert len(session.calls) == 1
    client, session, _, _ = make_client(requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransportError, match="read timeout"):
        client.post("/me/contacts", {"givenName": "A"})
    assert len(session.calls) == 1
    assert fake.sleeps == []


def test_post_is_retried_on_429_and_on_503_with_retry_after():
    client, session, fake, _ = make_client(
        response(429, graph_error("TooManyRequests"), {"Retry-After": "2"}),
        response(503, graph_error("ServiceUnavailable"), {"Retry-After": "0.5"}),
        response(201, {"id": "new"}),
    )
    assert client.post("/me/contacts", {"givenName": "A"}) == {"id": "new"}
    assert fake.sleeps == [2.0, 0.5]
    assert len(session.calls) == 3


def test_post_is_retried_when_the_connection_was_never_made():
    client, session, _, _ = make_client(
        requests.exceptions.ConnectTimeout("connect"), response(201, {"id": "new"})
    )
    assert client.post("/me/contacts", {})["id"] == "new"
    assert len(session.calls) == 2


def test_get_retries_are_bounded_by_count():
    client, session, fake, _ = make_client(*[response(502) for _ in range(4)], max_retries=3)
    with pytest.raises(ServerError):
        client.get("/me")
    assert len(session.calls) == 4
    assert len(fake.sleeps) == 3


def test_retries_are_bounded_by_total_time():
    answers = [response(429, headers={"Retry-After": "40"}) for _ in range(5)]
    client, session, fake, _ = make_client(*answers, max_retries=10, max_retry_seconds=100)
    with pytest.raises(ThrottledError) as caught:
        client.get("/me")
    assert fake.sleeps == [40.0, 40.0]
    assert caught.value.retry_after == 40.0
    assert len(session.calls) == 3


def test_tls_failures_are_not_retried():
    client, session, _, _ = make_client(requests.exceptions.SSLError("bad cert"))
    with pytest.raises(TransportError, match="TLS"):
        client.get("/me")
    assert len(session.calls) == 1


def test_empty_token_is_an_auth_error():
    client = GraphClient(GRAPH, lambda force: "", session=ScriptedSession())
    with pytest.raises(AuthExpiredError):
        client.get("/me")


def test_delta_keeps_the_last_occurrence_of_each_id():
    pages = [
        {
            "value": [
                {"id": "a", "n": 1},
                {"id": "b", "n": 1},
                {"id": "c", "@removed": {"reason": "deleted"}},
            ],
            "@odata.nextLink": f"{GRAPH}/v1.0/delta?p=2",
        },
        {"value": [], "@odata.nextLink": f"{GRAPH}/v1.0/delta?p=3"},
        {
            "value": [
                {"id": "a", "n": 2},
                {"id": "b", "@removed": {"reason": "changed"}},
                {"id": "c", "n": 3},
                {"id": "d", "@removed": {}},
            ],
            "@odata.deltaLink": f"{GRAPH}/v1.0/delta?token=z",
        },
    ]
    client, session, _, _ = make_client(*[response(200, page) for page in pages])
    result = client.delta("/me/contactFolders/f/contacts/delta", select=["givenName", "surname"])
    assert [item["id"] for item in result.items] == ["a", "c"]
    assert result.items[0]["n"] == 2
    assert result.removed == {"b": "changed", "d": "deleted"}
    assert result.ambiguous == {"b", "c"}  # seen both present and removed in this round
    assert result.delta_link == f"{GRAPH}/v1.0/delta?token=z"
    assert result.pages == 3
    assert session.calls[0]["params"] == {"$select": "givenName,surname"}
    assert session.calls[0]["headers"]["Prefer"].startswith("odata.maxpagesize=200")
    assert all(call["params"] is None for call in session.calls[1:])


def test_delta_page_without_any_link_is_malformed():
    client, _, _, _ = make_client(response(200, {"value": []}))
    with pytest.raises(MalformedResponseError, match="deltaLink"):
        client.delta("/me/contactFolders/f/contacts/delta")


def test_batch_items_without_answer_or_status_are_malformed_outcomes():
    def answer(method, url, kwargs):
        items = json.loads(kwargs["data"])["requests"]
        responses = [
            {"id": items[0]["id"], "status": 200, "body": {"ok": 1}},
            {"id": items[1]["id"]},
            {"status": 200},
        ]
        return response(200, {"responses": responses})

    client, _, _, _ = make_client(answer)
    outcomes = client.batch([BatchRequest("GET", f"/me/contacts/{n}") for n in range(3)])
    assert outcomes[0].ok and outcomes[0].body == {"ok": 1}
    assert isinstance(outcomes[1].error, MalformedResponseError)
    assert isinstance(outcomes[2].error, MalformedResponseError)


def test_batch_payload_shape():
    sent = []

    def answer(method, url, kwargs):
        payload = json.loads(kwargs["data"])
        sent.append((url, payload))
        responses = [{"id": item["id"], "status": 204} for item in payload["requests"]]
        return response(200, {"responses": list(reversed(responses))})

    requests_ = [
        BatchRequest("PATCH", f"{GRAPH}/v1.0/me/contacts/x", body={"a": 1}, id="2"),
        *[BatchRequest("DELETE", f"me/contacts/{n}") for n in range(24)],
    ]
    client, _, _, _ = make_client(answer, answer)
    outcomes = client.batch(requests_)
    assert [len(payload["requests"]) for _, payload in sent] == [20, 5]
    assert all(url == f"{GRAPH}/v1.0/$batch" for url, _ in sent)
    first = sent[0][1]["requests"][0]
    assert first == {
        "id": "2",
        "method": "PATCH",
        "url": "/me/contacts/x",
        "body": {"a": 1},
        "headers": {"Prefer": 'IdType="ImmutableId"', "Content-Type": "application/json"},
    }
    ids = [item["id"] for _, payload in sent for item in payload["requests"]]
    assert len(set(ids)) == 25
    assert [outcome.request for outcome in outcomes][1:] == [
        BatchRequest("DELETE", f"me/contacts/{n}", id=ids[n + 1]) for n in range(24)
    ]
    assert all(outcome.status == 204 and outcome.ok for outcome in outcomes)


def test_batch_refuses_duplicate_ids():
    client, _, _, _ = make_client()
    with pytest.raises(ValueError):
        client.batch([BatchRequest("GET", "/me", id="1"), BatchRequest("GET", "/me", id="1")])


def paced_client(*answers, **kwargs):
    """A client and its pacer on one fake clock (the fake clock is the wall clock too)."""
    fake = FakeTime()
    session = ScriptedSession(*answers)
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep, wall_clock=fake.clock)
    client = GraphClient(
        GRAPH,
        lambda force_refresh: TOKEN,
        session=session,
        pacer=pacer,
        clock=fake.clock,
        sleep=fake.sleep,
        wall_clock=fake.clock,
        **kwargs,
    )
    return client, session, fake, pacer


def test_a_huge_retry_after_is_honoured_and_raises_at_once_past_the_deadline():
    client, session, fake, pacer = paced_client(
        response(429, graph_error("ApplicationThrottled"), {"Retry-After": "86400"}),
        response(200, {"id": "me"}),
        deadline=3600.0,
    )
    with pytest.raises(PacingDeadlineError) as first:
        client.get("/me")
    assert isinstance(first.value, ThrottledError)
    assert first.value.retry_at == pytest.approx(86400)
    assert (first.value.method, first.value.path) == ("GET", "/me")
    with pytest.raises(PacingDeadlineError):
        client.get("/me")  # the whole mailbox waits: raised before anything is sent
    assert len(session.calls) == 1
    assert fake.sleeps == []
    client.deadline = 90000.0  # the next run has the time
    assert client.get("/me") == {"id": "me"}
    assert fake.sleeps == [pytest.approx(86400)]
    assert len(session.calls) == 2


def test_throttling_never_fails_a_request_while_the_deadline_allows():
    throttled = [
        response(429, graph_error("ApplicationThrottled"), {"Retry-After": "30"}) for _ in range(8)
    ]
    client, session, fake, _ = paced_client(
        *throttled, response(201, {"id": "new"}), max_retries=2, deadline=1000.0
    )
    assert client.post("/me/contacts", {"givenName": "A"}) == {"id": "new"}
    assert len(session.calls) == 9  # eight 429s, more than max_retries, and no failure
    assert fake.sleeps == [pytest.approx(30)] * 8


def test_nothing_is_sent_once_the_deadline_has_passed():
    client, session, fake, _ = paced_client(response(200, {"id": "me"}), deadline=50.0)
    fake.now = 60.0
    with pytest.raises(PacingDeadlineError) as raised:
        client.get("/me")
    assert raised.value.retry_at == pytest.approx(60.0)
    assert session.calls == []


def test_without_a_pacer_a_throttled_wait_past_the_deadline_raises_too():
    client, session, fake, _ = make_client(
        response(429, graph_error("ApplicationThrottled"), {"Retry-After": "40"}),
        response(429, graph_error("ApplicationThrottled"), {"Retry-After": "40"}),
        deadline=60.0,
    )
    with pytest.raises(PacingDeadlineError) as raised:
        client.get("/me")
    assert fake.sleeps == [40.0]
    assert raised.value.retry_at == pytest.approx(80.0)
    assert len(session.calls) == 2


def test_the_kind_of_throttling_reaches_the_pacer():
    concurrency = graph_error("ApplicationThrottled", "Application is over its MailboxConcurrency")
    client, _, _, pacer = paced_client(
        response(429, concurrency, {"Retry-After": "1"}),
        response(503, graph_error("ServiceUnavailable"), {"Retry-After": "2"}),
        response(200, {"id": "me"}),
    )
    assert client.get("/me") == {"id": "me"}
    assert pacer.concurrency == 1  # one request in flight was one too many
    assert pacer.paused_until == pytest.approx(3.0)  # 1 s, then 2 s more
    assert pacer.budget == pacer.max_requests  # neither says the request budget is spent


def test_transport_error_does_not_chain_the_url_with_its_tokens():
    link = f"{GRAPH}/v1.0/me/contacts/delta?$deltatoken=very-private-token"
    failure = requests.exceptions.ConnectionError(f"Max retries exceeded with url: {link}")
    client, _, _, _ = make_client(*[failure] * 10, max_retries=1)
    with pytest.raises(TransportError) as raised:
        client.get(link)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert "very-private-token" not in str(raised.value)


def test_a_batch_url_outside_the_api_is_refused_before_anything_is_sent():
    client, session, _, _ = make_client()
    requests_ = [BatchRequest("POST", "/me/contacts", body={"n": i}) for i in range(25)]
    requests_.append(BatchRequest("GET", "https://graph.test/beta/me"))
    with pytest.raises(ValueError):
        client.batch(requests_)
    assert session.calls == []
