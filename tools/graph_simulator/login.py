"""Microsoft identity platform v2 stand-in: OIDC discovery, authorize (consent), token."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import time
import uuid
from urllib.parse import unquote, urlencode

from graph_simulator.common import Response

RESERVED = {"openid", "profile", "offline_access", "email"}
MULTI = {"common", "organizations", "consumers"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


class AadError(Exception):
    def __init__(self, error, code, description, status=400):
        super().__init__(description)
        self.error, self.code, self.description, self.status = error, code, description, status


def aad_error_response(sim, exc):
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    desc = (
        f"AADSTS{exc.code}: {exc.description} Trace ID: {trace} Correlation ID: {corr} "
        f"Timestamp: {stamp}"
    )
    return Response(
        exc.status,
        {
            "error": exc.error,
            "error_description": desc,
            "error_codes": [exc.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"{sim.base_url}/error?code={exc.code}",
        },
    )


def handle(sim, req):
    segs = [unquote(s) for s in req.path.strip("/").split("/")]
    kind = "login.other"
    try:
        if len(segs) < 2:
            raise AadError("invalid_request", 90002, "Resource not found.", 404)
        tenant, rest = segs[0], "/".join(segs[1:]).lower()
        if rest == "v2.0/.well-known/openid-configuration" and req.method == "GET":
            kind = "login.discovery"
            resp = openid_configuration(sim, tenant)
        elif rest == "discovery/v2.0/keys" and req.method == "GET":
            kind = "login.keys"
            resp = Response(200, {"keys": []})
        elif rest == "oauth2/v2.0/authorize" and req.method in ("GET", "POST"):
            kind = "login.authorize"
            resp = authorize(sim, req, tenant)
        elif rest == "v2.0/adminconsent" and req.method in ("GET", "POST"):
            kind = "login.adminconsent"
            resp = admin_consent(sim, req, tenant)
        elif rest == "oauth2/v2.0/token" and req.method == "POST":
            kind = "login.token"
            resp = token(sim, req, tenant)
        elif rest == "oauth2/v2.0/logout":
            kind = "login.logout"
            target = req.query.get("post_logout_redirect_uri")
            resp = (
                Response(302, None, {"Location": target})
                if target
                else Response(
                    200, "<html><body>Signed out.</body></html>", content_type="text/html"
                )
            )
        else:
            raise AadError("invalid_request", 90002, f"Unknown login endpoint '{req.path}'.", 404)
    except AadError as exc:
        resp = aad_error_response(sim, exc)
    sim._count(req.method, req.path, resp.status, None, kind)
    return resp


def _resolve_tenant(sim, tenant):
    """Return the tenant id for a path tenant, None for multi-tenant aliases."""
    low = tenant.lower()
    if low in MULTI:
        return None
    with sim._lock:
        if low in sim._tenants:
            return low
        if "." in low:  # a verified domain name: the default tenant
            return sim.tenant_id
    raise AadError(
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.",
    )


def openid_configuration(sim, tenant):
    tid = _resolve_tenant(sim, tenant)
    base = f"{sim.base_url}/{tenant}"
    return Response(
        200,
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{sim.base_url}/{tid or '{tenantid}'}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{sim.base_url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "oid",
                "email",
            ],
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        },
    )


# ---------------------------------------------------------------- authorize
def _page(status, title, text):
    body = (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return Response(status, body, content_type="text/html; charset=utf-8")


def _redirect(params, values):
    values = {k: v for k, v in values.items() if v is not None}
    uri = params["redirect_uri"]
    if params.get("response_mode") == "form_post":
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
            for k, v in values.items()
        )
        body = (
            "<!DOCTYPE html><html><head><title>Working...</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="POST" name="hiddenform" action="{html.escape(uri)}">{fields}'
            '<noscript><input type="submit" value="Continue"/></noscript></form></body></html>'
        )
        return Response(200, body, content_type="text/html; charset=utf-8")
    sep = "&" if "?" in uri else "?"
    return Response(302, None, {"Location": uri + sep + urlencode(values)})


def _error_redirect(params, error, code, description):
    return _redirect(
        params,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": str(code),
            "state": params.get("state"),
        },
    )


def _check_app(sim, client_id, redirect_uri):
    """The error page Microsoft shows for an unknown app or redirect URI, else None (the
    sign-in and the admin-consent endpoints check them alike)."""
    with sim._lock:
        apps = dict(sim._apps)
    if not client_id:
        return _page(
            400, "Sign in error", "AADSTS900144: The request body must contain 'client_id'."
        )
    if apps and client_id not in apps:
        return _page(
            400,
            "Sign in error",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            "directory.",
        )
    if not redirect_uri:
        return _page(400, "Sign in error", "AADSTS900144: 'redirect_uri' is required.")
    registered = apps.get(client_id, {}).get("redirect_uris")
    if registered and redirect_uri not in registered:
        return _page(
            400,
            "Sign in error",
            f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does not "
            "match the redirect URIs configured for the application.",
        )
    return None


def authorize(sim, req, tenant):
    if req.method == "POST":
        return _consent_answer(sim, req)
    params = dict(req.query)
    client_id = params.get("client_id")
    redirect_uri = params.get("redirect_uri")
    refused = _check_app(sim, client_id, redirect_uri)
    if refused:
        return refused
    try:
        tid = _resolve_tenant(sim, tenant)
    except AadError as exc:
        return _error_redirect(params, exc.error, exc.code, exc.description)
    params["_tenant"] = tid
    if params.get("response_type") != "code":
        return _error_redirect(
            params, "unsupported_response_type", 700054, "The response_type is not supported."
        )
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "S256", "plain"):
        return _error_redirect(params, "invalid_request", 501491, "Invalid code_challenge_method.")
    mode = sim.config["consent_mode"]
    if mode == "refuse":
        return _error_redirect(
            params, "access_denied", 65004, "User declined to consent to access the app."
        )
    hint = params.get("login_hint")
    user = None
    with sim._lock:
        if hint:
            try:
                user = sim._find_user(hint)
            except KeyError:
                if mode == "auto":
                    return _error_redirect(
                        params,
                        "invalid_request",
                        50034,
                        f"The user account {hint} does not exist in the directory.",
                    )
        if user is None and sim.config["default_user"]:
            user = sim._users.get(sim.config["default_user"])
        users = [sim._public_user(u) for u in sim._users.values()]
    if mode == "auto":
        if user is None:
            return _error_redirect(params, "invalid_request", 50034, "No user in the simulator.")
        return _grant_code(sim, params, user["id"])
    # mode == "page"
    if params.get("prompt") == "none":
        return _error_redirect(
            params, "interaction_required", 65001, "The user has not consented to the application."
        )
    consent_id = sim.token(16)
    with sim._lock:
        sim._consents[consent_id] = params
    options = "".join(
        f'<li><label><input type="radio" name="user_id" value="{html.escape(u["id"])}"'
        f'{" checked" if (user and u["id"] == user["id"]) or (not user and i == 0) else ""}/> '
        f"{html.escape(str(u['displayName']))} &lt;{html.escape(u['userPrincipalName'])}&gt;"
        "</label></li>"
        for i, u in enumerate(users)
    )
    body = (
        "<!DOCTYPE html><html><head><title>Sign in to your account (simulator)</title></head><body>"
        "<h1>Permissions requested</h1>"
        f"<p>App <b>{html.escape(client_id)}</b> wants: {html.escape(params.get('scope', ''))}</p>"
        f'<form method="POST" action="{html.escape(req.path)}">'
        f'<input type="hidden" name="sim_consent" value="{consent_id}"/>'
        f'<ul id="sim-users">{options}</ul>'
        '<button type="submit" id="sim-accept" name="sim_action" value="accept">Accept</button> '
        '<button type="submit" id="sim-cancel" name="sim_action" value="cancel">Cancel</button>'
        "</form></body></html>"
    )
    return Response(200, body, content_type="text/html; charset=utf-8")


def _consent_answer(sim, req):
    form = req.form()
    with sim._lock:
        params = sim._consents.pop(form.get("sim_consent", ""), None)
    if params is None or params.get("_admin"):
        return _page(
            400, "Sign in error", "AADSTS90014: Unknown or already answered consent request."
        )
    if form.get("sim_action") != "accept":
        return _error_redirect(
            params, "access_denied", 65004, "User declined to consent to access the app."
        )
    with sim._lock:
        uid = form.get("user_id") or sim.config["default_user"]
        if uid not in sim._users:
            return _page(400, "Sign in error", "AADSTS50034: Unknown user.")
    return _grant_code(sim, params, uid)


def _grant_code(sim, params, uid):
    with sim._lock:
        user = sim._users[uid]
        if not user["accountEnabled"]:
            return _error_redirect(params, "access_denied", 50057, "The user account is disabled.")
        if params["_tenant"] and params["_tenant"] != user["_tenant"]:
            return _error_redirect(
                params, "invalid_request", 50020, "User account is from another tenant."
            )
        code = "1.ASIM" + sim.token(96)
        sim._codes[code] = {
            "client_id": params["client_id"],
            "redirect_uri": params["redirect_uri"],
            "user_id": uid,
            "scopes": (params.get("scope") or "").split(),
            "nonce": params.get("nonce"),
            "challenge": params.get("code_challenge"),
            "method": params.get("code_challenge_method") or "plain",
            "expires": sim.now() + 600,
            "used": False,
        }
        tid = user["_tenant"]
    values = {"code": code, "state": params.get("state"), "session_state": sim.guid()}
    if params.get("client_info") == "1":
        values["client_info"] = b64json({"uid": uid, "utid": tid})
    return _redirect(params, values)


# ---------------------------------------------------------------- admin consent
def _aadsts(code, description):
    """An AADSTS description as Entra writes it, trace and correlation ids included."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    return (
        f"AADSTS{code}: {description}\r\nTrace ID: {uuid.uuid4()}\r\n"
        f"Correlation ID: {uuid.uuid4()}\r\nTimestamp: {stamp}"
    )


def _admin_consent_error(params, error, code, description):
    return _redirect(
        params,
        {
            "admin_consent": "True",
            "error": error,
            "error_description": _aadsts(code, description),
            "state": params.get("state"),
        },
    )


def admin_consent(sim, req, tenant):
    """`/{tenant}/v2.0/adminconsent`: an administrator grants the app's permissions tenant-wide.

    Errors Entra shows on its own page (unknown app, redirect URI not registered) stay here;
    the others go back to the redirect URI with `error`, as do the grant and the refusal.
    """
    if req.method == "POST":
        return _admin_consent_answer(sim, req)
    params = dict(req.query)
    client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
    refused = _check_app(sim, client_id, redirect_uri)
    if refused:
        return refused
    if tenant.lower() == "common":
        return _admin_consent_error(
            params,
            "invalid_request",
            90130,
            "Admin consent is not supported on the /common endpoint: use the tenant.",
        )
    try:
        tid = _resolve_tenant(sim, tenant) or sim.tenant_id  # organizations: the admin's own
    except AadError as exc:
        return _admin_consent_error(params, exc.error, exc.code, exc.description)
    scopes = (params.get("scope") or "").split()
    if not scopes:
        return _admin_consent_error(
            params, "invalid_request", 900144, "The request must contain the 'scope' parameter."
        )
    params.update(_tenant=tid, _admin=True)
    mode = sim.config["consent_mode"]
    if mode == "refuse":
        return _admin_consent_error(
            params,
            "consent_required",
            65004,
            "The resource owner or authorization server denied the request.",
        )
    if mode == "auto":
        return _grant_admin_consent(sim, params)
    consent_id = sim.token(16)
    with sim._lock:
        sim._consents[consent_id] = params
    body = (
        "<!DOCTYPE html><html><head><title>Permissions requested (simulator)</title></head><body>"
        "<h1>Permissions requested: accept for your organization</h1>"
        f"<p>App <b>{html.escape(client_id)}</b> wants, for every user of tenant "
        f"{html.escape(tid)}: {html.escape(' '.join(scopes))}</p>"
        f'<form method="POST" action="{html.escape(req.path)}">'
        f'<input type="hidden" name="sim_consent" value="{consent_id}"/>'
        '<button type="submit" id="sim-accept" name="sim_action" value="accept">Accept</button> '
        '<button type="submit" id="sim-cancel" name="sim_action" value="cancel">Cancel</button>'
        "</form></body></html>"
    )
    return Response(200, body, content_type="text/html; charset=utf-8")


def _admin_consent_answer(sim, req):
    form = req.form()
    with sim._lock:
        params = sim._consents.pop(form.get("sim_consent", ""), None)
    if params is None or not params.get("_admin"):
        return _page(
            400, "Sign in error", "AADSTS90014: Unknown or already answered consent request."
        )
    if form.get("sim_action") != "accept":
        return _admin_consent_error(
            params,
            "access_denied",
            65004,
            "The resource owner or authorization server denied the request.",
        )
    return _grant_admin_consent(sim, params)


def _grant_admin_consent(sim, params):
    scope = params.get("scope") or ""
    sim.grant_admin_consent(params["client_id"], params["_tenant"], scope=scope)
    return _redirect(
        params,
        {
            "admin_consent": "True",
            "tenant": params["_tenant"],
            "scope": scope,
            "state": params.get("state"),
        },
    )


# ---------------------------------------------------------------- token
def _client_auth(sim, req, form):
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = req.headers.get("authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            raw = base64.b64decode(auth[6:].strip()).decode()
            cid, _, sec = raw.partition(":")
            client_id, secret = client_id or unquote(cid), secret or unquote(sec)
        except ValueError:
            raise AadError("invalid_client", 7000215, "Invalid client credentials.", 401) from None
    if not client_id:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    with sim._lock:
        apps = sim._apps
        if apps:
            app = apps.get(client_id)
            if app is None:
                raise AadError(
                    "unauthorized_client",
                    700016,
                    f"Application with identifier '{client_id}' was not found in the directory.",
                )
            if app["client_secret"] is not None:
                if not secret:
                    raise AadError(
                        "invalid_client",
                        7000218,
                        "The request body must contain the following parameter: "
                        "'client_assertion' or 'client_secret'.",
                        401,
                    )
                if secret != app["client_secret"]:
                    raise AadError(
                        "invalid_client", 7000215, "Invalid client secret provided.", 401
                    )
    return client_id


def token(sim, req, tenant):
    form = req.form()
    client_id = _client_auth(sim, req, form)
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return _auth_code_grant(sim, form, client_id)
    if grant == "refresh_token":
        return _refresh_grant(sim, form, client_id)
    if grant == "client_credentials":
        return _client_credentials(sim, form, client_id, tenant)
    raise AadError(
        "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
    )


def _auth_code_grant(sim, form, client_id):
    code = form.get("code") or ""
    with sim._lock:
        rec = sim._codes.get(code)
        if rec is None:
            raise AadError(
                "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid."
            )
        if rec["used"]:
            raise AadError(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                "code or use an existing refresh token.",
            )
        rec["used"] = True
    if rec["expires"] < sim.now():
        raise AadError(
            "invalid_grant", 70008, "The provided authorization code or refresh token has expired."
        )
    if rec["client_id"] != client_id:
        raise AadError("invalid_grant", 70000, "The code was issued to another client.")
    if form.get("redirect_uri") != rec["redirect_uri"]:
        raise AadError(
            "invalid_grant",
            50148,
            "The redirect_uri does not match the one used in the authorization request.",
        )
    if rec["challenge"]:
        verifier = form.get("code_verifier") or ""
        if rec["method"] == "S256":
            computed = b64url(hashlib.sha256(verifier.encode()).digest())
        else:
            computed = verifier
        if not verifier or computed != rec["challenge"]:
            raise AadError(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization "
                "request.",
            )
    return _user_tokens(sim, rec["user_id"], client_id, rec["scopes"], rec["nonce"])


def _refresh_grant(sim, form, client_id):
    rt = form.get("refresh_token") or ""
    with sim._lock:
        rec = sim._refresh.get(rt)
        if rec is None:
            raise AadError(
                "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        if rec.get("revoked"):
            raise AadError(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is "
                "needed.",
            )
        if rec.get("used") and sim.config["strict_refresh_rotation"]:
            raise AadError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity.",
            )
        if rec["client_id"] != client_id:
            raise AadError(
                "invalid_grant", 70000, "The refresh token was issued to another client."
            )
        scopes = (form.get("scope") or "").split() or rec["scopes"]
        consented = {_short_scope(s).lower() for s in rec["scopes"]} | RESERVED
        missing = [s for s in scopes if _short_scope(s).lower() not in consented]
        if missing:
            # Entra: a refresh cannot widen what the user consented to.
            raise AadError(
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application for "
                f"{' '.join(missing)}. Send an interactive authorization request.",
            )
        rec["used"] = True
    # As Entra does, the token carries every permission the user consented to for Graph,
    # whatever subset the refresh asked for.
    consented = [s for s in rec["scopes"] if _short_scope(s).lower() not in RESERVED]
    granted = list(dict.fromkeys([*scopes, *consented]))
    return _user_tokens(sim, rec["user_id"], client_id, granted, None)


def _short_scope(scope):
    return scope.rsplit("/", 1)[-1] if scope.lower().startswith("https://") else scope


def _user_tokens(sim, uid, client_id, scopes, nonce):
    with sim._lock:
        user = sim._users.get(uid)
        if user is None:
            raise AadError(
                "invalid_grant", 50034, "The user account does not exist in the directory."
            )
        if not user["accountEnabled"]:
            raise AadError("invalid_grant", 50057, "The user account is disabled.")
        tid = user["_tenant"]
        upn, name = user["userPrincipalName"], user["displayName"]
    low = {s.lower() for s in scopes}
    resource = [s for s in scopes if s.lower() not in RESERVED]
    short = [
        s.split("/")[-1] if s.lower().startswith("https://graph.microsoft.com/") else s
        for s in resource
    ]
    lifetime = float(sim.config["access_token_lifetime"])
    real_lifetime = max(1, int(lifetime / sim.time_scale))
    at = sim._new_access_token("user", uid, tid, client_id, short)
    granted = list(short)
    if "openid" in low:
        granted += ["profile", "openid", "email"]
    body = {
        "token_type": "Bearer",
        "scope": " ".join(granted),
        "expires_in": real_lifetime,
        "ext_expires_in": real_lifetime,
        "access_token": at,
        "client_info": b64json({"uid": uid, "utid": tid}),
    }
    if "offline_access" in low:
        rt = "1.ASIMrt" + sim.token(64)
        with sim._lock:
            sim._refresh[rt] = {"user_id": uid, "client_id": client_id, "scopes": list(scopes)}
        body["refresh_token"] = rt
    if "openid" in low:
        now = int(time.time())
        claims = {
            "aud": client_id,
            "iss": f"{sim.base_url}/{tid}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": name,
            "oid": uid,
            "preferred_username": upn,
            "rh": "0.ASIM.",
            "sub": b64url(hashlib.sha256(f"{uid}:{client_id}".encode()).digest()),
            "tid": tid,
            "uti": sim.token(16),
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "JWT", "alg": "RS256", "kid": "graph-simulator"}
        body["id_token"] = f"{b64json(header)}.{b64json(claims)}.{sim.token(64)}"
    return Response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _client_credentials(sim, form, client_id, tenant):
    scopes = (form.get("scope") or "").split()
    if not scopes or not all(s.endswith("/.default") for s in scopes):
        raise AadError(
            "invalid_scope",
            1002012,
            f"The provided value for scope {' '.join(scopes)} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    tid = _resolve_tenant(sim, tenant)
    if tid is None:
        raise AadError(
            "invalid_request",
            900023,
            f"Specified tenant identifier '{tenant}' is not valid for client credentials: use the "
            "tenant id or a domain.",
        )
    lifetime = float(sim.config["access_token_lifetime"])
    real_lifetime = max(1, int(lifetime / sim.time_scale))
    with sim._lock:
        roles = sim._has_app_roles(client_id, tid)
    at = sim._new_access_token("app", None, tid, client_id, scopes, roles=roles)
    return Response(
        200,
        {
            "token_type": "Bearer",
            "expires_in": real_lifetime,
            "ext_expires_in": real_lifetime,
            "access_token": at,
        },
    )
