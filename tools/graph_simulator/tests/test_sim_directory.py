"""Directory: /users paging, /users/delta, group transitive members (app-only token)."""

import pytest
import requests


@pytest.fixture
def app(graph_sim):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {graph_sim.issue_app_token()}"
    return graph_sim, s, f"{graph_sim.base_url}/v1.0"


def test_users_paging_top_999(app):
    sim, s, base = app
    for i in range(1005):
        sim.add_user(f"user{i}@contoso.example.com", department="Sales" if i % 2 else "R&D")
    page = s.get(
        f"{base}/users", params={"$top": "999", "$select": "id,displayName,mail"}, timeout=30
    )
    body = page.json()
    assert len(body["value"]) == 999 and "@odata.nextLink" in body
    assert set(body["value"][0]) == {"id", "displayName", "mail"}
    rest = s.get(body["@odata.nextLink"], timeout=30).json()
    assert len(rest["value"]) == 6 and "@odata.nextLink" not in rest
    bad = s.get(f"{base}/users", params={"$top": "1000"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_UnsupportedQuery"
    flt = s.get(
        f"{base}/users", params={"$filter": "department eq 'r&d'", "$top": "999"}, timeout=30
    )
    assert len(flt.json()["value"]) == 503


def test_users_delta(app):
    sim, s, base = app
    a = sim.add_user("a@contoso.example.com", jobTitle="Dev")
    b = sim.add_user("b@contoso.example.com")
    c = sim.add_user("c@contoso.example.com")
    url = f"{base}/users/delta?$select=displayName,jobTitle,accountEnabled"
    headers = {"Prefer": "odata.maxpagesize=2"}
    items, delta = [], None
    while True:
        body = s.get(url, headers=headers, timeout=10).json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            delta = body["@odata.deltaLink"]
            break
        url = body["@odata.nextLink"]
    assert {u["id"] for u in items} == {a["id"], b["id"], c["id"]}
    assert set(items[0]) <= {"id", "displayName", "jobTitle", "accountEnabled"}
    sim.update_user(a["id"], jobTitle="Lead")
    sim.update_user(b["id"], accountEnabled=False)
    sim.delete_user(c["id"])
    d = sim.add_user("d@contoso.example.com")
    body = s.get(delta, timeout=10).json()
    by_id = {u["id"]: u for u in body["value"]}
    assert by_id[a["id"]]["jobTitle"] == "Lead"
    assert by_id[b["id"]]["accountEnabled"] is False
    assert by_id[c["id"]] == {"id": c["id"], "@removed": {"reason": "deleted"}}
    assert d["id"] in by_id and len(by_id) == 4
    # tokens older than 7 simulated days -> 410
    sim.advance_time(8 * 24 * 3600)
    s.headers["Authorization"] = f"Bearer {sim.issue_app_token()}"  # the old one expired too
    gone = s.get(body["@odata.deltaLink"], timeout=10)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "SyncStateNotFound"


def test_transitive_members(app):
    sim, s, base = app
    users = [sim.add_user(f"m{i}@contoso.example.com") for i in range(5)]
    inner = sim.add_group("Inner", members=[users[0]["id"], users[1]["id"]])
    middle = sim.add_group("Middle", members=[inner["id"], users[2]["id"], users[0]["id"]])
    outer = sim.add_group("Outer", members=[middle["id"], users[3]["id"]])
    url = f"{base}/groups/{outer['id']}/transitiveMembers/microsoft.graph.user"
    body = s.get(url, params={"$select": "id,mail", "$top": "2"}, timeout=10).json()
    ids = [u["id"] for u in body["value"]]
    while "@odata.nextLink" in body:
        body = s.get(body["@odata.nextLink"], timeout=10).json()
        ids += [u["id"] for u in body["value"]]
    assert sorted(ids) == sorted(u["id"] for u in users[:4])
    everything = s.get(f"{base}/groups/{outer['id']}/transitiveMembers", timeout=10).json()["value"]
    types = sorted(m["@odata.type"] for m in everything)
    assert types.count("#microsoft.graph.group") == 2 and types.count("#microsoft.graph.user") == 4
    direct = s.get(f"{base}/groups/{outer['id']}/members", timeout=10).json()["value"]
    assert len(direct) == 2
    assert s.get(f"{base}/groups/nope/transitiveMembers", timeout=10).status_code == 404


def test_delegated_token_may_read_directory_and_mailbox_isolation(graph_sim):
    a = graph_sim.add_user("a@contoso.example.com")
    b = graph_sim.add_user("b@contoso.example.com")
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {graph_sim.issue_token(a['id'])}"
    base = f"{graph_sim.base_url}/v1.0"
    assert len(s.get(f"{base}/users", timeout=10).json()["value"]) == 2
    assert s.get(f"{base}/users/{b['id']}/contacts", timeout=10).status_code == 403
    assert s.get(f"{base}/users/{a['id']}/contacts", timeout=10).status_code == 200
    ro = requests.Session()
    ro.headers["Authorization"] = f"Bearer {graph_sim.issue_token(a['id'], scopes=('User.Read',))}"
    assert ro.get(f"{base}/me/contacts", timeout=10).status_code == 403
    # app token reaches any mailbox of the tenant
    app = requests.Session()
    app.headers["Authorization"] = f"Bearer {graph_sim.issue_app_token()}"
    graph_sim.seed_contacts(b["id"], [{"givenName": "X"}])
    got = app.get(f"{base}/users/b@contoso.example.com/contacts", timeout=10).json()["value"]
    assert [c["givenName"] for c in got] == ["X"]


def test_group_membership_changes_show_in_transitive_listings(app):
    sim, s, base = app
    users = [sim.add_user(f"g{i}@contoso.example.com", jobTitle=f"Job {i}") for i in range(4)]
    nested = sim.add_group("Nested", members=[users[0]["id"]])
    parent = sim.add_group("Parent", members=[nested["id"], users[1]["id"]])
    url = f"{base}/groups/{parent['id']}/transitiveMembers/microsoft.graph.user"

    def listing():
        body = s.get(url, params={"$select": "id,jobTitle,userType"}, timeout=10).json()
        return {u["id"]: u for u in body["value"]}

    first = listing()
    assert set(first) == {users[0]["id"], users[1]["id"]}
    assert first[users[0]["id"]]["jobTitle"] == "Job 0" and "mail" not in first[users[0]["id"]]
    admin = f"{sim.base_url}/_sim/groups"
    direct = requests.patch(
        f"{admin}/{nested['id']}/members",
        json={"add": [users[2]["id"], users[2]["id"]], "remove": [users[0]["id"]]},
        timeout=10,
    ).json()
    assert direct == [users[2]["id"]]
    sim.remove_group_members(parent["id"], [users[1]["id"]])
    sim.add_group_members(parent["id"], [users[3]["id"]])
    assert set(listing()) == {users[2]["id"], users[3]["id"]}
    assert sim.group_members(parent["id"]) == [nested["id"], users[3]["id"]]
