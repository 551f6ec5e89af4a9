"""`/_sim/...` admin HTTP API: mirrors the Python API for other processes. No auth, not counted."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from graph_simulator.common import Response

ROUTES = []


def route(method, pattern, raw=False):
    """`raw`: the handler gets the body as bytes (a photo), not parsed as JSON."""

    def deco(fn):
        ROUTES.append((method, re.compile("^/_sim" + pattern + "$"), fn, raw))
        return fn

    return deco


def handle(sim, req):
    for method, rx, fn, raw in ROUTES:
        m = rx.match(req.path)
        if m and method == req.method:
            try:
                body = req.body if raw else req.json() if req.body else None
            except ValueError:
                return Response(400, {"error": {"code": "BadRequest", "message": "invalid JSON"}})
            args = [unquote(g) for g in m.groups()]
            try:
                result = fn(sim, req, body, *args)
            except (KeyError, ValueError, TypeError) as exc:
                status = 404 if isinstance(exc, KeyError) else 400
                return Response(
                    status, {"error": {"code": type(exc).__name__, "message": str(exc)}}
                )
            if isinstance(result, Response):
                return result
            return Response(200, json.loads(json.dumps(result, default=str)))
    return Response(404, {"error": {"code": "NotFound", "message": f"no admin route {req.path}"}})


@route("GET", "/?")
def _index(sim, req, body):
    return {"routes": [f"{m} {rx.pattern}" for m, rx, _, _ in ROUTES], "base_url": sim.base_url}


@route("POST", "/reset")
def _reset(sim, req, body):
    sim.reset()
    return {"ok": True}


@route("POST", "/snapshots/([^/]+)")
def _snapshot(sim, req, body, name):
    sim.snapshot(name)
    return {"ok": True}


@route("POST", "/snapshots/([^/]+)/restore")
def _restore(sim, req, body, name):
    sim.restore(name)
    return {"ok": True}


@route("POST", "/configure")
def _configure(sim, req, body):
    return sim.configure(**(body or {}))


@route("GET", "/config")
def _config(sim, req, body):
    return dict(sim.config)


@route("POST", "/users")
def _add_user(sim, req, body):
    if isinstance(body, list):  # bulk seeding (benchmarks): one request, many users
        return [sim.add_user(**attrs) for attrs in body]
    body = dict(body or {})
    return sim.add_user(body.pop("upn"), **body)


@route("GET", "/users")
def _users(sim, req, body):
    return sim.users()


@route("PATCH", "/users/([^/]+)")
def _update_user(sim, req, body, uid):
    return sim.update_user(uid, **(body or {}))


@route("DELETE", "/users/([^/]+)")
def _delete_user(sim, req, body, uid):
    sim.delete_user(uid)
    return {"ok": True}


@route("POST", "/groups")
def _add_group(sim, req, body):
    body = dict(body or {})
    return sim.add_group(body.pop("display_name"), **body)


@route("PATCH", "/groups/([^/]+)/members")
def _change_members(sim, req, body, gid):
    body = body or {}
    if body.get("add"):
        sim.add_group_members(gid, body["add"])
    if body.get("remove"):
        sim.remove_group_members(gid, body["remove"])
    return sim.group_members(gid)


@route("POST", "/apps")
def _register_app(sim, req, body):
    body = dict(body or {})
    return sim.register_app(body.pop("client_id"), **body)


@route("POST", "/apps/([^/]+)/admin_consent")
def _grant_admin_consent(sim, req, body, client_id):
    body = body or {}
    return sim.grant_admin_consent(client_id, body.get("tenant_id"), body.get("scope", ".default"))


@route("DELETE", "/apps/([^/]+)/admin_consent")
def _revoke_admin_consent(sim, req, body, client_id):
    sim.revoke_admin_consent(client_id, req.query.get("tenant_id") or None)
    return {"ok": True}


@route("GET", "/admin_consents")
def _admin_consents(sim, req, body):
    return sim.admin_consents()


@route("POST", "/users/([^/]+)/contacts")
def _seed(sim, req, body, uid):
    folder_id = req.query.get("folder_id")
    if isinstance(body, dict):
        folder_id = body.get("folder_id", folder_id)
        body = body.get("contacts", [])
    return sim.seed_contacts(uid, body or [], folder_id=folder_id)


@route("GET", "/users/([^/]+)/contacts")
def _contacts(sim, req, body, uid):
    return sim.contacts(uid, folder_id=req.query.get("folder_id") or None)


@route("PATCH", "/users/([^/]+)/contacts/([^/]+)")
def _edit(sim, req, body, uid, cid):
    return sim.edit_contact(uid, cid, **(body or {}))


@route("PATCH", "/users/([^/]+)/contacts/([^/]+)/corrupt")
def _corrupt(sim, req, body, uid, cid):
    return sim.corrupt_contact(uid, cid, **(body or {}))


@route("PUT", "/users/([^/]+)/contacts/([^/]+)/photo", raw=True)
def _set_photo(sim, req, body, uid, cid):
    sim.set_photo(uid, cid, body, req.headers.get("content-type") or "image/jpeg")
    return {"ok": True}


@route("GET", "/users/([^/]+)/contacts/([^/]+)/photo")
def _photo(sim, req, body, uid, cid):
    stored = sim.photo(uid, cid)
    if stored is None:
        raise KeyError(f"contact {cid!r} has no photo")
    return Response(200, stored[0], content_type=stored[1])


@route("DELETE", "/users/([^/]+)/contacts/([^/]+)/photo")
def _delete_photo(sim, req, body, uid, cid):
    sim.delete_photo(uid, cid)
    return {"ok": True}


@route("DELETE", "/users/([^/]+)/contacts/([^/]+)")
def _delete_contact(sim, req, body, uid, cid):
    sim.delete_contact(uid, cid)
    return {"ok": True}


@route("GET", "/users/([^/]+)/categories")
def _categories(sim, req, body, uid):
    return sim.master_categories(uid)


@route("POST", "/users/([^/]+)/categories")
def _add_category(sim, req, body, uid):
    return sim.add_master_category(uid, body["displayName"], body.get("color", "none"))


@route("GET", "/users/([^/]+)/folders")
def _folders(sim, req, body, uid):
    return sim.folders(uid)


@route("POST", "/users/([^/]+)/folders")
def _create_folder(sim, req, body, uid):
    return sim.create_folder(uid, (body or {})["display_name"])


@route("DELETE", "/users/([^/]+)/folders/([^/]+)")
def _delete_folder(sim, req, body, uid, fid):
    sim.delete_folder(uid, fid)
    return {"ok": True}


@route("POST", "/users/([^/]+)/folders/([^/]+)/reset_sync_state")
def _reset_sync(sim, req, body, uid, fid):
    sim.reset_sync_state(uid, fid)
    return {"ok": True}


@route("POST", "/users/([^/]+)/revoke")
def _revoke(sim, req, body, uid):
    sim.revoke_refresh_tokens(uid)
    return {"ok": True}


@route("POST", "/users/([^/]+)/token")
def _token(sim, req, body, uid):
    scopes = (body or {}).get("scopes") or ("Contacts.ReadWrite", "User.Read")
    return {"access_token": sim.issue_token(uid, scopes=tuple(scopes))}


@route("POST", "/app_token")
def _app_token(sim, req, body):
    return {"access_token": sim.issue_app_token((body or {}).get("tenant_id"))}


@route("POST", "/expire_tokens")
def _expire(sim, req, body):
    sim.expire_access_tokens((body or {}).get("user_id"))
    return {"ok": True}


@route("POST", "/advance_time")
def _advance(sim, req, body):
    sim.advance_time(float((body or {})["seconds"]))
    return {"ok": True}


@route("GET", "/clock")
def _clock(sim, req, body):
    return {"now": sim.now()}


@route("POST", "/users/([^/]+)/spend_window")
def _spend_window(sim, req, body, uid):
    body = body or {}
    return sim.spend_window(uid, float(body["fraction"]), spread=bool(body.get("spread", True)))


@route("GET", "/users/([^/]+)/throttling")
def _throttling(sim, req, body, uid):
    since = req.query.get("since")
    return sim.throttling_report(uid, since=float(since) if since else None)


@route("POST", "/faults")
def _faults(sim, req, body):
    sim.inject_fault(**(body or {}))
    return {"ok": True}


@route("DELETE", "/faults")
def _clear_faults(sim, req, body):
    sim.clear_faults()
    return {"ok": True}


@route("GET", "/stats")
def _stats(sim, req, body):
    return sim.stats()


@route("GET", "/log")
def _log(sim, req, body):
    return [list(x) for x in sim.requests_log]
