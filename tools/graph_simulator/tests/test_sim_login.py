"""Login side: OIDC discovery, auth-code + PKCE through real MSAL, refresh, client credentials."""

from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

REDIRECT = "http://localhost:8069/microsoft_contacts/oauth/callback"
SCOPES = ["Contacts.ReadWrite", "User.Read"]


@pytest.fixture
def setup(graph_sim):
    user = graph_sim.add_user("alice@contoso.example.com", display_name="Alice Smith")
    graph_sim.add_user("bob@contoso.example.com", display_name="Bob Jones")
    graph_sim.register_app("app-1", "s3cret", redirect_uris=[REDIRECT])
    return graph_sim, user


def _app(sim, secret="s3cret", tenant="organizations", cache=None):
    return msal.ConfidentialClientApplication(
        "app-1",
        client_credential=secret,
        authority=f"{sim.base_url}/{tenant}",
        instance_discovery=False,
        token_cache=cache,
        timeout=10,
    )


def _authorize(flow, **params):
    resp = requests.get(flow["auth_uri"], allow_redirects=False, timeout=10, **params)
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]


def _callback_args(location):
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_openid_configuration(setup):
    sim, _ = setup
    conf = requests.get(
        f"{sim.base_url}/organizations/v2.0/.well-known/openid-configuration", timeout=10
    ).json()
    assert conf["authorization_endpoint"] == f"{sim.base_url}/organizations/oauth2/v2.0/authorize"
    assert conf["token_endpoint"] == f"{sim.base_url}/organizations/oauth2/v2.0/token"
    conf = requests.get(
        f"{sim.base_url}/{sim.tenant_id}/v2.0/.well-known/openid-configuration", timeout=10
    ).json()
    assert conf["issuer"] == f"{sim.base_url}/{sim.tenant_id}/v2.0"
    bad = requests.get(f"{sim.base_url}/nope/v2.0/.well-known/openid-configuration", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_tenant"


def test_msal_auth_code_flow_and_graph_call(setup):
    sim, user = setup
    cache = msal.SerializableTokenCache()
    app = _app(sim, cache=cache)
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT, login_hint="alice@contoso.example.com"
    )
    args = _callback_args(_authorize(flow))
    assert args["state"] == flow["state"] and "client_info" in args
    result = app.acquire_token_by_auth_code_flow(flow, args)
    assert "access_token" in result, result
    assert result["id_token_claims"]["oid"] == user["id"]
    assert result["id_token_claims"]["preferred_username"] == "alice@contoso.example.com"
    assert result["id_token_claims"]["aud"] == "app-1"
    assert "refresh_token" in result
    me = requests.get(
        f"{sim.graph_endpoint}/v1.0/me",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        timeout=10,
    )
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == ["alice@contoso.example.com"]

    # refresh: force the silent path to use the refresh token (rotation)
    first_rt = result["refresh_token"]
    again = app.acquire_token_silent_with_error(SCOPES, accounts[0], force_refresh=True)
    assert "access_token" in again, again
    assert again["access_token"] != result["access_token"]
    rts = [rt["secret"] for rt in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)]
    assert rts and first_rt not in rts  # rotated in the cache

    # revoked -> invalid_grant through MSAL
    sim.revoke_refresh_tokens(user["id"])
    err = app.acquire_token_silent_with_error(SCOPES, accounts[0], force_refresh=True)
    assert err and err.get("error") == "invalid_grant", err
    assert 50173 in err.get("error_codes", [])


def test_pkce_wrong_verifier_and_code_replay(setup):
    sim, _ = setup
    app = _app(sim)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    args = _callback_args(_authorize(flow))
    token_url = f"{sim.base_url}/organizations/oauth2/v2.0/token"
    form = {
        "grant_type": "authorization_code",
        "client_id": "app-1",
        "client_secret": "s3cret",
        "code": args["code"],
        "redirect_uri": REDIRECT,
        "scope": "Contacts.ReadWrite offline_access openid",
        "code_verifier": "wrong-" + flow["code_verifier"],
    }
    bad = requests.post(token_url, data=form, timeout=10)
    assert bad.status_code == 400
    body = bad.json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [501481]
    assert {"error_description", "timestamp", "trace_id", "correlation_id"} <= set(body)

    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    args = _callback_args(_authorize(flow))
    form.update(code=args["code"], code_verifier=flow["code_verifier"])
    ok = requests.post(token_url, data=form, timeout=10)
    assert ok.status_code == 200, ok.text
    replay = requests.post(token_url, data=form, timeout=10)
    assert replay.status_code == 400 and replay.json()["error_codes"] == [54005]

    # missing verifier is refused too
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    args = _callback_args(_authorize(flow))
    form.update(code=args["code"])
    form.pop("code_verifier")
    assert requests.post(token_url, data=form, timeout=10).json()["error"] == "invalid_grant"


def test_client_auth_errors(setup):
    sim, _ = setup
    url = f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"}
    r = requests.post(url, data=dict(form, client_id="app-1", client_secret="bad"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(url, data=dict(form, client_id="ghost", client_secret="x"), timeout=10)
    assert r.json()["error"] == "unauthorized_client"
    r = requests.post(url, data=form, auth=("app-1", "s3cret"), timeout=10)  # basic auth
    assert r.status_code == 200 and "refresh_token" not in r.json()
    r = requests.post(
        url,
        data=dict(form, scope="User.Read.All", client_id="app-1", client_secret="s3cret"),
        timeout=10,
    )
    assert r.json()["error"] == "invalid_scope"


def test_client_credentials_through_msal(setup):
    sim, _ = setup
    app = _app(sim, tenant=sim.tenant_id)
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    users = requests.get(f"{sim.base_url}/v1.0/users", headers=headers, timeout=10)
    assert users.status_code == 200 and len(users.json()["value"]) == 2
    me = requests.get(f"{sim.base_url}/v1.0/me", headers=headers, timeout=10)
    assert me.status_code == 400


def test_consent_refuse_and_page(setup):
    sim, user = setup
    app = _app(sim)
    sim.configure(consent_mode="refuse")
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    args = _callback_args(_authorize(flow))
    assert args["error"] == "access_denied" and args["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, args)
    assert result.get("error") == "access_denied"

    sim.configure(consent_mode="page")
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, prompt="select_account")
    page = requests.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert 'id="sim-accept"' in page.text and 'id="sim-cancel"' in page.text
    consent = page.text.split('name="sim_consent" value="')[1].split('"')[0]
    post_url = f"{sim.base_url}/organizations/oauth2/v2.0/authorize"
    bob = next(u for u in sim.users() if u["userPrincipalName"].startswith("bob"))
    answer = requests.post(
        post_url,
        data={"sim_consent": consent, "sim_action": "accept", "user_id": bob["id"]},
        allow_redirects=False,
        timeout=10,
    )
    args = _callback_args(answer.headers["Location"])
    result = app.acquire_token_by_auth_code_flow(flow, args)
    assert result["id_token_claims"]["oid"] == bob["id"]

    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    page = requests.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    consent = page.text.split('name="sim_consent" value="')[1].split('"')[0]
    answer = requests.post(
        post_url,
        data={"sim_consent": consent, "sim_action": "cancel"},
        allow_redirects=False,
        timeout=10,
    )
    assert _callback_args(answer.headers["Location"])["error"] == "access_denied"


def test_form_post_and_unknown_client(setup):
    sim, _ = setup
    app = _app(sim)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, response_mode="form_post")
    page = requests.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    assert page.status_code == 200 and 'name="code"' in page.text and REDIRECT in page.text
    bad = requests.get(
        f"{sim.base_url}/organizations/oauth2/v2.0/authorize",
        params={"client_id": "ghost", "redirect_uri": REDIRECT, "response_type": "code"},
        allow_redirects=False,
        timeout=10,
    )
    assert bad.status_code == 400 and "AADSTS700016" in bad.text


def test_expired_access_token_is_401(setup):
    sim, user = setup
    tok = sim.issue_token(user["id"])
    sim.expire_access_tokens(user["id"])
    r = requests.get(
        f"{sim.base_url}/v1.0/me", headers={"Authorization": f"Bearer {tok}"}, timeout=10
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert r.headers["request-id"] and "innerError" in r.json()["error"]
    assert requests.get(f"{sim.base_url}/v1.0/me", timeout=10).status_code == 401


def test_strict_refresh_rotation(setup):
    sim, user = setup
    sim.configure(strict_refresh_rotation=True)
    app = _app(sim)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    result = app.acquire_token_by_auth_code_flow(flow, _callback_args(_authorize(flow)))
    url = f"{sim.base_url}/organizations/oauth2/v2.0/token"
    form = {
        "grant_type": "refresh_token",
        "client_id": "app-1",
        "client_secret": "s3cret",
        "refresh_token": result["refresh_token"],
        "scope": "Contacts.ReadWrite offline_access",
    }
    first = requests.post(url, data=form, timeout=10)
    assert first.status_code == 200 and first.json()["refresh_token"] != result["refresh_token"]
    second = requests.post(url, data=form, timeout=10)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    sim.configure(strict_refresh_rotation=False)
    form["refresh_token"] = first.json()["refresh_token"]
    assert requests.post(url, data=form, timeout=10).status_code == 200
    assert requests.post(url, data=form, timeout=10).status_code == 200


def test_refresh_cannot_widen_the_consented_scopes(graph_sim):
    graph_sim.register_app("scoped-app", "s3cret")
    graph_sim.add_user("scoped@contoso.test")
    app = msal.ConfidentialClientApplication(
        "scoped-app",
        client_credential="s3cret",
        authority=f"{graph_sim.base_url}/organizations",
        instance_discovery=False,
    )
    flow = app.initiate_auth_code_flow(["Contacts.ReadWrite"], redirect_uri="https://odoo.test/cb")
    location = requests.get(flow["auth_uri"], allow_redirects=False, timeout=5).headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, query)
    account = app.get_accounts()[0]

    same = app.acquire_token_silent_with_error(["Contacts.ReadWrite"], account, force_refresh=True)
    assert "access_token" in same
    wider = app.acquire_token_silent_with_error(
        ["Contacts.ReadWrite", "Mail.Read"], account, force_refresh=True
    )
    assert wider and wider.get("error") == "invalid_grant"
    assert "65001" in str(wider.get("error_codes")) or "consented" in wider["error_description"]
