"""ContactFolder against the simulator over HTTPS: finding, delta, reads by id, batched writes."""

import time

import pytest

from graph import (
    AuthExpiredError,
    ContactFolder,
    ContactWrite,
    GraphClient,
    PacingDeadlineError,
)
from graph.contacts import CREATE, DELETE, UPDATE

PROPERTY = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name OdooPartnerRef"


@pytest.fixture
def mailbox(graph_sim):
    user = graph_sim.add_user("carol@contoso.example.com")
    token = graph_sim.issue_token(user["id"])
    client = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: token)
    return graph_sim, user["id"], client


def test_find_create_default_and_exists(mailbox):
    sim, uid, client = mailbox
    assert ContactFolder.find(client, "Odoo Contacts") is None
    assert ContactFolder.default(client) is None, "an empty mailbox: nothing to read yet"
    made = ContactFolder.add(client, "  Odoo Contacts ")
    assert ContactFolder.find(client, "odoo contacts").id == made.id
    assert made.exists()
    default = ContactFolder.default(client)
    assert default is not None and default.id != made.id
    sim.delete_folder(uid, made.id)
    assert not made.exists()


def test_changes_then_delta_then_a_lost_state_reads_all(mailbox):
    sim, uid, client = mailbox
    folder = ContactFolder.add(client, "Odoo Contacts")
    first, second = sim.seed_contacts(uid, [{"givenName": "A"}, {"givenName": "B"}], folder.id)
    round_one = folder.changes()
    assert round_one.full and {i["id"] for i in round_one.items} == {first["id"], second["id"]}

    sim.edit_contact(uid, first["id"], surname="Changed")
    sim.delete_contact(uid, second["id"])
    round_two = folder.changes(round_one.delta_link)
    assert not round_two.full
    assert [i["id"] for i in round_two.items] == [first["id"]]
    assert round_two.removed == {second["id"]}

    sim.reset_sync_state(uid, folder.id)
    round_three = folder.changes(round_two.delta_link)
    assert round_three.full and [i["id"] for i in round_three.items] == [first["id"]]


def test_read_by_id_with_the_property_gone_and_unknown(mailbox):
    sim, uid, client = mailbox
    folder = ContactFolder.add(client, "Odoo Contacts")
    (result,) = folder.write_contacts(
        [
            ContactWrite(
                CREATE,
                body={
                    "givenName": "Ref",
                    "singleValueExtendedProperties": [{"id": PROPERTY, "value": "db:7"}],
                },
            )
        ]
    )
    kept, gone = result.contact_id, sim.seed_contacts(uid, [{"givenName": "X"}], folder.id)[0]
    sim.delete_contact(uid, gone["id"])
    sim.inject_fault(path_regex="Unreadable", method="GET", status=500, count=10)
    found = folder.read_contacts([kept, gone["id"], "Unreadable"], PROPERTY)
    assert found[kept]["singleValueExtendedProperties"] == [{"id": PROPERTY, "value": "db:7"}]
    assert found[gone["id"]] is None
    assert found["Unreadable"] is False
    assert folder.read_contacts([], PROPERTY) == {}


def test_writes_report_each_outcome_in_order(mailbox):
    sim, uid, client = mailbox
    folder = ContactFolder.add(client, "Odoo Contacts")
    one, two, three = sim.seed_contacts(
        uid, [{"givenName": "One"}, {"givenName": "Two"}, {"givenName": "Three"}], folder.id
    )
    sim.delete_contact(uid, three["id"])
    results = folder.write_contacts(
        [
            ContactWrite(CREATE, body={"givenName": "New"}),
            ContactWrite(UPDATE, one["id"], {"jobTitle": "Buyer"}, if_match=one["changeKey"]),
            ContactWrite(UPDATE, two["id"], {"jobTitle": "Late"}, if_match="stale-key"),
            ContactWrite(DELETE, three["id"]),  # gone already: done
            ContactWrite(UPDATE, "AAMk-no-such-id", {"jobTitle": "x"}),
        ]
    )
    created, updated, stale, deleted, missing = results
    assert created.ok and created.contact_id and created.change_key
    assert sim.get_contact(uid, created.contact_id)["givenName"] == "New"
    assert updated.ok and updated.contact_id == one["id"]
    assert updated.change_key != one["changeKey"]
    assert not stale.ok and "412" in stale.error
    assert deleted.ok
    assert not missing.ok and "404" in missing.error
    with pytest.raises(ValueError):
        folder.write_contacts([ContactWrite("rename", "x")])


def test_a_failed_call_fails_the_unanswered_writes_and_an_expired_sign_in_ends_it(mailbox):
    sim, uid, client = mailbox
    folder = ContactFolder.add(client, "Odoo Contacts")
    sim.inject_fault(path_regex=r"\$batch", method="POST", status=400, count=1)
    (result,) = folder.write_contacts([ContactWrite(CREATE, body={"givenName": "Lost"})])
    assert not result.ok and result.error
    sim.expire_access_tokens(uid)
    sim.revoke_refresh_tokens(uid)
    with pytest.raises(AuthExpiredError):
        folder.write_contacts([ContactWrite(CREATE, body={"givenName": "Never"})])


def test_graph_asking_to_wait_past_the_deadline_stops_with_what_landed(mailbox):
    sim, uid, _client = mailbox
    token = sim.issue_token(uid)
    client = GraphClient(sim.graph_endpoint, lambda force_refresh: token, deadline=time.time() + 2)
    folder = ContactFolder.add(client, "Odoo Contacts")
    sim.configure(rate_limit=5, rate_window=600)  # spent after the folder and 4 contacts
    writes = [ContactWrite(CREATE, body={"givenName": f"P{n}"}) for n in range(8)]
    with pytest.raises(PacingDeadlineError) as caught:
        folder.write_contacts(writes)
    results = caught.value.write_results
    assert len(results) == 8
    landed = [r for r in results if r is not None]
    assert landed and all(r.ok and r.contact_id for r in landed)
    assert None in results, "the rest is for the next run, not failed"
    stored = {c["id"] for c in sim.contacts(uid, folder_id=folder.id)}
    assert {r.contact_id for r in landed} == stored
    assert caught.value.retry_at > time.time() + 2


def test_a_delete_under_if_match_leaves_a_contact_changed_since(mailbox):
    sim, uid, client = mailbox
    folder = ContactFolder.add(client, "Odoo Contacts")
    kept, removed = sim.seed_contacts(
        uid, [{"givenName": "Kept"}, {"givenName": "Gone"}], folder.id
    )
    stale, fresh = folder.write_contacts(
        [
            ContactWrite(DELETE, kept["id"], if_match="stale-key"),
            ContactWrite(DELETE, removed["id"], if_match=removed["changeKey"]),
        ]
    )
    assert not stale.ok and stale.status == 412
    assert fresh.ok and fresh.status == 204
    assert [c["id"] for c in sim.contacts(uid, folder_id=folder.id)] == [kept["id"]]


def test_find_contacts_by_our_property(mailbox):
    sim, uid, client = mailbox
    folder = ContactFolder.add(client, "Odoo Contacts")
    other = ContactFolder.add(client, "Elsewhere")
    body = {
        "givenName": "Ref",
        "singleValueExtendedProperties": [{"id": PROPERTY, "value": "db:7"}],
    }
    (made,) = folder.write_contacts([ContactWrite(CREATE, body=body)])
    other.write_contacts([ContactWrite(CREATE, body={**body, "givenName": "Other folder"})])
    sim.inject_fault(path_regex="db%3A9", method="GET", status=500, count=10)
    found = folder.find_by_property(PROPERTY, ["db:7", "db:8", "db:9", "it's"])
    assert (found["db:7"]["id"], found["db:7"]["changeKey"]) == (made.contact_id, made.change_key)
    assert found["db:8"] is None and found["it's"] is None
    assert found["db:9"] is False, "unknown for now: never read as none"
    assert folder.find_by_property(PROPERTY, []) == {}
