"""Contact photos through ContactFolder against the simulator: reads, writes, refusals, the
pacer's concurrency, a worker's expired token and a deadline reached midway."""

import threading
import time

import pytest

from graph import (
    AuthExpiredError,
    ContactFolder,
    GraphClient,
    Pacer,
    PacingDeadlineError,
    PhotoWrite,
)
from graph.client import StaleTokenError

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
OTHER = b"\xff\xd8\xff\xe1" + b"\x01" * 64 + b"\xff\xd9"


@pytest.fixture
def mailbox(graph_sim):
    user = graph_sim.add_user("dora@contoso.example.com")
    token = graph_sim.issue_token(user["id"])
    client = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: token)
    folder = ContactFolder.add(client, "Odoo Contacts")
    return graph_sim, user["id"], client, folder


def _seed(sim, uid, folder, count):
    return [
        c["id"]
        for c in sim.seed_contacts(uid, [{"givenName": f"C{n}"} for n in range(count)], folder.id)
    ]


def test_read_none_then_write_read_and_remove(mailbox):
    sim, uid, client, folder = mailbox
    a, b = _seed(sim, uid, folder, 2)
    assert {k: (r.ok, r.data) for k, r in folder.read_photos([a, b]).items()} == {
        a: (True, None),
        b: (True, None),
    }
    results = folder.write_photos([PhotoWrite(a, JPEG, "image/jpeg"), PhotoWrite(b, None)])
    assert [r.ok for r in results] == [True, True], "removing a photo already gone is done"
    read = folder.read_photos([a, b])
    assert (read[a].data, read[a].content_type) == (JPEG, "image/jpeg")
    assert read[b].data is None
    assert sim.photo(uid, a) == (JPEG, "image/jpeg")
    folder.write_photos([PhotoWrite(a, None)])
    assert sim.photo(uid, a) is None


def test_refused_photos_and_unreadable_ones_are_results_not_raises(mailbox):
    sim, uid, client, folder = mailbox
    a, b, c = _seed(sim, uid, folder, 3)
    sim.configure(photo_max_bytes=50)
    big, corrupt, gone = folder.write_photos(
        [
            PhotoWrite(a, JPEG, "image/jpeg"),
            PhotoWrite(b, b"garbage", "image/jpeg"),
            PhotoWrite("no-such-contact", JPEG, "image/jpeg"),
        ]
    )
    assert not big.ok and big.refused and "413" in big.error
    assert not corrupt.ok and corrupt.refused and "ErrorInvalidImage" in corrupt.error
    assert not gone.ok and gone.refused
    # Server errors: retried (without waiting here), then a result that says why.
    token = sim.issue_token(uid)
    client = GraphClient(sim.graph_endpoint, lambda force_refresh: token, sleep=lambda s: None)
    folder = ContactFolder(client, folder.id)
    sim.inject_fault(path_regex="photo", method="GET", status=500, count=10)
    read = folder.read_photos([c])
    assert not read[c].ok and "500" in read[c].error
    sim.clear_faults()
    sim.inject_fault(path_regex="photo", method="PUT", status=502, count=10)
    (failed,) = folder.write_photos([PhotoWrite(c, JPEG, "image/jpeg")])
    assert not failed.ok and not failed.refused, "a server error is not a refusal of the photo"


def test_photo_requests_go_as_requests_of_their_own_up_to_the_pacers_concurrency(graph_sim):
    user = graph_sim.add_user("erin@contoso.example.com")
    token = graph_sim.issue_token(user["id"])
    pacer = Pacer()
    client = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: token, pacer=pacer)
    folder = ContactFolder.add(client, "Odoo Contacts")
    ids = _seed(graph_sim, user["id"], folder, 12)
    graph_sim.configure(latency=0.05)  # requests overlap while each is in flight
    before = graph_sim.stats()
    results = folder.write_photos([PhotoWrite(i, JPEG, "image/jpeg") for i in ids])
    after = graph_sim.stats()
    assert all(r.ok for r in results)
    assert after["by_kind"]["contacts.photo.put"] == 12
    assert after["batch_calls"] == before["batch_calls"], "no $batch for binary bodies"
    concurrent = after["max_concurrent_per_mailbox"][user["id"]]
    assert 1 < concurrent <= 4, "sent side by side, never above Outlook's 4"
    assert after["throttled_total"] == 0


def test_a_workers_expired_token_is_refreshed_on_the_callers_thread(graph_sim):
    user = graph_sim.add_user("fay@contoso.example.com")
    tokens = [graph_sim.issue_token(user["id"])]
    callers = []

    def provider(force_refresh):
        callers.append((threading.current_thread() is threading.main_thread(), force_refresh))
        if force_refresh:
            tokens.append(graph_sim.issue_token(user["id"]))
        return tokens[-1]

    client = GraphClient(graph_sim.graph_endpoint, provider)
    folder = ContactFolder.add(client, "Odoo Contacts")
    ids = _seed(graph_sim, user["id"], folder, 3)
    graph_sim.expire_access_tokens(user["id"])
    results = folder.write_photos([PhotoWrite(i, JPEG, "image/jpeg") for i in ids])
    assert all(r.ok for r in results)
    assert all(main for main, _force in callers), "the token provider ran on the caller's thread"
    assert any(force for _main, force in callers)
    with pytest.raises(StaleTokenError):
        client.with_token(tokens[0]).get_bytes(folder.photo_path(ids[0]))


def test_an_expired_sign_in_and_a_deadline_are_raised_with_what_was_done(mailbox):
    sim, uid, client, folder = mailbox
    ids = _seed(sim, uid, folder, 2)
    sim.revoke_refresh_tokens(uid)
    sim.expire_access_tokens(uid)
    with pytest.raises(AuthExpiredError):
        folder.read_photos(ids)
    token = sim.issue_token(uid)
    client = GraphClient(sim.graph_endpoint, lambda force_refresh: token, deadline=time.time() - 1)
    late = ContactFolder(client, folder.id)
    with pytest.raises(PacingDeadlineError) as stop:
        late.write_photos([PhotoWrite(i, OTHER, "image/jpeg") for i in ids])
    assert stop.value.photo_results == [None, None]
    assert sim.photo(uid, ids[0]) is None, "nothing is sent past the deadline"


def test_throttled_photo_requests_wait_and_go_again(graph_sim):
    """A 429 on a photo is throttling, not a failure: the mailbox waits as Graph asks."""
    user = graph_sim.add_user("gus@contoso.example.com")
    token = graph_sim.issue_token(user["id"])
    client = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: token, pacer=Pacer())
    folder = ContactFolder.add(client, "Odoo Contacts")
    ids = _seed(graph_sim, user["id"], folder, 8)
    graph_sim.configure(
        rate_limit=5, rate_window=0.5, retry_after_resolution=0.05, throttle_extension=0.0
    )
    results = folder.write_photos([PhotoWrite(i, JPEG, "image/jpeg") for i in ids])
    assert all(r.ok for r in results), [r.error for r in results]
    assert graph_sim.stats()["throttled_total"] >= 1
    assert all(graph_sim.photo(user["id"], i) for i in ids)
