"""Contacts, folders, extended properties and folder delta over real HTTPS."""

import pytest
import requests

PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name OdooPartnerRef"


class Client:
    def __init__(self, sim, user_id):
        self.sim = sim
        self.base = f"{sim.graph_endpoint}/v1.0"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {sim.issue_token(user_id)}"
        self.s.headers["Prefer"] = 'IdType="ImmutableId"'

    def __getattr__(self, method):
        def call(path, **kw):
            url = path if path.startswith("https://") else self.base + path
            return self.s.request(method.upper(), url, timeout=10, **kw)

        return call


@pytest.fixture
def client(graph_sim):
    user = graph_sim.add_user("alice@contoso.example.com")
    return Client(graph_sim, user["id"])


def test_crud_change_key_and_if_match(client):
    r = client.post("/me/contacts", json={"givenName": "Ada", "surname": "Lovelace"})
    assert r.status_code == 201
    c = r.json()
    assert c["displayName"] == "Ada Lovelace"
    assert c["@odata.etag"] == f'W/"{c["changeKey"]}"'
    assert r.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    r = client.patch(f"/me/contacts/{c['id']}", json={"jobTitle": "Countess"})
    c2 = r.json()
    assert r.status_code == 200 and c2["changeKey"] != c["changeKey"]
    assert c2["givenName"] == "Ada" and c2["jobTitle"] == "Countess"
    # stale etag -> 412; current -> OK
    stale = client.patch(
        f"/me/contacts/{c['id']}", json={"jobTitle": "X"}, headers={"If-Match": c["@odata.etag"]}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    ok = client.patch(
        f"/me/contacts/{c['id']}", json={"surname": "King"}, headers={"If-Match": c2["@odata.etag"]}
    )
    assert ok.status_code == 200 and ok.json()["displayName"] == "Ada King"
    got = client.get(f"/me/contacts/{c['id']}", params={"$select": "givenName"}).json()
    assert set(got) == {"@odata.etag", "id", "givenName"}
    assert client.delete(f"/me/contacts/{c['id']}").status_code == 204
    missing = client.get(f"/me/contacts/{c['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"
    # edits made "in Outlook" through the Python API
    c = client.post("/me/contacts", json={"givenName": "Bob"}).json()
    edited = client.sim.edit_contact(client.sim.users()[0]["id"], c["id"], companyName="ACME")
    assert edited["changeKey"] != c["changeKey"]
    assert client.get(f"/me/contacts/{c['id']}").json()["companyName"] == "ACME"


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (
            {"emailAddresses": [{"address": f"a{i}@x.com"} for i in range(4)]},
            "ErrorInvalidProperty",
            "EmailAddresses",
        ),
        ({"businessPhones": ["1", "2", "3"]}, "ErrorInvalidProperty", "BusinessPhones"),
        ({"homePhones": ["1", "2", "3"]}, "ErrorInvalidProperty", "HomePhones"),
        ({"nickname2": "x"}, "RequestBodyRead", "nickname2"),
        ({"givenName": 3}, "RequestBodyRead", "givenName"),
        ({"businessPhones": "123"}, "RequestBodyRead", "businessPhones"),
        ({"homeAddress": {"zip": "1000"}}, "RequestBodyRead", "zip"),
        ({"emailAddresses": [{"address": "a@x", "type": "work"}]}, "RequestBodyRead", "type"),
    ],
)
def test_validation_400(client, body, code, needle):
    r = client.post("/me/contacts", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == code and needle in err["message"]
    assert {"request-id", "date"} <= set(err["innerError"])


def test_limits_ok_at_the_edge(client):
    body = {
        "emailAddresses": [{"address": f"a{i}@x.com"} for i in range(3)],
        "businessPhones": ["1", "2"],
        "homePhones": ["3", "4"],
    }
    assert client.post("/me/contacts", json=body).status_code == 201


def test_extended_property_and_email_filter(client):
    body = {
        "givenName": "Grace",
        "emailAddresses": [{"name": "G", "address": "Grace@Navy.mil"}],
        "singleValueExtendedProperties": [{"id": PROP, "value": "db1:42"}],
    }
    c = client.post("/me/contacts", json=body).json()
    assert "singleValueExtendedProperties" not in c
    client.post("/me/contacts", json={"givenName": "Other"})
    expand = f"singleValueExtendedProperties($filter=id eq '{PROP}')"
    got = client.get(f"/me/contacts/{c['id']}", params={"$expand": expand}).json()
    assert got["singleValueExtendedProperties"] == [{"id": PROP, "value": "db1:42"}]
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'db1:42')"
    found = client.get("/me/contacts", params={"$filter": flt}).json()["value"]
    assert [x["id"] for x in found] == [c["id"]]
    # name is case-sensitive, GUID is not
    other = PROP.replace("OdooPartnerRef", "odoopartnerref")
    flt2 = f"singleValueExtendedProperties/Any(ep: ep/id eq '{other}' and ep/value eq 'db1:42')"
    assert client.get("/me/contacts", params={"$filter": flt2}).json()["value"] == []
    flt3 = flt.replace("66f5a359", "66F5A359")
    assert len(client.get("/me/contacts", params={"$filter": flt3}).json()["value"]) == 1
    by_mail = client.get(
        "/me/contacts", params={"$filter": "emailAddresses/any(a:a/address eq 'grace@navy.mil')"}
    ).json()["value"]
    assert [x["id"] for x in by_mail] == [c["id"]]


def test_paging_top_and_folders(client):
    sim = client.sim
    uid = sim.users()[0]["id"]
    sim.seed_contacts(uid, [{"givenName": f"P{i}"} for i in range(25)])
    seen, url, params = [], "/me/contacts", {"$top": "10"}
    while url:
        page = client.get(url, params=params).json()
        seen += [c["id"] for c in page["value"]]
        url, params = page.get("@odata.nextLink"), None
    assert len(seen) == 25 == len(set(seen))
    r = client.post("/me/contactFolders", json={"displayName": "Odoo"})
    assert r.status_code == 201
    fid = r.json()["id"]
    assert client.post("/me/contactFolders", json={"displayName": "Odoo"}).status_code == 409
    lst = client.get("/me/contactFolders", params={"$filter": "displayName eq 'odoo'"}).json()
    assert [f["id"] for f in lst["value"]] == [fid]
    c = client.post(f"/me/contactFolders/{fid}/contacts", json={"givenName": "In"}).json()
    assert c["parentFolderId"] == fid
    assert client.get(f"/me/contactFolders/{fid}/contacts/{c['id']}").status_code == 200
    assert len(sim.contacts(uid, fid)) == 1
    default = next(f for f in sim.folders(uid) if f["displayName"] == "Contacts")
    assert client.delete(f"/me/contactFolders/{default['id']}").status_code == 400
    assert client.delete(f"/me/contactFolders/{fid}").status_code == 204
    assert client.get(f"/me/contactFolders/{fid}").status_code == 404
    assert client.get(f"/me/contacts/{c['id']}").status_code == 404


def test_unknown_route_and_method(client):
    r = client.get("/me/nothing")
    assert r.status_code == 400 and "segment" in r.json()["error"]["message"]
    assert client.put("/me/contacts").status_code == 405


def _delta_round(client, url, page_size=None):
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else {}
    items, pages = [], 0
    while True:
        r = client.get(url, headers=headers)
        if r.status_code != 200:
            return r, items, pages
        body = r.json()
        pages += 1
        items += body["value"]
        if page_size:
            assert r.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
            assert len(body["value"]) <= page_size
        if "@odata.deltaLink" in body:
            return body["@odata.deltaLink"], items, pages
        url = body["@odata.nextLink"]


def test_folder_delta_rounds_and_410(client):
    sim = client.sim
    uid = sim.users()[0]["id"]
    folder = sim.create_folder(uid, "Odoo")
    fid = folder["id"]
    made = sim.seed_contacts(uid, [{"givenName": f"D{i}"} for i in range(12)], folder_id=fid)
    url = f"/me/contactFolders/{fid}/contacts/delta"
    link, items, pages = _delta_round(client, url + "?$select=givenName,surname", page_size=5)
    assert pages == 3, (
        pages,
        len(items),
        link,
        getattr(link, "text", ""),
        getattr(link, "url", ""),
    )
    assert {i["id"] for i in items} == {c["id"] for c in made}
    assert set(items[0]) <= {"id", "@odata.etag", "givenName", "surname"}
    assert "$deltatoken=" in link and link.startswith("https://")

    # no change -> empty round
    link2, items, _ = _delta_round(client, link)
    assert items == []
    # changes: one edit, one delete, one create
    sim.edit_contact(uid, made[0]["id"], givenName="Changed")
    sim.delete_contact(uid, made[1]["id"])
    new = sim.seed_contacts(uid, [{"givenName": "New"}], folder_id=fid)[0]
    link3, items, _ = _delta_round(client, link2)
    by_id = {i["id"]: i for i in items}
    assert by_id[made[0]["id"]]["givenName"] == "Changed"
    assert by_id[made[1]["id"]] == {"id": made[1]["id"], "@removed": {"reason": "deleted"}}
    assert new["id"] in by_id and len(by_id) == 3

    # stale generations: only the latest 3 tokens live (link, link2, link3 -> link is oldest)
    link4, _, _ = _delta_round(client, link3)
    r, _, _ = _delta_round(client, link)
    assert r.status_code == 410 and r.json()["error"]["code"] == "SyncStateNotFound"
    # forged token
    assert client.get(url + "?$deltatoken=forged").status_code == 410
    # other folder's token
    other = _delta_round(client, "/me/contacts/delta")[0]
    token = other.split("$deltatoken=")[1]
    assert client.get(url + f"?$deltatoken={token}").status_code == 410
    # reset
    sim.reset_sync_state(uid, fid)
    r, _, _ = _delta_round(client, link4)
    assert r.status_code == 410


def test_delta_replays_are_possible(client):
    sim = client.sim
    uid = sim.users()[0]["id"]
    sim.configure(delta_replay_rate=0.5)
    made = sim.seed_contacts(uid, [{"givenName": f"R{i}"} for i in range(30)])
    _, items, _ = _delta_round(client, "/me/contacts/delta", page_size=5)
    ids = [i["id"] for i in items]
    assert set(ids) == {c["id"] for c in made}
    assert len(ids) > len(set(ids))  # some items came twice


def test_default_folder_found_from_its_contacts_and_read_by_folder_delta(client):
    """The documented way to the default folder: its id is the contacts' parentFolderId."""
    sim = client.sim
    uid = sim.users()[0]["id"]
    assert client.get("/me/contacts", params={"$top": 1}).json()["value"] == []
    child = sim.create_folder(uid, "Odoo Contacts")
    mine = sim.seed_contacts(uid, [{"givenName": "Default"}, {"givenName": "Also"}])
    sim.seed_contacts(uid, [{"givenName": "Child"}], folder_id=child["id"])
    r = client.get("/me/contacts", params={"$top": 1, "$select": "parentFolderId"})
    (first,) = r.json()["value"]
    default_id = first["parentFolderId"]
    assert default_id == child["parentFolderId"]
    listed = client.get("/me/contactFolders", params={"$top": 1}).json()["value"]
    assert [f["parentFolderId"] for f in listed] == [default_id]
    url = f"/me/contactFolders/{default_id}/contacts/delta"
    link, items, _ = _delta_round(client, url)
    assert {i["id"] for i in items} == {c["id"] for c in mine}
    sim.edit_contact(uid, mine[0]["id"], jobTitle="Edited")
    _, items, _ = _delta_round(client, link)
    assert [(i["id"], i["jobTitle"]) for i in items] == [(mine[0]["id"], "Edited")]
