"""Contact photos over real HTTPS: $value and metadata, limits, delta, $batch, admin API."""

import base64
import struct
import zlib

import pytest
import requests

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xd9"


def png(width=3, height=2):
    """A valid PNG of `width` x `height` white pixels."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Client:
    def __init__(self, sim, user_id):
        self.sim = sim
        self.user_id = user_id
        self.base = f"{sim.graph_endpoint}/v1.0"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {sim.issue_token(user_id)}"

    def call(self, method, path, **kw):
        url = path if path.startswith("https://") else self.base + path
        return self.s.request(method, url, timeout=10, **kw)


@pytest.fixture
def client(graph_sim):
    user = graph_sim.add_user("alice@contoso.example.com")
    return Client(graph_sim, user["id"])


def _contact(client, folder=None):
    path = f"/me/contactFolders/{folder}/contacts" if folder else "/me/contacts"
    return client.call("POST", path, json={"givenName": "Ada"}).json()


def test_no_photo_is_404_then_put_get_metadata_and_delete(client):
    folder = client.call("POST", "/me/contactFolders", json={"displayName": "Odoo"}).json()["id"]
    c = _contact(client, folder)
    value = f"/me/contactFolders/{folder}/contacts/{c['id']}/photo/$value"
    missing = client.call("GET", value)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"
    assert client.call("GET", value[: -len("/$value")]).status_code == 404
    image = png(3, 2)
    put = client.call("PUT", value, data=image, headers={"Content-Type": "image/png"})
    assert put.status_code == 200 and not put.content
    got = client.call("GET", value)
    assert got.status_code == 200 and got.content == image
    assert got.headers["Content-Type"] == "image/png"
    meta = client.call("GET", value[: -len("/$value")]).json()
    assert (meta["width"], meta["height"], meta["@odata.mediaContentType"]) == (3, 2, "image/png")
    # The same photo by /me/contacts, the default folder's route, is found by id as well.
    assert client.call("GET", f"/me/contacts/{c['id']}/photo/$value").content == image
    assert client.call("DELETE", value).status_code == 204
    assert client.call("GET", value).status_code == 404
    assert client.call("DELETE", value).status_code == 404
    # Not in that folder: not found there.
    other = _contact(client)
    elsewhere = f"/me/contactFolders/{folder}/contacts/{other['id']}/photo/$value"
    assert client.call("GET", elsewhere).status_code == 404


def test_a_photo_write_changes_the_contact_and_shows_in_the_delta(client):
    c = _contact(client)
    start = client.call("GET", "/me/contacts/delta").json()
    while "@odata.nextLink" in start:
        start = client.call("GET", start["@odata.nextLink"]).json()
    put = client.call(
        "PUT",
        f"/me/contacts/{c['id']}/photo/$value",
        data=JPEG,
        headers={"Content-Type": "image/jpeg"},
    )
    assert put.status_code == 200
    after = client.call("GET", f"/me/contacts/{c['id']}").json()
    assert after["changeKey"] != c["changeKey"]
    changed = client.call("GET", start["@odata.deltaLink"]).json()
    assert [item["id"] for item in changed["value"]] == [c["id"]]


@pytest.mark.parametrize(
    "data, content_type, status, code",
    [
        (b"not an image", "image/jpeg", 400, "ErrorInvalidImage"),
        (b"", "image/jpeg", 400, "ErrorInvalidImage"),
        (JPEG, "application/json", 400, "BadRequest"),
        (JPEG + b"\x00" * 2000, "image/jpeg", 413, "RequestEntityTooLarge"),
    ],
)
def test_graph_refuses_what_is_not_an_image_or_too_large(client, data, content_type, status, code):
    client.sim.configure(photo_max_bytes=1000)
    c = _contact(client)
    r = client.call(
        "PUT",
        f"/me/contacts/{c['id']}/photo/$value",
        data=data,
        headers={"Content-Type": content_type},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert client.sim.photo(client.user_id, c["id"]) is None
    assert client.call("GET", f"/me/contacts/{c['id']}").json()["changeKey"] == c["changeKey"]


def test_the_default_limit_is_four_megabytes(client):
    assert client.sim.config["photo_max_bytes"] == 4 * 1024 * 1024


def test_photo_requests_are_counted_and_throttled_like_the_others(client):
    c = _contact(client)
    path = f"/me/contacts/{c['id']}/photo/$value"
    client.call("PUT", path, data=JPEG, headers={"Content-Type": "image/jpeg"})
    client.call("GET", path)
    client.call("GET", path[: -len("/$value")])
    client.call("DELETE", path)
    kinds = client.sim.stats()["by_kind"]
    assert [kinds.get(k) for k in ("put", "get", "meta", "delete")] == [None] * 4
    assert [kinds[f"contacts.photo.{k}"] for k in ("put", "get", "meta", "delete")] == [1] * 4
    client.sim.configure(rate_limit=1, rate_window=600.0)
    client.call("GET", "/me/contacts")
    throttled = client.call("GET", path)
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers


def test_photos_in_a_batch_travel_base64_encoded(client):
    c = _contact(client)
    path = f"/me/contacts/{c['id']}/photo/$value"
    body = {
        "requests": [
            {
                "id": "1",
                "method": "PUT",
                "url": path,
                "headers": {"Content-Type": "image/jpeg"},
                "body": base64.b64encode(JPEG).decode(),
            }
        ]
    }
    put = client.call("POST", "/$batch", json=body).json()["responses"][0]
    assert put["status"] == 200
    got = client.call(
        "POST", "/$batch", json={"requests": [{"id": "1", "method": "GET", "url": path}]}
    ).json()["responses"][0]
    assert got["status"] == 200 and got["headers"]["Content-Type"] == "image/jpeg"
    assert base64.b64decode(got["body"]) == JPEG


def test_admin_api_sets_any_photo_as_a_user_would_and_reads_it_back(graph_sim, client):
    c = _contact(client)
    admin = f"{graph_sim.base_url}/_sim/users/{client.user_id}/contacts/{c['id']}/photo"
    corrupt = b"\xff\xd8\xff garbage, far larger than Graph takes" * 100
    graph_sim.configure(photo_max_bytes=100)
    r = requests.put(admin, data=corrupt, headers={"Content-Type": "image/jpeg"}, timeout=10)
    assert r.status_code == 200  # unchecked: a photo Outlook itself holds
    assert requests.get(admin, timeout=10).content == corrupt
    served = client.call("GET", f"/me/contacts/{c['id']}/photo/$value")
    assert served.content == corrupt
    assert client.call("GET", f"/me/contacts/{c['id']}").json()["changeKey"] != c["changeKey"]
    assert requests.delete(admin, timeout=10).status_code == 200
    assert requests.get(admin, timeout=10).status_code == 404
    assert requests.delete(admin, timeout=10).status_code == 404


def test_snapshots_keep_photos(graph_sim, client):
    c = _contact(client)
    graph_sim.set_photo(client.user_id, c["id"], JPEG)
    graph_sim.snapshot("with-photo")
    graph_sim.delete_photo(client.user_id, c["id"])
    graph_sim.restore("with-photo")
    assert graph_sim.photo(client.user_id, c["id"]) == (JPEG, "image/jpeg")
