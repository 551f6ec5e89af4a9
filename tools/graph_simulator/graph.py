"""Microsoft Graph `/v1.0` routes: me, contact folders, contacts, delta, $batch, directory."""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode

from graph_simulator import categories as cats
from graph_simulator import contacts as cm
from graph_simulator import subscriptions
from graph_simulator.common import USER_ATTRS, GraphError, Headers, Request, Response
from graph_simulator.odata import (
    ODataError,
    parse_expand_ext_ids,
    parse_filter,
    parse_prefer,
    parse_select,
)

USER_DEFAULT_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
READ_SCOPES = {
    "contacts.read",
    "contacts.readwrite",
    "contacts.read.shared",
    "contacts.readwrite.shared",
}
WRITE_SCOPES = {"contacts.readwrite", "contacts.readwrite.shared"}
NOT_FOUND_MSG = "The specified object was not found in the store."


@dataclass
class Route:
    kind: str
    fn: object
    mailbox: str
    ctx: dict = field(default_factory=dict)


# ====================================================================== entry points
def handle(sim, req):
    try:
        principal = authenticate(sim, req)
    except GraphError as exc:
        resp = error_response(sim, exc)
        resp.headers["WWW-Authenticate"] = (
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        )
        sim._count(req.method, req.path, resp.status, None, "unauthenticated")
        return resp
    segs = segments(req.path)
    if segs and segs[0].lower() == "subscriptions":
        return subscriptions.handle(sim, req, principal, segs)
    if [s.lower() for s in segs] == ["$batch"]:
        if req.method != "POST":
            return error_response(sim, GraphError(405, "MethodNotAllowed", "Use POST for $batch."))
        return batch(sim, req, principal)
    try:
        route = resolve(sim, req.method, segs, principal)
    except GraphError as exc:
        resp = error_response(sim, exc)
        sim._count(req.method, req.path, resp.status, mailbox_key(principal), "invalid")
        return resp
    mailbox = route.mailbox
    current = sim._enter(mailbox)
    try:
        if sim.config["throttle_enabled"] and current > int(sim.config["max_concurrent"]):
            with sim._lock:
                resp = sim._concurrency_429(mailbox)
        else:
            resp = sim._rate_check(mailbox, call=req)
            if resp is None:
                if sim.config["latency"]:
                    time.sleep(float(sim.config["latency"]))
                resp = run(sim, route, req)
    finally:
        sim._leave(mailbox)
    sim._count(req.method, req.path, resp.status, mailbox, route.kind)
    prefs = parse_prefer(req.headers.get("prefer"))
    if "idtype" in prefs and "Preference-Applied" not in resp.headers:
        resp.headers["Preference-Applied"] = f'IdType="{prefs["idtype"]}"'
    return resp


def run(sim, route, req):
    try:
        with sim._lock:
            return route.fn(sim, req, route.ctx)
    except GraphError as exc:
        return error_response(sim, exc)
    except ODataError as exc:
        return error_response(sim, GraphError(400, "BadRequest", str(exc)))


def error_response(sim, exc):
    return Response(
        exc.status, sim.error_body(exc.status, exc.code, exc.message), dict(exc.headers)
    )


def segments(path):
    rest = path[len("/v1.0") :].strip("/")
    return [unquote(s) for s in rest.split("/")] if rest else []


def authenticate(sim, req):
    auth = req.headers.get("authorization") or ""
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    with sim._lock:
        rec = sim._access.get(auth[7:].strip())
        if rec is None:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "IDX14100: JWT is not well formed, there are no dots (.).",
            )
        if rec["expires"] <= sim.now():
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        if rec["kind"] == "user" and rec["user_id"] not in sim._users:
            raise GraphError(
                401, "InvalidAuthenticationToken", "The user account no longer exists."
            )
        return rec


def mailbox_key(principal):
    if principal["kind"] == "user":
        return principal["user_id"]
    return f"tenant:{principal['tenant_id']}"


def _scopes(principal):
    return {s.rsplit("/", 1)[-1].lower() for s in principal["scopes"]}


# ====================================================================== routing
def resolve(sim, method, segs, principal):
    low = [s.lower() for s in segs]
    if principal["kind"] == "app" and not principal.get("roles", True):
        # A client-credentials token issued before any admin consent: no application role.
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    if not segs:
        raise GraphError(400, "BadRequest", "Resource not found for the segment ''.")
    if low[0] == "me":
        if principal["kind"] != "user":
            raise GraphError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        return _mailbox_route(sim, method, segs[1:], principal, principal["user_id"], "me")
    if low[0] == "users":
        if len(segs) == 1:
            return _methods(method, {"GET": ("users.list", list_users)}, principal, {}, segs)
        if low[1] in ("delta", "delta()") and len(segs) == 2:
            return _methods(method, {"GET": ("users.delta", users_delta)}, principal, {}, segs)
        with sim._lock:
            try:
                user = sim._find_user(segs[1])
            except KeyError:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{segs[1]}' does not exist or one of its queried reference-property "
                    "objects are not present.",
                ) from None
            if user["_tenant"] != principal["tenant_id"]:
                raise GraphError(
                    404, "Request_ResourceNotFound", f"Resource '{segs[1]}' does not exist."
                )
        return _mailbox_route(sim, method, segs[2:], principal, user["id"], "users")
    if low[0] == "groups":
        if len(segs) == 1:
            return _methods(method, {"GET": ("groups.list", list_groups)}, principal, {}, segs)
        with sim._lock:
            group = sim._groups.get(segs[1])
        if group is None or group["_tenant"] != principal["tenant_id"]:
            raise GraphError(
                404, "Request_ResourceNotFound", f"Resource '{segs[1]}' does not exist."
            )
        ctx = {"group": group}
        if len(segs) == 2:
            return _methods(method, {"GET": ("groups.get", get_group)}, principal, ctx, segs)
        if low[2] in ("members", "transitivemembers") and len(segs) in (3, 4):
            ctx["transitive"] = low[2] == "transitivemembers"
            if len(segs) == 4:
                if low[3] not in ("microsoft.graph.user", "microsoft.graph.group"):
                    raise GraphError(
                        400, "BadRequest", f"Resource not found for the segment '{segs[3]}'."
                    )
                ctx["cast"] = low[3]
            kind = "groups.transitiveMembers" if ctx["transitive"] else "groups.members"
            return _methods(method, {"GET": (kind, group_members)}, principal, ctx, segs)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[2]}'.")
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segs[0]}'.")


def _methods(method, table, principal, ctx, segs, mailbox=None):
    if method not in table:
        raise GraphError(
            405, "MethodNotAllowed", f"The HTTP method '{method}' is not allowed for this resource."
        )
    kind, fn = table[method]
    ctx = dict(ctx, principal=principal)
    return Route(kind, fn, mailbox or mailbox_key(principal), ctx)


def _mailbox_route(sim, method, rest, principal, uid, prefix):
    low = [s.lower() for s in rest]
    ctx = {"uid": uid}
    if not rest:
        kind = "me" if prefix == "me" else "users.get"
        return _methods(method, {"GET": (kind, get_user)}, principal, ctx, rest)
    if principal["kind"] == "user":
        if uid != principal["user_id"]:
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        scopes = _scopes(principal)
        needed = READ_SCOPES if method == "GET" else WRITE_SCOPES
        # Mailbox settings (master categories) check their own scopes.
        if not scopes & needed and low[:1] != ["outlook"]:
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
    with sim._lock:
        mb = sim._mailbox(uid)
    ctx["mb"] = mb

    def go(table):
        return _methods(method, table, principal, ctx, rest, mailbox=uid)

    if low[0] == "contacts":
        ctx["fid"] = mb["default"]
        ctx["folder_scoped"] = False
        if len(rest) == 1:
            return go(
                {
                    "GET": ("contacts.list", list_contacts),
                    "POST": ("contacts.create", create_contact),
                }
            )
        if len(rest) == 2 and low[1] in ("delta", "delta()"):
            return go({"GET": ("contacts.delta", contacts_delta)})
        if len(rest) == 2:
            ctx["cid"] = rest[1]
            return go(_item_table())
        if len(rest) in (3, 4) and _is_photo(low[2:]):
            ctx["cid"] = rest[1]
            return go(_photo_table(len(rest) == 4))
    elif low[0] == "contactfolders":
        if len(rest) == 1:
            return go(
                {"GET": ("folders.list", list_folders), "POST": ("folders.create", create_folder)}
            )
        ctx["fid"] = rest[1]
        ctx["folder_scoped"] = True
        if len(rest) == 2:
            return go(
                {
                    "GET": ("folders.get", get_folder),
                    "PATCH": ("folders.update", update_folder),
                    "DELETE": ("folders.delete", delete_folder),
                }
            )
        if low[2] == "contacts":
            if len(rest) == 3:
                return go(
                    {
                        "GET": ("contacts.list", list_contacts),
                        "POST": ("contacts.create", create_contact),
                    }
                )
            if len(rest) == 4 and low[3] in ("delta", "delta()"):
                return go({"GET": ("contacts.delta", contacts_delta)})
            if len(rest) == 4:
                ctx["cid"] = rest[3]
                return go(_item_table())
            if len(rest) in (5, 6) and _is_photo(low[4:]):
                ctx["cid"] = rest[3]
                return go(_photo_table(len(rest) == 6))
    elif low[0] == "outlook" and len(rest) in (2, 3) and low[1] == "mastercategories":
        if len(rest) == 2:
            return go(
                {
                    "GET": ("categories.list", list_categories),
                    "POST": ("categories.create", create_category),
                }
            )
        ctx["category_id"] = rest[2]
        return go(
            {
                "GET": ("categories.get", get_category),
                "PATCH": ("categories.update", update_category),
                "DELETE": ("categories.delete", delete_category),
            }
        )
    bad = rest[-1]
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{bad}'.")


def _item_table():
    return {
        "GET": ("contacts.get", get_contact),
        "PATCH": ("contacts.update", update_contact),
        "DELETE": ("contacts.delete", delete_contact),
    }


def _is_photo(low):
    return low[0] == "photo" and (len(low) == 1 or low[1] == "$value")


def _photo_table(value):
    if not value:
        return {"GET": ("contacts.photo.meta", get_photo_meta)}
    return {
        "GET": ("contacts.photo.get", get_photo),
        "PUT": ("contacts.photo.put", put_photo),
        "DELETE": ("contacts.photo.delete", delete_photo),
    }


# ====================================================================== helpers
def _body(req):
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError):
        raise GraphError(400, "RequestBodyRead", "Invalid JSON in the request body.") from None


def _folder(ctx):
    mb, fid = ctx["mb"], ctx["fid"]
    if fid not in mb["folders"]:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND_MSG)
    return fid


def _contact(ctx):
    mb = ctx["mb"]
    c = mb["contacts"].get(ctx["cid"])
    if c is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND_MSG)
    if ctx.get("folder_scoped"):
        _folder(ctx)
        if c["_folder"] != ctx["fid"]:
            raise GraphError(404, "ErrorItemNotFound", NOT_FOUND_MSG)
    return c


def _check_if_match(req, c):
    header = req.headers.get("if-match")
    if not header or header.strip() == "*":
        return
    tag = header.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if tag != c["changeKey"]:
        raise GraphError(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed in "
            "the request does not match the current change key for the item.",
        )


def _skiptoken(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _read_skiptoken(tok):
    try:
        pad = "=" * (-len(tok) % 4)
        return int(json.loads(base64.urlsafe_b64decode(tok + pad))["o"])
    except Exception:
        raise GraphError(400, "BadRequest", "Invalid $skiptoken.") from None


def _link(sim, req, **params):
    query = {k: v for k, v in req.query.items() if k not in ("$skiptoken", "$deltatoken", "$skip")}
    query.update(params)
    return f"{sim.base_url}{req.path}?{urlencode(query, safe='$(),=/:@')}"


def _page(sim, req, items, render, default_top, max_top, cap=False, top_error=None):
    raw_top = req.query.get("$top")
    try:
        top = int(raw_top) if raw_top is not None else default_top
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw_top}' for $top.") from None
    if top < 1 or top > max_top:
        if cap and top > max_top:
            top = max_top
        else:
            raise GraphError(400, *(top_error or ("BadRequest", f"Invalid $top '{raw_top}'.")))
    offset = _read_skiptoken(req.query["$skiptoken"]) if "$skiptoken" in req.query else 0
    if "$skip" in req.query:
        offset = int(req.query["$skip"])
    chunk = items[offset : offset + top]
    body = {
        "@odata.context": f"{sim.base_url}/v1.0/$metadata",
        "value": [render(x) for x in chunk],
    }
    if offset + top < len(items):
        body["@odata.nextLink"] = _link(sim, req, **{"$skiptoken": _skiptoken(offset + top)})
    return Response(200, body)


def _page_size(sim, req):
    prefs = parse_prefer(req.headers.get("prefer"))
    if "odata.maxpagesize" in prefs:
        try:
            size = max(1, min(int(prefs["odata.maxpagesize"]), 200))
        except ValueError:
            size = int(sim.config["delta_page_size"])
        return size, f"odata.maxpagesize={size}"
    return int(sim.config["delta_page_size"]), None


# ====================================================================== users & groups
def _render_user(user, select):
    props = select or USER_DEFAULT_SELECT
    out = {}
    for p in ("id", *props):
        match = next((k for k in user if k.lower() == p.lower() and not k.startswith("_")), None)
        if match:
            out[match] = json.loads(json.dumps(user[match]))
    return out


def _check_user_select(select):
    known = {a.lower() for a in USER_ATTRS} | {"id"}
    for s in select or ():
        if s.lower() not in known:
            raise GraphError(
                400,
                "BadRequest",
                f"Parsing OData Select and Expand failed: Could not find a property named '{s}' on "
                "type 'microsoft.graph.user'.",
            )


def get_user(sim, req, ctx):
    user = sim._users[ctx["uid"]]
    select = parse_select(req.query.get("$select"))
    _check_user_select(select)
    body = _render_user(user, select)
    body["@odata.context"] = f"{sim.base_url}/v1.0/$metadata#users/$entity"
    return Response(200, body)


def list_users(sim, req, ctx):
    tid = ctx["principal"]["tenant_id"]
    select = parse_select(req.query.get("$select"))
    _check_user_select(select)
    pred = parse_filter(req.query.get("$filter"))
    users = [u for u in sim._users.values() if u["_tenant"] == tid and (pred is None or pred(u))]
    raw = req.query.get("$top")
    return _page(
        sim,
        req,
        users,
        lambda u: _render_user(u, select),
        100,
        999,
        top_error=(
            "Request_UnsupportedQuery",
            f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.",
        ),
    )


def users_delta(sim, req, ctx):
    tid = ctx["principal"]["tenant_id"]
    tenant = sim._tenant(tid)
    size, applied = _page_size(sim, req)
    q = req.query
    if "$skiptoken" in q:
        rnd, pos = _delta_page_entry(sim, q["$skiptoken"], ("users", tid))
    else:
        select = parse_select(q.get("$select"))
        _check_user_select(select)
        since, first = 0, True
        if q.get("$deltatoken") == "latest":
            # Graph: a delta link for "now" without listing anything (users and groups only).
            rnd = {"scope": ("users", tid), "ids": [], "upto": tenant["seq"], "select": select}
            return _delta_response(sim, req, rnd, 0, size, applied, None, None)
        if "$deltatoken" in q:
            rec = sim._delta_tokens.get(q["$deltatoken"])
            max_age = float(sim.config["users_delta_token_max_age"])
            if rec is None or rec["scope"] != ("users", tid) or sim.now() - rec["issued"] > max_age:
                raise _sync_state_not_found()
            since, first = rec["pos"], False
            select = select or rec["select"]
        ids = [
            u["id"]
            for u in sim._users.values()
            if u["_tenant"] == tid and (first or u["_seq"] > since)
        ]
        if not first:
            ids += [uid for uid, seq in tenant["tombstones"].items() if seq > since]
        rnd = {
            "scope": ("users", tid),
            "ids": ids,
            "upto": tenant["seq"],
            "select": select,
            "epoch": 0,
        }
        pos = 0

    def render(uid):
        user = sim._users.get(uid)
        if user is None:
            return {"id": uid, "@removed": {"reason": "deleted"}}
        return _render_user(user, rnd["select"])

    return _delta_response(sim, req, rnd, pos, size, applied, render, None)


def _group_members(sim, group, transitive):
    seen, out, stack = set(), [], list(group["_members"])
    while stack:
        mid = stack.pop(0)
        if mid in seen:
            continue
        seen.add(mid)
        if mid in sim._users:
            out.append(("user", sim._users[mid]))
        elif mid in sim._groups:
            out.append(("group", sim._groups[mid]))
            if transitive:
                stack.extend(sim._groups[mid]["_members"])
    return out


def _render_member(kind, obj, select):
    if kind == "user":
        out = _render_user(obj, select)
    else:
        out = {k: v for k, v in obj.items() if not k.startswith("_")}
        if select:
            out = {k: v for k, v in out.items() if k == "id" or k in select}
    return {"@odata.type": f"#microsoft.graph.{kind}", **out}


def group_members(sim, req, ctx):
    select = parse_select(req.query.get("$select"))
    members = _group_members(sim, ctx["group"], ctx["transitive"])
    cast = ctx.get("cast")
    if cast:
        members = [m for m in members if f"microsoft.graph.{m[0]}" == cast]
    pred = parse_filter(req.query.get("$filter"))
    if pred:
        members = [m for m in members if pred(m[1])]
    return _page(sim, req, members, lambda m: _render_member(m[0], m[1], select), 100, 999)


def list_groups(sim, req, ctx):
    tid = ctx["principal"]["tenant_id"]
    pred = parse_filter(req.query.get("$filter"))
    groups = [g for g in sim._groups.values() if g["_tenant"] == tid and (pred is None or pred(g))]
    return _page(sim, req, groups, lambda g: _render_member("group", g, None), 100, 999)


def get_group(sim, req, ctx):
    return Response(200, _render_member("group", ctx["group"], None))


# ====================================================================== folders
def list_folders(sim, req, ctx):
    mb = ctx["mb"]
    pred = parse_filter(req.query.get("$filter"))
    items = [
        f for f in mb["folders"].values() if not f.get("_default") and (pred is None or pred(f))
    ]
    return _page(sim, req, items, cm.render_folder, 10, 1000, cap=True)


def create_folder(sim, req, ctx):
    body = _body(req)
    if not isinstance(body, dict):
        raise GraphError(400, "RequestBodyRead", "Expected a JSON object.")
    unknown = set(body) - {"displayName", "parentFolderId"}
    if unknown:
        raise GraphError(
            400,
            "RequestBodyRead",
            f"The property '{sorted(unknown)[0]}' does not exist on type "
            "'microsoft.graph.contactFolder'.",
        )
    return Response(201, cm.create_folder(sim, ctx["mb"], body.get("displayName")))


def get_folder(sim, req, ctx):
    fid = _folder(ctx)
    return Response(200, cm.render_folder(ctx["mb"]["folders"][fid]))


def update_folder(sim, req, ctx):
    fid = _folder(ctx)
    body = _body(req) or {}
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidRequest", "displayName is required.")
    folder = ctx["mb"]["folders"][fid]
    if folder.get("_default"):
        raise GraphError(
            400, "ErrorCannotRenameDistinguishedFolder", "Cannot rename a distinguished folder."
        )
    folder["displayName"] = name
    return Response(200, cm.render_folder(folder))


def delete_folder(sim, req, ctx):
    fid = _folder(ctx)
    cm.delete_folder(sim, ctx["mb"], fid)
    return Response(204)


# ====================================================================== contacts
def _select_expand(req):
    select = parse_select(req.query.get("$select"))
    cm.check_select(select)
    expand = parse_expand_ext_ids(req.query.get("$expand"))
    return select, expand


def list_contacts(sim, req, ctx):
    fid = _folder(ctx)
    select, expand = _select_expand(req)
    pred = parse_filter(req.query.get("$filter"))
    items = [
        c
        for c in ctx["mb"]["contacts"].values()
        if c["_folder"] == fid and (pred is None or pred(c))
    ]
    return _page(sim, req, items, lambda c: cm.render(c, select, expand), 10, 1000, cap=True)


def get_contact(sim, req, ctx):
    c = _contact(ctx)
    select, expand = _select_expand(req)
    return Response(200, cm.render(c, select, expand))


def create_contact(sim, req, ctx):
    fid = _folder(ctx)
    c = cm.create_contact(sim, ctx["mb"], fid, _body(req))
    return Response(201, cm.render(c))


def update_contact(sim, req, ctx):
    c = _contact(ctx)
    _check_if_match(req, c)
    cm.update_contact(sim, ctx["mb"], c, _body(req))
    return Response(200, cm.render(c))


def delete_contact(sim, req, ctx):
    c = _contact(ctx)
    _check_if_match(req, c)
    cm.delete_contact(sim, ctx["mb"], c["id"])
    return Response(204)


def get_photo_meta(sim, req, ctx):
    return Response(200, cm.render_photo(sim, _contact(ctx)))


def get_photo(sim, req, ctx):
    data, content_type = cm.photo(_contact(ctx))
    return Response(200, data, content_type=content_type)


def put_photo(sim, req, ctx):
    c = _contact(ctx)
    content_type = req.headers.get("content-type") or ""
    cm.check_photo(sim, req.body, content_type)
    cm.set_photo(sim, ctx["mb"], c, req.body, content_type.split(";")[0].strip())
    return Response(200)


def delete_photo(sim, req, ctx):
    cm.delete_photo(sim, ctx["mb"], _contact(ctx))
    return Response(204)


# ====================================================================== master categories
def _categories(ctx, write):
    if ctx["principal"]["kind"] == "user":
        cats.check_scopes(_scopes(ctx["principal"]), write)
    return ctx["mb"]


def list_categories(sim, req, ctx):
    mb = _categories(ctx, write=False)
    return Response(200, {"value": [dict(c) for c in cats.master(sim, mb).values()]})


def create_category(sim, req, ctx):
    mb = _categories(ctx, write=True)
    return Response(201, cats.create(sim, mb, _body(req)))


def get_category(sim, req, ctx):
    mb = _categories(ctx, write=False)
    return Response(200, dict(cats.get(sim, mb, ctx["category_id"])))


def update_category(sim, req, ctx):
    mb = _categories(ctx, write=True)
    return Response(200, cats.update(sim, mb, ctx["category_id"], _body(req)))


def delete_category(sim, req, ctx):
    mb = _categories(ctx, write=True)
    cats.delete(sim, mb, ctx["category_id"])
    return Response(204)


# ====================================================================== delta
def _sync_state_not_found():
    return GraphError(
        410,
        "SyncStateNotFound",
        "The sync state generation is too old or has been reset. Please do a full resync.",
    )


def _delta_page_entry(sim, tok, scope, epoch=None):
    entry = sim._delta_pages.get(tok)
    if entry is None:
        raise _sync_state_not_found()
    rnd, pos = entry
    if rnd["scope"] != scope or (epoch is not None and rnd["epoch"] != epoch):
        raise _sync_state_not_found()
    return rnd, pos


def contacts_delta(sim, req, ctx):
    mb, uid = ctx["mb"], ctx["uid"]
    fid = _folder(ctx)
    scope = ("contacts", uid, fid)
    epoch = mb["epoch"][fid]
    size, applied = _page_size(sim, req)
    q = req.query
    if "$skiptoken" in q:
        rnd, pos = _delta_page_entry(sim, q["$skiptoken"], scope, epoch)
    else:
        select = parse_select(q.get("$select"))
        cm.check_select(select)
        since, first = 0, True
        if "$deltatoken" in q:
            tok = q["$deltatoken"]
            rec = sim._delta_tokens.get(tok)
            if rec is None or rec["scope"] != scope or tok not in mb["tokens"][fid]:
                raise _sync_state_not_found()
            since, first = rec["pos"], False
            select = select or rec["select"]
        ids = [
            cid
            for cid, c in mb["contacts"].items()
            if c["_folder"] == fid and (first or c["_seq"] > since)
        ]
        if not first:
            ids += [
                cid
                for cid, seq in mb["tombstones"].get(fid, {}).items()
                if seq > since and cid not in mb["contacts"]
            ]
        rnd = {"scope": scope, "ids": ids, "upto": mb["seq"], "select": select, "epoch": epoch}
        pos = 0

    def render(cid):
        c = mb["contacts"].get(cid)
        if c is None or c["_folder"] != fid:
            return {"id": cid, "@removed": {"reason": "deleted"}}
        return cm.render(c, rnd["select"])

    return _delta_response(sim, req, rnd, pos, size, applied, render, (mb, fid))


def _delta_response(sim, req, rnd, pos, size, applied, render, folder):
    ids = rnd["ids"]
    rate = float(sim.config["delta_replay_rate"])
    value, new_pos, replays = [], pos, 0
    while len(value) < size and new_pos < len(ids):
        # an item already sent on an earlier page of this round comes again (page size kept)
        if rate and pos > 0 and replays < size // 2 and sim.rng.random() < rate:
            replays += 1
            value.append(render(ids[sim.rng.randrange(pos)]))
            continue
        value.append(render(ids[new_pos]))
        new_pos += 1
    sim.rng.shuffle(value)
    body = {"@odata.context": f"{sim.base_url}/v1.0/$metadata#Collection(contact)", "value": value}
    base = f"{sim.base_url}{req.path}"
    if new_pos < len(ids):
        tok = sim.token(18)
        sim._delta_pages[tok] = (rnd, new_pos)
        while len(sim._delta_pages) > 20000:
            sim._delta_pages.popitem(last=False)
        body["@odata.nextLink"] = f"{base}?$skiptoken={tok}"
    else:
        tok = rnd.get("delta_token")
        if tok is None or tok not in sim._delta_tokens:
            tok = sim.token(18)
            rnd["delta_token"] = tok
            sim._delta_tokens[tok] = {
                "scope": rnd["scope"],
                "pos": rnd["upto"],
                "select": rnd["select"],
                "issued": sim.now(),
            }
            if folder is not None:
                mb, fid = folder
                live = mb["tokens"][fid]
                live.append(tok)
                keep = max(1, int(sim.config["sync_state_generations"]))
                while len(live) > keep:
                    sim._delta_tokens.pop(live.pop(0), None)
        body["@odata.deltaLink"] = f"{base}?$deltatoken={tok}"
    headers = {"Preference-Applied": applied} if applied else {}
    return Response(200, body, headers)


# ====================================================================== $batch
def batch(sim, req, principal):
    mkey = mailbox_key(principal)
    with sim._lock:
        sim._stats["batch_calls"] += 1
    try:
        items = _validate_batch(sim, req)
    except GraphError as exc:
        resp = error_response(sim, exc)
        sim._count(req.method, req.path, resp.status, mkey, "batch", logical=False)
        return resp
    n = len(items)
    cap = int(sim.config["max_concurrent"])
    slots = max(1, min(n, cap))
    current = sim._enter(mkey, slots)
    try:
        rejected = set()
        if sim.config["throttle_enabled"] and current > cap:
            excess = min(n, current - cap)
            with sim._lock:
                rejected = set(sim.rng.sample([it["id"] for it in items], excess))
        if sim.config["latency"]:
            time.sleep(float(sim.config["latency"]) * math.ceil(n / slots))
        results = {}
        pending = list(items)
        while pending:
            progressed = False
            for item in list(pending):
                deps = item.get("dependsOn") or []
                if any(d not in results for d in deps):
                    continue
                pending.remove(item)
                progressed = True
                if any(not 200 <= results[d]["status"] < 300 for d in deps):
                    exc = GraphError(424, "FailedDependency", "Dependent request failed.")
                    out = _item_error(sim, item, exc)
                    sim._count(item["method"], item["url"], 424, mkey, "batch.item")
                elif item["id"] in rejected:
                    with sim._lock:
                        resp = sim._concurrency_429(mkey)
                    out = _item_response(item, resp)
                    sim._count(item["method"], item["url"], 429, mkey, "batch.item")
                else:
                    out = _run_item(sim, req, principal, item)
                results[item["id"]] = out
            if not progressed:  # cycle: cannot happen after validation, but be safe
                break
    finally:
        sim._leave(mkey, slots)
    responses = list(results.values())
    with sim._lock:
        sim.rng.shuffle(responses)
    sim._count(req.method, req.path, 200, mkey, "batch", logical=False)
    return Response(200, {"responses": responses})


def _validate_batch(sim, req):
    body = _body(req)
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise GraphError(400, "BadRequest", "Invalid batch payload format: 'requests' is required.")
    items = body["requests"]
    limit = int(sim.config["max_batch"])
    if not items:
        raise GraphError(400, "BadRequest", "Invalid batch payload format: no requests.")
    if len(items) > limit:
        raise GraphError(400, "BadRequest", f"Number of requests exceeds the limit of {limit}.")
    seen = set()
    for item in items:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("id", "method", "url")
        ):
            raise GraphError(
                400, "BadRequest", "Invalid batch payload format: id, method and url are required."
            )
        if item["id"] in seen:
            raise GraphError(
                400, "BadRequest", f"Batch request ids must be unique: '{item['id']}'."
            )
        seen.add(item["id"])
    for item in items:
        deps = item.get("dependsOn")
        if deps is not None and (
            not isinstance(deps, list) or any(d not in seen or d == item["id"] for d in deps)
        ):
            raise GraphError(400, "BadRequest", "Invalid dependsOn: unknown request id.")
    # cycle check
    graph = {i["id"]: list(i.get("dependsOn") or []) for i in items}
    state = {}

    def visit(node):
        if state.get(node) == 1:
            raise GraphError(400, "BadRequest", "Invalid dependsOn: circular dependency.")
        if state.get(node) == 2:
            return
        state[node] = 1
        for dep in graph[node]:
            visit(dep)
        state[node] = 2

    for node in graph:
        visit(node)
    return items


def _item_response(item, resp):
    headers = dict(resp.headers)
    out = {"id": item["id"], "status": resp.status, "headers": headers}
    if isinstance(resp.body, bytes):
        # Graph answers binary content inside a $batch as a base64 string.
        headers["Content-Type"] = resp.content_type or "application/octet-stream"
        out["body"] = base64.b64encode(resp.body).decode()
    elif resp.body is not None:
        headers.setdefault("Content-Type", "application/json")
        out["body"] = resp.body
    return out


def _item_error(sim, item, exc):
    return _item_response(item, error_response(sim, exc))


def _run_item(sim, outer, principal, item):
    with sim._lock:
        sim._stats["batch_items"] += 1
    method = item["method"].upper()
    url = item["url"]
    mkey = mailbox_key(principal)
    if url.lower().startswith(("http://", "https://")):
        sim._count(method, url, 400, mkey, "batch.item")
        return _item_error(
            sim,
            item,
            GraphError(400, "BadRequest", "Invalid request: batch item urls must be relative."),
        )
    headers = Headers(item.get("headers") or {})
    body = item.get("body")
    if body is not None and not headers.get("content-type"):
        sim._count(method, url, 400, mkey, "batch.item")
        return _item_error(
            sim,
            item,
            GraphError(
                400,
                "BadRequest",
                f"Write request id : {item['id']} does not contain Content-Type header.",
            ),
        )
    headers["authorization"] = outer.headers.get("authorization")
    if isinstance(body, str) and (headers.get("content-type") or "").lower().startswith("image/"):
        # A binary body inside a $batch travels base64-encoded.
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            sim._count(method, url, 400, mkey, "batch.item")
            return _item_error(
                sim, item, GraphError(400, "BadRequest", "The body is not valid base64.")
            )
    else:
        raw = json.dumps(body).encode() if body is not None else b""
    inner = Request(method, "/v1.0/" + url.lstrip("/"), headers, raw)
    fault = sim._take_fault(method, inner.target, inner=True)
    if isinstance(fault, Response):
        sim._count(method, inner.path, fault.status, mkey, "batch.item")
        return _item_response(item, fault)
    segs = segments(inner.path)
    try:
        if segs and segs[0].lower() == "$batch":
            raise GraphError(400, "BadRequest", "Nested $batch requests are not allowed.")
        route = resolve(sim, method, segs, principal)
    except GraphError as exc:
        sim._count(method, inner.path, exc.status, mkey, "batch.item")
        return _item_error(sim, item, exc)
    resp = sim._rate_check(route.mailbox, call=outer)
    if resp is None:
        resp = run(sim, route, inner)
    sim._count(method, inner.path, resp.status, route.mailbox, route.kind)
    if isinstance(fault, tuple) and fault[0] == "after":
        return _item_response(item, fault[1])
    return _item_response(item, resp)


def new_request_id():
    return str(uuid.uuid4())
