"""Admin consent: the URL per national cloud, and Microsoft's answer read back."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from graph.consent import admin_consent_url, read_admin_consent_answer
from graph.endpoints import resolve_endpoints

REDIRECT = "https://odoo.example.com/microsoft_account/authentication"


@pytest.mark.parametrize(
    ("cloud", "login", "graph"),
    [
        ("global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        ("us_gov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        ("us_gov_dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
        ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_the_url_follows_the_cloud(cloud, login, graph):
    url = admin_consent_url(
        resolve_endpoints(cloud), " contoso.onmicrosoft.com ", "app-id", REDIRECT, '{"s":"x"}'
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"{login}/contoso.onmicrosoft.com/v2.0/adminconsent"
    )
    assert parse_qs(parts.query) == {
        "client_id": ["app-id"],
        "scope": [f"{graph}/.default"],
        "redirect_uri": [REDIRECT],
        "state": ['{"s":"x"}'],
    }


def test_the_url_follows_an_overridden_login_endpoint():
    endpoints = resolve_endpoints("global", "https://127.0.0.1:8443", "https://127.0.0.1:8443")
    url = admin_consent_url(endpoints, "tid", "app-id", REDIRECT, "s")
    assert url.startswith("https://127.0.0.1:8443/tid/v2.0/adminconsent?")
    assert parse_qs(urlsplit(url).query)["scope"] == ["https://127.0.0.1:8443/.default"]


@pytest.mark.parametrize("tenant", ["", "a/b", "two words"])
def test_a_tenant_that_is_not_one_is_refused(tenant):
    with pytest.raises(ValueError):
        admin_consent_url(resolve_endpoints(), tenant, "app-id", REDIRECT, "s")


def test_no_client_id_is_refused():
    with pytest.raises(ValueError):
        admin_consent_url(resolve_endpoints(), "contoso.com", "", REDIRECT, "s")


def test_a_grant_is_read_with_its_tenant_and_scope():
    answer = read_admin_consent_answer(
        {"admin_consent": "True", "tenant": "tid-1", "scope": "x/.default", "state": "s"}
    )
    assert answer.granted
    assert (answer.tenant, answer.scope, answer.error) == ("tid-1", "x/.default", None)


def test_a_refusal_keeps_the_human_part_of_microsofts_reason():
    answer = read_admin_consent_answer(
        {
            "admin_consent": "True",
            "error": "consent_required",
            "error_description": "AADSTS65004: The resource owner or authorization server "
            "denied the request.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2019",
        }
    )
    assert not answer.granted
    assert answer.error == "consent_required"
    assert answer.aadsts == "65004"
    assert answer.description == ("The resource owner or authorization server denied the request.")


@pytest.mark.parametrize(
    "query",
    [{}, {"admin_consent": "False"}, {"admin_consent": ["True"]}, {"tenant": "tid"}],
)
def test_an_answer_without_consent_or_error_is_not_a_grant(query):
    answer = read_admin_consent_answer(query)
    assert not answer.granted and answer.error == "invalid_response"


def test_an_error_wins_over_admin_consent_true():
    answer = read_admin_consent_answer({"admin_consent": "True", "error": "access_denied"})
    assert not answer.granted and answer.description is None


def test_the_round_trip_against_the_simulator(graph_sim):
    graph_sim.register_app("dir-app", "s3cret", redirect_uris=[REDIRECT])
    endpoints = resolve_endpoints("global", graph_sim.base_url, graph_sim.base_url)
    url = admin_consent_url(endpoints, graph_sim.tenant_id, "dir-app", REDIRECT, "st")
    response = requests.get(url, allow_redirects=False, timeout=10)
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    answer = read_admin_consent_answer(query)
    assert answer.granted and answer.tenant == graph_sim.tenant_id
    assert query["state"] == "st"

    graph_sim.configure(consent_mode="refuse")
    response = requests.get(url, allow_redirects=False, timeout=10)
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    answer = read_admin_consent_answer(query)
    assert not answer.granted and answer.aadsts == "65004"
