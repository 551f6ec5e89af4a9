"""The MSAL wrapper against the simulator's login endpoints, with real MSAL over HTTPS."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from graph import GraphClient, ServerError, TransportError, resolve_endpoints
from graph.auth import ConsentRequiredError, IdentityError, MicrosoftIdentity

CLIENT_ID = "contacts-app"
SECRET = "contacts-secret"
REDIRECT_URI = "https://odoo.example.com/microsoft_account/authentication"


@pytest.fixture
def megan(graph_sim):
    graph_sim.register_app(CLIENT_ID, SECRET, redirect_uris=[REDIRECT_URI])
    return graph_sim.add_user("megan@contoso.test", display_name="Megan Bowen")


def _identity(sim, secret=SECRET, timeout=(2, 5), tenant="organizations"):
    # MSAL's HTTP cache replays identical token answers for a while; the simulator is
    # deterministic, so each test gets its own cache instead of the process-wide one.
    endpoints = resolve_endpoints("global", sim.login_endpoint, sim.graph_endpoint)
    return MicrosoftIdentity(
        CLIENT_ID,
        secret,
        endpoints,
        tenant,
        session=requests.Session(),
        timeout=timeout,
        http_cache={},
    )


def _consent(flow):
    """What the browser does: follow the authorize URL, come back with the query."""
    answer = requests.get(flow["auth_uri"], allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _sign_in(sim, user):
    identity = _identity(sim)
    flow = identity.start_sign_in(REDIRECT_URI, "state-123", login_hint=user["userPrincipalName"])
    return identity, identity.finish_sign_in(flow, _consent(flow))


def test_code_flow_with_pkce_gives_a_working_token(graph_sim, megan):
    identity = _identity(graph_sim)
    flow = identity.start_sign_in(REDIRECT_URI, "state-123", login_hint="megan@contoso.test")

    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == ["state-123"]
    assert "Contacts.ReadWrite" in query["scope"][0]
    assert flow["code_verifier"] not in flow["auth_uri"]

    sign_in = identity.finish_sign_in(flow, _consent(flow))
    assert sign_in.username == "megan@contoso.test"
    assert sign_in.tenant_id == graph_sim.tenant_id

    token, new_cache = identity.access_token(sign_in.token_cache, sign_in.home_account_id)
    assert new_cache is None  # served from the cache: nothing to write back
    me = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: token).get("/me")
    assert me["id"] == megan["id"]


def test_state_mismatch_and_replayed_code_are_refused(graph_sim, megan):
    identity = _identity(graph_sim)
    flow = identity.start_sign_in(REDIRECT_URI, "state-123")
    query = _consent(flow)

    with pytest.raises(IdentityError, match="does not match"):
        identity.finish_sign_in(flow, {**query, "state": "forged"})

    identity.finish_sign_in(flow, query)
    with pytest.raises((IdentityError, ConsentRequiredError)):
        identity.finish_sign_in(flow, query)


def test_refused_consent_is_reported(graph_sim, megan):
    graph_sim.configure(consent_mode="refuse")
    identity = _identity(graph_sim)
    flow = identity.start_sign_in(REDIRECT_URI, "state-123")
    query = _consent(flow)
    assert query["error"] == "access_denied"
    with pytest.raises(IdentityError) as refused:
        identity.finish_sign_in(flow, query)
    assert refused.value.code == "access_denied"


def test_refresh_rotates_and_the_new_cache_is_returned(graph_sim, megan):
    identity, sign_in = _sign_in(graph_sim, megan)
    first, _unchanged = identity.access_token(sign_in.token_cache, sign_in.home_account_id)

    second, rotated_cache = identity.access_token(
        sign_in.token_cache, sign_in.home_account_id, force_refresh=True
    )

    assert second != first
    assert rotated_cache and rotated_cache != sign_in.token_cache
    me = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: second).get("/me")
    assert me["id"] == megan["id"]


def test_revoked_refresh_token_asks_for_consent_again(graph_sim, megan):
    identity, sign_in = _sign_in(graph_sim, megan)
    graph_sim.revoke_refresh_tokens(megan["id"])

    with pytest.raises(ConsentRequiredError) as lost:
        identity.access_token(sign_in.token_cache, sign_in.home_account_id, force_refresh=True)
    assert lost.value.code == "invalid_grant"
    assert "Trace ID" not in str(lost.value)


def test_token_endpoint_server_error_is_a_server_error(graph_sim, megan):
    identity, sign_in = _sign_in(graph_sim, megan)
    graph_sim.inject_fault(r"/oauth2/v2\.0/token", status=503, count=5)

    with pytest.raises(ServerError, match="try again later"):
        identity.access_token(sign_in.token_cache, sign_in.home_account_id, force_refresh=True)


def test_token_endpoint_timeout_is_bounded(graph_sim, megan):
    identity, sign_in = _sign_in(graph_sim, megan)
    slow = _identity(graph_sim, timeout=(1, 0.5))
    slow.http_cache = identity.http_cache
    graph_sim.inject_fault(r"/oauth2/v2\.0/token", kind="hang", delay=2.0, count=1)

    with pytest.raises(TransportError):
        slow.access_token(sign_in.token_cache, sign_in.home_account_id, force_refresh=True)


def test_sign_out_removes_the_account_from_the_cache(graph_sim, megan):
    identity, sign_in = _sign_in(graph_sim, megan)
    emptied = identity.sign_out(sign_in.token_cache, sign_in.home_account_id)
    with pytest.raises(ConsentRequiredError):
        identity.access_token(emptied, sign_in.home_account_id)


def test_app_only_token_and_wrong_secret(graph_sim, megan):
    token = _identity(graph_sim, tenant=graph_sim.tenant_id).app_token()
    users = GraphClient(graph_sim.graph_endpoint, lambda force_refresh: token).get("/users")
    assert [u["userPrincipalName"] for u in users["value"]] == ["megan@contoso.test"]

    wrong = _identity(graph_sim, secret="wrong", tenant=graph_sim.tenant_id)
    with pytest.raises(IdentityError) as refused:
        wrong.app_token()
    assert refused.value.code == "invalid_client"
    assert "wrong" not in repr(wrong)
