"""The directory reader against the simulator: paging, delta, transitive groups, throttling."""

from graph import GraphClient, GraphError, Pacer, SyncStateLostError
from graph.directory import DirectoryReader


def _reader(sim, attributes=("jobTitle",), **client_options):
    token = sim.issue_app_token()
    client = GraphClient(sim.graph_endpoint, lambda force_refresh: token, **client_options)
    return DirectoryReader(client, attributes)


def _add_users(sim, count, prefix="user"):
    return [sim.add_user(f"{prefix}{n:05d}@contoso.test") for n in range(count)]


def test_first_read_pages_at_999_and_selects_the_mapped_attributes(graph_sim):
    _add_users(graph_sim, 1203)
    changes = _reader(graph_sim).all_users()

    assert changes.full
    assert len({user["id"] for user in changes.users}) == 1203
    assert set(changes.users[0]) >= {"id", "mail", "jobTitle", "accountEnabled", "userType"}
    assert "city" not in changes.users[0]
    listing = [path for _method, path, *_ in graph_sim.requests_log if path == "/v1.0/users"]
    assert len(listing) == 2  # 999 + 204
    assert changes.delta_link and "deltatoken" in changes.delta_link


def test_delta_after_a_full_read_brings_only_changes_and_removals(graph_sim):
    users = _add_users(graph_sim, 5)
    reader = _reader(graph_sim)
    first = reader.all_users()

    graph_sim.update_user(users[1]["id"], jobTitle="Buyer")
    graph_sim.update_user(users[2]["id"], accountEnabled=False)
    graph_sim.delete_user(users[3]["id"])
    added = graph_sim.add_user("newcomer@contoso.test")
    changes = reader.changed_users(first.delta_link)

    assert not changes.full
    assert {user["id"] for user in changes.users} == {users[1]["id"], users[2]["id"], added["id"]}
    changed = {user["id"]: user for user in changes.users}
    assert changed[users[1]["id"]]["jobTitle"] == "Buyer"
    assert changed[users[2]["id"]]["accountEnabled"] is False
    assert changes.removed == {users[3]["id"]: "deleted"}

    quiet = reader.changed_users(changes.delta_link)
    assert quiet.users == [] and quiet.removed == {}


def test_an_expired_delta_link_asks_for_a_full_read(graph_sim):
    _add_users(graph_sim, 2)
    reader = _reader(graph_sim)
    link = reader.all_users().delta_link
    graph_sim.advance_time(8 * 24 * 3600)
    reader = _reader(graph_sim)  # the app token expired too
    try:
        reader.changed_users(link)
    except SyncStateLostError:
        pass
    else:
        raise AssertionError("a delta link older than 7 days must be refused")


def test_group_members_are_resolved_transitively_with_their_attributes(graph_sim):
    users = _add_users(graph_sim, 6)
    nested = graph_sim.add_group("Sales Belgium", members=[users[0]["id"], users[1]["id"]])
    sales = graph_sim.add_group("Sales", members=[nested["id"], users[2]["id"]])
    other = graph_sim.add_group("Support", members=[users[3]["id"], users[2]["id"]])
    reader = _reader(graph_sim)

    members = reader.group_users([sales["id"]])
    assert set(members) == {u["id"] for u in users[:3]}
    assert set(reader.group_users([sales["id"], other["id"]])) == {u["id"] for u in users[:4]}
    assert reader.group_name(sales["id"]) == "Sales"
    # The members come with what the import needs: no second read per user.
    assert set(members[users[0]["id"]]) >= {"id", "mail", "jobTitle", "accountEnabled"}
    assert "city" not in members[users[0]["id"]]


def test_throttling_is_absorbed_by_the_pacer_and_retries(graph_sim):
    _add_users(graph_sim, 30)
    graph_sim.configure(rate_limit=3, rate_window=0.5)
    groups = [graph_sim.add_group(f"G{n}", members=[]) for n in range(4)]

    paced = _reader(graph_sim, pacer=Pacer(max_requests=3, window=0.6))  # a safety margin
    assert len(paced.all_users().users) == 30
    paced.group_users(g["id"] for g in groups)
    assert graph_sim.stats()["throttled_total"] == 0

    unpaced = _reader(graph_sim)  # no pacer: Graph says 429, the client waits and retries
    assert len(unpaced.all_users().users) == 30
    unpaced.group_users(g["id"] for g in groups)
    assert graph_sim.stats()["throttled_total"] > 0


def test_checking_access_reads_one_user_and_says_why_it_cannot(graph_sim):
    _add_users(graph_sim, 3)
    _reader(graph_sim).check_users_readable()
    assert graph_sim.requests_log[-1][1] == "/v1.0/users"
    graph_sim.inject_fault(path_regex="/users", method="GET", status=403, count=1)
    try:
        _reader(graph_sim).check_users_readable()
    except GraphError as error:
        assert error.status == 403
    else:
        raise AssertionError("a refused read must raise")
