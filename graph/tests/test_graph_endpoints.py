import dataclasses

import pytest

from graph.endpoints import (
    CLOUDS,
    Endpoints,
    app_scopes,
    delegated_scopes,
    resolve_endpoints,
    validate_base_url,
)


@pytest.mark.parametrize(
    ("cloud", "login", "graph"),
    [
        ("global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        ("us_gov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        ("us_gov_dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
        ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_clouds(cloud, login, graph):
    assert resolve_endpoints(cloud) == Endpoints(login=login, graph=graph)


def test_default_cloud_is_global_and_endpoints_are_frozen():
    endpoints = resolve_endpoints(None)
    assert endpoints.graph == CLOUDS["global"][1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoints.graph = "https://evil.example"


def test_unknown_cloud():
    with pytest.raises(ValueError, match="unknown Microsoft cloud"):
        resolve_endpoints("mars")


def test_overrides_for_a_local_simulator():
    endpoints = resolve_endpoints(
        "global", login_override="https://127.0.0.1:8443", graph_override="http://localhost:9000"
    )
    assert endpoints.login == "https://127.0.0.1:8443"
    assert endpoints.graph == "http://localhost:9000"
    assert endpoints.graph_api == "http://localhost:9000/v1.0"


@pytest.mark.parametrize(
    "url",
    [
        "http://graph.example.com",  # clear text to a remote host
        "https://graph.example.com/",  # trailing slash
        "https://graph.example.com/v1.0",  # a path
        "https://graph.example.com?x=1",
        "ftp://graph.example.com",
        "graph.example.com",
        "https://user:pw@graph.example.com",
        "",
    ],
)
def test_bad_overrides_are_refused(url):
    with pytest.raises(ValueError):
        validate_base_url(url)
    if url:
        with pytest.raises(ValueError):
            resolve_endpoints("global", graph_override=url)


def test_authority():
    endpoints = resolve_endpoints("us_gov")
    assert endpoints.authority("contoso.onmicrosoft.com") == (
        "https://login.microsoftonline.us/contoso.onmicrosoft.com"
    )
    assert endpoints.authority("common") == "https://login.microsoftonline.us/common"
    for bad in ["", "a/b", "with space"]:
        with pytest.raises(ValueError):
            endpoints.authority(bad)


def test_delegated_scopes_short_on_global_prefixed_elsewhere():
    assert resolve_endpoints("global").delegated_scopes() == ["Contacts.ReadWrite", "User.Read"]
    assert resolve_endpoints("us_gov").delegated_scopes() == [
        "https://graph.microsoft.us/Contacts.ReadWrite",
        "https://graph.microsoft.us/User.Read",
    ]
    assert delegated_scopes("https://microsoftgraph.chinacloudapi.cn", ("Contacts.Read",)) == [
        "https://microsoftgraph.chinacloudapi.cn/Contacts.Read"
    ]


def test_app_scopes():
    assert app_scopes("https://graph.microsoft.com") == ["https://graph.microsoft.com/.default"]
    assert resolve_endpoints("us_gov_dod").app_scopes() == [
        "https://dod-graph.microsoft.us/.default"
    ]
