"""Admin consent: /{tenant}/v2.0/adminconsent grants or refuses, then app-only tokens follow it."""

from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

REDIRECT = "http://localhost:8069/microsoft_account/authentication"
SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def sim(graph_sim):
    graph_sim.register_app("dir-app", "s3cret", redirect_uris=[REDIRECT])
    graph_sim.add_user("adele@contoso.example.com")
    graph_sim.configure(admin_consent_required=True)
    return graph_sim


def _consent(sim, tenant=None, **params):
    query = {
        "client_id": "dir-app",
        "scope": SCOPE,
        "redirect_uri": REDIRECT,
        "state": "st-1",
        **params,
    }
    return requests.get(
        f"{sim.base_url}/{tenant or sim.tenant_id}/v2.0/adminconsent",
        params={k: v for k, v in query.items() if v is not None},
        allow_redirects=False,
        timeout=10,
    )


def _answer(response):
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _app_token(sim):
    app = msal.ConfidentialClientApplication(
        "dir-app",
        client_credential="s3cret",
        authority=f"{sim.base_url}/{sim.tenant_id}",
        instance_discovery=False,
        timeout=10,
    )
    return app.acquire_token_for_client([SCOPE])["access_token"]


def _users(sim, token):
    return requests.get(
        f"{sim.base_url}/v1.0/users",
        headers={"Authorization": f"Bearer {token}"},
        params={"$top": "1"},
        timeout=10,
    )


def test_without_consent_an_app_token_reads_nothing_then_a_grant_opens_the_directory(sim):
    before = _app_token(sim)
    refused = _users(sim, before)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Authorization_RequestDenied"

    answer = _answer(_consent(sim))
    assert answer == {
        "admin_consent": "True",
        "tenant": sim.tenant_id,
        "scope": SCOPE,
        "state": "st-1",
    }
    [consent] = sim.admin_consents()
    assert (consent["client_id"], consent["tenant_id"], consent["scope"]) == (
        "dir-app",
        sim.tenant_id,
        SCOPE,
    )
    assert _users(sim, _app_token(sim)).status_code == 200
    # Roles are fixed when a token is issued: the one taken before the consent stays without.
    assert _users(sim, before).status_code == 403
    assert sim.stats()["by_kind"]["login.adminconsent"] == 1


def test_a_domain_or_organizations_consents_for_the_tenant_it_names(sim):
    assert _answer(_consent(sim, tenant="contoso.example.com"))["tenant"] == sim.tenant_id
    sim.revoke_admin_consent("dir-app")
    assert _answer(_consent(sim, tenant="organizations"))["tenant"] == sim.tenant_id
    assert _users(sim, _app_token(sim)).status_code == 200


def test_a_refusal_comes_back_with_the_reason_and_grants_nothing(sim):
    sim.configure(consent_mode="refuse")
    answer = _answer(_consent(sim))
    assert answer["admin_consent"] == "True"
    assert answer["error"] == "consent_required"
    assert answer["error_description"].startswith("AADSTS65004: The resource owner")
    assert "Trace ID:" in answer["error_description"]
    assert answer["state"] == "st-1"
    assert "tenant" not in answer
    assert sim.admin_consents() == []
    assert _users(sim, _app_token(sim)).status_code == 403


def test_the_consent_page_accepts_or_cancels_once(sim):
    sim.configure(consent_mode="page")
    page = _consent(sim)
    assert page.status_code == 200 and 'id="sim-accept"' in page.text
    consent_id = page.text.split('name="sim_consent" value="', 1)[1].split('"', 1)[0]
    url = f"{sim.base_url}/{sim.tenant_id}/v2.0/adminconsent"
    cancel = requests.post(
        url,
        data={"sim_consent": consent_id, "sim_action": "cancel"},
        allow_redirects=False,
        timeout=10,
    )
    assert _answer(cancel)["error"] == "access_denied"
    again = requests.post(
        url,
        data={"sim_consent": consent_id, "sim_action": "accept"},
        allow_redirects=False,
        timeout=10,
    )
    assert again.status_code == 400 and "AADSTS90014" in again.text
    page = _consent(sim)
    consent_id = page.text.split('name="sim_consent" value="', 1)[1].split('"', 1)[0]
    accept = requests.post(
        url,
        data={"sim_consent": consent_id, "sim_action": "accept"},
        allow_redirects=False,
        timeout=10,
    )
    assert _answer(accept)["admin_consent"] == "True"
    assert len(sim.admin_consents()) == 1


def test_what_entra_shows_on_its_own_page_never_reaches_the_redirect_uri(sim):
    unknown_app = _consent(sim, client_id="nope")
    assert unknown_app.status_code == 400 and "AADSTS700016" in unknown_app.text
    foreign = _consent(sim, redirect_uri="https://evil.example/cb")
    assert foreign.status_code == 400 and "AADSTS50011" in foreign.text
    assert _consent(sim, redirect_uri=None).status_code == 400
    assert sim.admin_consents() == []


def test_bad_tenant_or_scope_goes_back_with_an_error(sim):
    assert _answer(_consent(sim, tenant="common"))["error"] == "invalid_request"
    assert _answer(_consent(sim, tenant="nope"))["error"] == "invalid_tenant"
    assert "AADSTS900144" in _answer(_consent(sim, scope=None))["error_description"]
    assert sim.admin_consents() == []


def test_revoking_the_consent_closes_the_directory_to_new_tokens(sim):
    sim.grant_admin_consent("dir-app")
    assert _users(sim, _app_token(sim)).status_code == 200
    sim.revoke_admin_consent("dir-app")
    assert _users(sim, _app_token(sim)).status_code == 403


def test_admin_api_grants_lists_and_revokes(sim):
    admin = f"{sim.base_url}/_sim"
    granted = requests.post(f"{admin}/apps/dir-app/admin_consent", json={}, timeout=10).json()
    assert granted["tenant_id"] == sim.tenant_id
    listed = requests.get(f"{admin}/admin_consents", timeout=10).json()
    assert [c["client_id"] for c in listed] == ["dir-app"]
    assert requests.delete(f"{admin}/apps/dir-app/admin_consent", timeout=10).ok
    assert requests.get(f"{admin}/admin_consents", timeout=10).json() == []


def test_consent_is_not_required_unless_configured(graph_sim):
    graph_sim.register_app("dir-app", "s3cret", redirect_uris=[REDIRECT])
    graph_sim.add_user("adele@contoso.example.com")
    assert _users(graph_sim, _app_token(graph_sim)).status_code == 200
