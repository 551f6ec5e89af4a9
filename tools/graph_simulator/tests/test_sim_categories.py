"""Outlook's master categories (/me/outlook/masterCategories) over real HTTPS."""

import pytest
import requests

SCOPES = ("Contacts.ReadWrite", "User.Read", "MailboxSettings.ReadWrite")


def session(sim, user_id, scopes=SCOPES):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {sim.issue_token(user_id, scopes=scopes)}"
    return s


@pytest.fixture
def user(graph_sim):
    return graph_sim.add_user("cat@contoso.example.com")


def test_master_categories_list_create_update_delete(graph_sim, user):
    s = session(graph_sim, user["id"])
    url = f"{graph_sim.graph_endpoint}/v1.0/me/outlook/masterCategories"
    listed = s.get(url, timeout=10).json()["value"]
    assert [c["displayName"] for c in listed][:2] == ["Red category", "Orange category"]
    created = s.post(url, json={"displayName": "VIP", "color": "preset9"}, timeout=10)
    assert created.status_code == 201
    vip = created.json()
    assert (vip["displayName"], vip["color"]) == ("VIP", "preset9") and vip["id"]
    again = s.post(url, json={"displayName": "vip", "color": "preset1"}, timeout=10)
    assert again.status_code == 409 and again.json()["error"]["code"] == "ErrorAlreadyExists"
    one = f"{url}/{vip['id']}"
    assert s.patch(one, json={"color": "preset4"}, timeout=10).json()["color"] == "preset4"
    renamed = s.patch(one, json={"displayName": "Very Important"}, timeout=10)
    assert renamed.status_code == 400, "a category cannot be renamed"
    assert s.post(url, json={"displayName": "X", "color": "blue"}, timeout=10).status_code == 400
    assert s.delete(one, timeout=10).status_code == 204
    assert s.get(one, timeout=10).status_code == 404
    assert "VIP" not in [c["displayName"] for c in graph_sim.master_categories(user["id"])]


def test_master_categories_need_mailbox_settings_permission(graph_sim, user):
    s = session(graph_sim, user["id"], scopes=("Contacts.ReadWrite", "User.Read"))
    url = f"{graph_sim.graph_endpoint}/v1.0/me/outlook/masterCategories"
    assert s.get(url, timeout=10).status_code == 403
    assert s.post(url, json={"displayName": "VIP"}, timeout=10).status_code == 403
    reader = session(graph_sim, user["id"], scopes=("MailboxSettings.Read",))
    assert reader.get(url, timeout=10).status_code == 200
    assert reader.post(url, json={"displayName": "VIP"}, timeout=10).status_code == 403


def test_master_categories_survive_snapshots_and_seed_through_the_api(graph_sim, user):
    graph_sim.add_master_category(user["id"], "Lead", "preset4")
    graph_sim.snapshot("cats")
    graph_sim.add_master_category(user["id"], "Later", "preset5")
    graph_sim.restore("cats")
    names = [c["displayName"] for c in graph_sim.master_categories(user["id"])]
    assert "Lead" in names and "Later" not in names
    with pytest.raises(ValueError):
        graph_sim.add_master_category(user["id"], "lead")
