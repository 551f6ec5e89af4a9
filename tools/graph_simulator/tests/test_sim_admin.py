"""Admin HTTP API, determinism, CLI and the pytest plugin's environment."""

import json
import os
import signal
import subprocess
import sys

import requests

import graph_simulator
from graph_simulator import GraphSimulator


def test_plugin_sets_ca_bundle(graph_sim):
    assert os.environ["REQUESTS_CA_BUNDLE"] == graph_sim.ca_bundle_path
    bundle = open(graph_sim.ca_bundle_path).read()
    assert open(graph_sim.ca_path).read() in bundle and bundle.count("BEGIN CERTIFICATE") > 1
    assert graph_sim.login_endpoint == graph_sim.graph_endpoint == graph_sim.base_url


def test_admin_round_trip(graph_sim):
    adm = f"{graph_sim.base_url}/_sim"
    user = requests.post(f"{adm}/users", json={"upn": "eve@contoso.example.com"}, timeout=10).json()
    uid = user["id"]
    made = requests.post(
        f"{adm}/users/{uid}/contacts", json=[{"givenName": "A"}, {"givenName": "B"}], timeout=10
    ).json()
    assert len(made) == 2
    folder = requests.post(
        f"{adm}/users/{uid}/folders", json={"display_name": "Odoo"}, timeout=10
    ).json()
    requests.post(
        f"{adm}/users/{uid}/contacts?folder_id={folder['id']}",
        json=[{"givenName": "F"}],
        timeout=10,
    )
    listed = requests.get(
        f"{adm}/users/{uid}/contacts", params={"folder_id": folder["id"]}, timeout=10
    ).json()
    assert [c["givenName"] for c in listed] == ["F"]
    edited = requests.patch(
        f"{adm}/users/{uid}/contacts/{made[0]['id']}", json={"surname": "Z"}, timeout=10
    ).json()
    assert edited["surname"] == "Z" and edited["changeKey"] != made[0]["changeKey"]
    assert requests.delete(f"{adm}/users/{uid}/contacts/{made[1]['id']}", timeout=10).ok
    token = requests.post(f"{adm}/users/{uid}/token", json={}, timeout=10).json()["access_token"]
    graph = requests.get(
        f"{graph_sim.base_url}/v1.0/me/contacts",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert [c["surname"] for c in graph.json()["value"]] == ["Z"]
    assert (
        requests.post(f"{adm}/configure", json={"max_batch": 5}, timeout=10).json()["max_batch"]
        == 5
    )
    assert requests.post(f"{adm}/configure", json={"bogus": 1}, timeout=10).status_code == 400
    requests.post(f"{adm}/faults", json={"path_regex": "/me/contacts", "status": 500}, timeout=10)
    hdr = {"Authorization": f"Bearer {token}"}
    assert (
        requests.get(f"{graph_sim.base_url}/v1.0/me/contacts", headers=hdr, timeout=10).status_code
        == 500
    )
    requests.post(f"{adm}/users/{uid}/folders/{folder['id']}/reset_sync_state", timeout=10)
    requests.post(f"{adm}/users/{uid}/revoke", timeout=10)
    requests.post(f"{adm}/expire_tokens", json={}, timeout=10)
    assert requests.get(f"{graph_sim.base_url}/v1.0/me", headers=hdr, timeout=10).status_code == 401
    stats = requests.get(f"{adm}/stats", timeout=10).json()
    assert stats["http_round_trips"] == 3  # admin calls are not counted
    assert requests.post(
        f"{adm}/apps", json={"client_id": "x", "client_secret": "y"}, timeout=10
    ).ok
    grp = requests.post(
        f"{adm}/groups", json={"display_name": "G", "members": [uid]}, timeout=10
    ).json()
    assert grp["displayName"] == "G"
    assert requests.post(f"{adm}/reset", timeout=10).ok
    assert graph_sim.users() == []
    assert requests.get(f"{adm}/users/{uid}/contacts", timeout=10).status_code == 404


def test_determinism():
    def build():
        sim = GraphSimulator(seed=42)
        u = sim.add_user("a@contoso.example.com")
        f = sim.create_folder(u["id"], "Odoo")
        cs = sim.seed_contacts(
            u["id"], [{"givenName": str(i)} for i in range(3)], folder_id=f["id"]
        )
        return [u["id"], f["id"], sim.tenant_id] + [(c["id"], c["changeKey"]) for c in cs]

    assert build() == build()
    other = GraphSimulator(seed=43)
    assert other.add_user("a@contoso.example.com")["id"] != build()[0]


def test_reset_restores_ids(graph_sim):
    first = graph_sim.add_user("a@contoso.example.com")["id"]
    graph_sim.reset()
    assert graph_sim.add_user("a@contoso.example.com")["id"] == first


def test_snapshot_restores_the_whole_world(graph_sim):
    user = graph_sim.add_user("a@contoso.example.com")
    graph_sim.register_app("app", "secret")
    folder = graph_sim.create_folder(user["id"], "Odoo")
    token = graph_sim.issue_token(user["id"])
    graph_sim.snapshot("signed-in")
    stats = graph_sim.stats()
    next_user = graph_sim.add_user("b@contoso.example.com")["id"]

    graph_sim.seed_contacts(user["id"], [{"givenName": "Later"}], folder_id=folder["id"])
    graph_sim.configure(max_batch=5)
    graph_sim.advance_time(7200)
    me = requests.get(
        f"{graph_sim.base_url}/v1.0/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert me.status_code == 401

    graph_sim.restore("signed-in")
    assert [u["userPrincipalName"] for u in graph_sim.users()] == ["a@contoso.example.com"]
    assert graph_sim.contacts(user["id"], folder_id=folder["id"]) == []
    assert graph_sim.config["max_batch"] == 20
    assert graph_sim.stats() == stats
    # The id generator is back too: the same call gives the same id as after the snapshot.
    assert graph_sim.add_user("b@contoso.example.com")["id"] == next_user
    me = requests.get(
        f"{graph_sim.base_url}/v1.0/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert me.status_code == 200, "the token is valid again: the clock is back where it was"


def test_snapshots_over_http_outlive_reset(graph_sim):
    adm = f"{graph_sim.base_url}/_sim"
    requests.post(f"{adm}/users", json={"upn": "a@contoso.example.com"}, timeout=10)
    assert requests.post(f"{adm}/snapshots/one%20user", timeout=10).json() == {"ok": True}
    requests.post(f"{adm}/users", json={"upn": "b@contoso.example.com"}, timeout=10)
    requests.post(f"{adm}/reset", timeout=10)
    assert requests.get(f"{adm}/users", timeout=10).json() == []
    assert requests.post(f"{adm}/snapshots/one%20user/restore", timeout=10).ok
    users = requests.get(f"{adm}/users", timeout=10).json()
    assert [u["userPrincipalName"] for u in users] == ["a@contoso.example.com"]
    assert requests.post(f"{adm}/snapshots/none/restore", timeout=10).status_code == 404


def test_cli_until_stdin_closes(tmp_path):
    tools = os.path.dirname(os.path.dirname(graph_simulator.__file__))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graph_simulator",
            "--state-dir",
            str(tmp_path),
            "--until-stdin-closes",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=tools),
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        users = requests.get(f"{info['base_url']}/_sim/users", verify=info["ca_path"], timeout=10)
        assert users.json() == []
        proc.stdin.close()  # as when the parent ends: its end of the pipe closes
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli(tmp_path):
    tools = os.path.dirname(os.path.dirname(graph_simulator.__file__))
    env = dict(os.environ, PYTHONPATH=tools)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graph_simulator",
            "--seed",
            "1",
            "--state-dir",
            str(tmp_path),
            "--users",
            "2",
            "--contacts-per-user",
            "3",
            "--demo",
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["ca_path"].startswith(str(tmp_path)) and os.path.exists(info["ca_bundle_path"])
        assert len(info["users"]) == 2
        uid = info["users"][0]["id"]
        contacts = requests.get(
            f"{info['base_url']}/_sim/users/{uid}/contacts", verify=info["ca_path"], timeout=10
        ).json()
        assert len(contacts) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_corrupt_serves_wrong_typed_properties_through_graph_and_delta(graph_sim):
    adm = f"{graph_sim.base_url}/_sim"
    uid = requests.post(f"{adm}/users", json={"upn": "bo@contoso.example.com"}, timeout=10).json()[
        "id"
    ]
    (made,) = requests.post(
        f"{adm}/users/{uid}/contacts", json=[{"givenName": "Bo"}], timeout=10
    ).json()
    # Refused as an edit (Outlook validates), stored as a fault.
    refused = requests.patch(
        f"{adm}/users/{uid}/contacts/{made['id']}", json={"emailAddresses": {"x": 1}}, timeout=10
    )
    assert refused.status_code == 400
    corrupt = requests.patch(
        f"{adm}/users/{uid}/contacts/{made['id']}/corrupt",
        json={"emailAddresses": {"address": "not-a-list@example.com"}, "displayName": 7},
        timeout=10,
    ).json()
    assert corrupt["changeKey"] != made["changeKey"]
    token = requests.post(f"{adm}/users/{uid}/token", json={}, timeout=10).json()["access_token"]
    served = requests.get(
        f"{graph_sim.base_url}/v1.0/me/contacts/{made['id']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert served["emailAddresses"] == {"address": "not-a-list@example.com"}
    assert served["displayName"] == 7
