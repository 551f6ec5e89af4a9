"""The GraphSimulator: state, Python control API, throttling, faults, stats and server lifecycle."""

from __future__ import annotations

import base64
import collections
import copy
import math
import os
import random
import re
import shutil
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

from graph_simulator import admin, categories, graph, login, subscriptions
from graph_simulator import contacts as contact_model
from graph_simulator.common import STATUS_CODES, USER_ATTRS, GraphError, Response
from graph_simulator.server import make_server

DEFAULTS = {
    "consent_mode": "auto",
    "default_user": None,
    "throttle_enabled": True,
    "max_concurrent": 4,
    "rate_limit": 10000,
    "rate_window": 600.0,
    "fault_5xx_rate": 0.0,
    "drop_rate": 0.0,
    "latency": 0.0,
    "delta_replay_rate": 0.0,
    "delta_page_size": 100,
    "sync_state_generations": 3,
    "access_token_lifetime": 3600,
    "strict_refresh_rotation": False,
    "max_batch": 20,
    # additions (not in the original brief, harmless defaults)
    "users_delta_token_max_age": 7 * 24 * 3600.0,
    "concurrency_retry_after": 1.0,
    # Graph extends the throttling of clients that keep sending while throttled: each call
    # arriving while a mailbox is throttled adds this many simulated seconds to its wait.
    "throttle_extension": 1.0,
    # Retry-After granularity in real seconds (None: whole seconds at time_scale 1, else ms).
    # A benchmark that scales Outlook's window down scales this down with it.
    "retry_after_resolution": None,
    # True: an app-only token may read nothing until an administrator of its tenant granted the
    # app admin consent (/{tenant}/v2.0/adminconsent or grant_admin_consent()): Graph answers
    # 403 Authorization_RequestDenied, as it does for a token without application roles.
    "admin_consent_required": False,
    # The largest photo PUT accepted (Graph refuses request bodies of 4 MB and more: 413).
    "photo_max_bytes": 4 * 1024 * 1024,
    # change notifications (subscriptions.py)
    **subscriptions.DEFAULTS,
}


LOG_SIZE = 2000
# Per mailbox: when each request was accepted or refused, for throttling_report().
THROTTLE_LOG_SIZE = 200_000
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# What a snapshot leaves out: the server and its files, the constructor's settings, the clock's
# origin and the snapshots themselves. Everything else is the simulated world (see reset()).
NOT_STATE = frozenset(
    {
        "seed",
        "time_scale",
        "state_dir",
        "_own_state_dir",
        "_lock",
        "_server",
        "_thread",
        "_port",
        "ca_path",
        "ca_bundle_path",
        "_wall0",
        "_mono0",
        "_snapshots",
        "_request",
        "_generation",
        "_notifier",
    }
)


class GraphSimulator(subscriptions.SubscriptionsMixin):
    """A local HTTPS Microsoft login + Microsoft Graph stand-in. See README.md."""

    def __init__(self, seed=0, time_scale=1.0, state_dir=None):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.seed = seed
        self.time_scale = float(time_scale)
        self._own_state_dir = state_dir is None
        self.state_dir = state_dir
        self._lock = threading.RLock()
        self._server = None
        self._thread = None
        self._port = None
        self.ca_path = None
        self.ca_bundle_path = None
        self._wall0 = time.time()
        self._mono0 = time.monotonic()
        self._snapshots = {}
        self._request = threading.local()  # what the request this thread serves began in
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def start(self, host="127.0.0.1", port=0):
        if self._server is not None:
            return self
        if self.state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix="graph_sim_")
        os.makedirs(self.state_dir, exist_ok=True)
        self._server, self.ca_path, self.ca_bundle_path = make_server(
            self, host, port, self.state_dir
        )
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stop_notifier()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        if self._own_state_dir and self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def serve_forever(self):
        """Block until stop() is called from another thread (CLI use)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    @property
    def port(self):
        return self._port

    @property
    def base_url(self):
        if self._port is None:
            raise RuntimeError("simulator not started")
        return f"https://127.0.0.1:{self._port}"

    login_endpoint = base_url
    graph_endpoint = base_url

    # ------------------------------------------------------------------ state
    def reset(self):
        """Wipe all state, faults, counters and config (the server keeps running)."""
        with self._lock:
            # Requests still in flight belong to the world before: they count nowhere.
            self._generation = getattr(self, "_generation", 0) + 1
            self.rng = random.Random(self.seed)
            self.config = dict(DEFAULTS)
            self._time_offset = 0.0
            self.tenant_id = self.guid()
            self._tenants = {}
            self._tenant(self.tenant_id)
            self._users = {}
            self._groups = {}
            self._apps = {}
            self._mailboxes = {}
            self._access = {}
            self._refresh = {}
            self._codes = {}
            self._consents = {}
            # (client_id, tenant_id) -> {"granted_at": sim time, "scope": str}
            self._admin_consents = {}
            self._delta_pages = collections.OrderedDict()
            self._delta_tokens = {}
            self._faults = []
            self._inflight = collections.defaultdict(int)
            self._windows = collections.defaultdict(collections.deque)
            # mailbox -> {"until": sim time, "trigger": call, "extended": [calls]}
            self._throttled = {}
            # mailbox -> deque of (sim time, outcome): accepted / others / refused reason
            self._throttle_log = collections.defaultdict(
                lambda: collections.deque(maxlen=THROTTLE_LOG_SIZE)
            )
            self._log = collections.deque(maxlen=LOG_SIZE)
            self._stats = {
                "total_requests": 0,
                "http_round_trips": 0,
                "by_kind": collections.Counter(),
                "per_mailbox": collections.Counter(),
                "max_concurrent_per_mailbox": {},
                "throttled": collections.Counter(),
                "batch_calls": 0,
                "batch_items": 0,
                "status_counts": collections.Counter(),
                "faults_injected": 0,
                "throttle_extensions": 0,
            }
            self._reset_subscriptions()

    def snapshot(self, name):
        """Remember the whole simulated world under `name` (reset() keeps snapshots).

        Users, apps, tokens, mailboxes, delta links, config, faults, counters, the clock's
        offset and the id generator: restore(name) brings back exactly this point, e.g. a
        mailbox signed in once, for each test that starts from it.
        """
        with self._lock:
            state = {k: v for k, v in vars(self).items() if k not in NOT_STATE}
            self._snapshots[name] = copy.deepcopy(state)

    def restore(self, name):
        """Back to snapshot `name` (KeyError when there is none); the snapshot stays."""
        with self._lock:
            state = self._snapshots[name]
            for key in [k for k in vars(self) if k not in NOT_STATE]:
                delattr(self, key)
            for key, value in copy.deepcopy(state).items():
                setattr(self, key, value)
            self._forget_pending_notifications()

    def configure(self, **options):
        with self._lock:
            for key in options:
                if key not in DEFAULTS:
                    raise ValueError(f"unknown simulator option {key!r}")
            if "consent_mode" in options and options["consent_mode"] not in (
                "auto",
                "refuse",
                "page",
            ):
                raise ValueError("consent_mode must be auto, refuse or page")
            if options.get("default_user") and options["default_user"] not in self._users:
                options["default_user"] = self._find_user(options["default_user"])["id"]
            self.config.update(options)
            return dict(self.config)

    # ------------------------------------------------------------------ clock & ids
    def now(self):
        """Simulated epoch seconds."""
        real = time.monotonic() - self._mono0
        return self._wall0 + real * self.time_scale + self._time_offset

    def advance_time(self, seconds):
        """Move the simulated clock forward (token expiry, users/delta token age, windows)."""
        with self._lock:
            self._time_offset += float(seconds)

    def iso(self, t=None):
        t = self.now() if t is None else t
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def guid(self):
        with self._lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def token(self, nbytes=24):
        with self._lock:
            raw = bytes(self.rng.getrandbits(8) for _ in range(nbytes))
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def outlook_id(self, prefix="AAMkAGI2"):
        """An id shaped like an Outlook immutable id (URL-safe base64, '=' padded)."""
        with self._lock:
            raw = bytes(self.rng.getrandbits(8) for _ in range(46))
        return prefix + base64.urlsafe_b64encode(raw).decode()

    def change_key(self):
        with self._lock:
            raw = bytes(self.rng.getrandbits(8) for _ in range(15))
        return "EQAAABYAAA" + base64.b64encode(raw).decode()

    def retry_after(self, sim_seconds):
        """Retry-After header value in REAL seconds, never shorter than the real wait."""
        real = max(sim_seconds, 0.0) / self.time_scale
        resolution = self.config.get("retry_after_resolution")
        if resolution:
            steps = max(1, math.ceil(real / float(resolution) - 1e-9))
            return f"{steps * float(resolution):.6f}".rstrip("0").rstrip(".")
        if self.time_scale == 1.0:
            return str(max(1, math.ceil(real)))
        return f"{max(real, 0.001):.3f}".rstrip("0").rstrip(".")

    # ------------------------------------------------------------------ directory
    def _tenant(self, tenant_id):
        if tenant_id not in self._tenants:
            self._tenants[tenant_id] = {"seq": 0, "tombstones": {}}
        return self._tenants[tenant_id]

    def _bump_user(self, user):
        tenant = self._tenant(user["_tenant"])
        tenant["seq"] += 1
        user["_seq"] = tenant["seq"]

    def add_user(
        self,
        upn,
        display_name=None,
        tenant_id=None,
        user_id=None,
        mail=None,
        account_enabled=True,
        user_type="Member",
        **graph_user_attrs,
    ):
        unknown = set(graph_user_attrs) - USER_ATTRS
        if unknown:
            raise ValueError(f"unknown user attributes: {sorted(unknown)}")
        with self._lock:
            uid = user_id or self.guid()
            if uid in self._users:
                raise ValueError(f"user {uid} exists")
            local = upn.split("@")[0]
            name = display_name or local.replace(".", " ").title()
            given, _, sur = name.partition(" ")
            user = {
                "id": uid,
                "displayName": name,
                "givenName": given or None,
                "surname": sur or None,
                "mail": mail if mail is not None else upn,
                "userPrincipalName": upn,
                "jobTitle": None,
                "department": None,
                "companyName": None,
                "mobilePhone": None,
                "businessPhones": [],
                "officeLocation": None,
                "streetAddress": None,
                "city": None,
                "state": None,
                "postalCode": None,
                "country": None,
                "employeeId": None,
                "accountEnabled": bool(account_enabled),
                "userType": user_type,
                "preferredLanguage": None,
                "onPremisesExtensionAttributes": {
                    f"extensionAttribute{i}": None for i in range(1, 16)
                },
                "_tenant": tenant_id or self.tenant_id,
            }
            ext = graph_user_attrs.pop("onPremisesExtensionAttributes", None) or {}
            user.update(graph_user_attrs)
            user["onPremisesExtensionAttributes"].update(ext)
            self._bump_user(user)
            self._users[uid] = user
            self._mailbox(uid)
            if not self.config["default_user"]:
                self.config["default_user"] = uid
            return self._public_user(user)

    def _public_user(self, user):
        return {k: copy.deepcopy(v) for k, v in user.items() if not k.startswith("_")}

    def _find_user(self, key):
        if key in self._users:
            return self._users[key]
        low = str(key).lower()
        for user in self._users.values():
            if low in (str(user["userPrincipalName"]).lower(), str(user.get("mail")).lower()):
                return user
        raise KeyError(f"no user {key!r}")

    def users(self):
        with self._lock:
            return [self._public_user(u) for u in self._users.values()]

    def update_user(self, user_id, **attrs):
        unknown = set(attrs) - USER_ATTRS
        if unknown:
            raise ValueError(f"unknown user attributes: {sorted(unknown)}")
        with self._lock:
            user = self._find_user(user_id)
            ext = attrs.pop("onPremisesExtensionAttributes", None)
            user.update(attrs)
            if ext:
                user["onPremisesExtensionAttributes"].update(ext)
            self._bump_user(user)
            return self._public_user(user)

    def delete_user(self, user_id):
        with self._lock:
            user = self._find_user(user_id)
            tenant = self._tenant(user["_tenant"])
            tenant["seq"] += 1
            tenant["tombstones"][user["id"]] = tenant["seq"]
            del self._users[user["id"]]
            if self.config["default_user"] == user["id"]:
                self.config["default_user"] = next(iter(self._users), None)

    def add_group(self, display_name, members=(), tenant_id=None, group_id=None):
        with self._lock:
            gid = group_id or self.guid()
            group = {
                "id": gid,
                "displayName": display_name,
                "mailNickname": re.sub(r"\W", "", display_name) or "group",
                "securityEnabled": True,
                "_members": list(members),
                "_tenant": tenant_id or self.tenant_id,
            }
            self._groups[gid] = group
            return self._public_user(group)

    def add_group_members(self, group_id, members):
        with self._lock:
            group = self._groups[group_id]
            group["_members"].extend(m for m in members if m not in group["_members"])
            return self._public_user(group)

    def remove_group_members(self, group_id, members):
        with self._lock:
            group = self._groups[group_id]
            group["_members"] = [m for m in group["_members"] if m not in set(members)]
            return self._public_user(group)

    def group_members(self, group_id):
        """The group's direct members (user and group ids), as added."""
        with self._lock:
            return list(self._groups[group_id]["_members"])

    def register_app(self, client_id, client_secret=None, redirect_uris=None):
        with self._lock:
            self._apps[client_id] = {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": list(redirect_uris or []),
            }
            return dict(self._apps[client_id])

    def grant_admin_consent(self, client_id, tenant_id=None, scope=".default"):
        """An administrator of the tenant consented to the app's application permissions."""
        with self._lock:
            record = {"granted_at": self.now(), "scope": scope}
            self._admin_consents[(client_id, tenant_id or self.tenant_id)] = record
            return dict(record, client_id=client_id, tenant_id=tenant_id or self.tenant_id)

    def revoke_admin_consent(self, client_id, tenant_id=None):
        """The consent was removed (Enterprise applications > Permissions > Revoke)."""
        with self._lock:
            self._admin_consents.pop((client_id, tenant_id or self.tenant_id), None)

    def admin_consents(self):
        with self._lock:
            return [
                {"client_id": cid, "tenant_id": tid, **record}
                for (cid, tid), record in self._admin_consents.items()
            ]

    def _has_app_roles(self, client_id, tenant_id):
        """Whether a client-credentials token of this app carries its application roles."""
        if not self.config["admin_consent_required"]:
            return True
        return (client_id, tenant_id) in self._admin_consents

    # ------------------------------------------------------------------ tokens
    def _new_access_token(self, kind, user_id, tenant_id, client_id, scopes, roles=True):
        tok = "eyJ0eXAiOiJKV1QiLCJub25jZSI6" + self.token(48)  # opaque, JWT-looking prefix
        with self._lock:
            self._access[tok] = {
                "kind": kind,
                "user_id": user_id,
                "tenant_id": tenant_id,
                "client_id": client_id,
                "scopes": list(scopes),
                # App-only: the application roles are fixed when the token is issued, as in a
                # real token's "roles" claim; a consent given later needs a new token.
                "roles": roles,
                "expires": self.now() + float(self.config["access_token_lifetime"]),
            }
        return tok

    def issue_token(self, user_id, scopes=("Contacts.ReadWrite", "User.Read")):
        """Seeding helper: a delegated access token for the user, without any HTTP."""
        with self._lock:
            user = self._find_user(user_id)
            return self._new_access_token(
                "user", user["id"], user["_tenant"], "sim-seed", list(scopes)
            )

    def issue_app_token(self, tenant_id=None):
        """Seeding helper: an app-only access token for the tenant."""
        return self._new_access_token(
            "app",
            None,
            tenant_id or self.tenant_id,
            "sim-seed",
            ["https://graph.microsoft.com/.default"],
        )

    def revoke_refresh_tokens(self, user_id):
        with self._lock:
            uid = self._find_user(user_id)["id"]
            for rec in self._refresh.values():
                if rec["user_id"] == uid:
                    rec["revoked"] = True

    def expire_access_tokens(self, user_id=None):
        with self._lock:
            uid = self._find_user(user_id)["id"] if user_id else None
            for rec in self._access.values():
                if uid is None or rec["user_id"] == uid:
                    rec["expires"] = 0.0

    # ------------------------------------------------------------------ mailboxes
    def _mailbox(self, user_id):
        mb = self._mailboxes.get(user_id)
        if mb is None:
            fid = self.outlook_id("AAMkAGI2AAEuAAA")
            mb = {
                "folders": {},
                "contacts": {},
                "tombstones": {fid: {}},
                "seq": 0,
                "tokens": {fid: []},
                "epoch": {fid: 0},
                "default": fid,
            }
            mb["folders"][fid] = {
                "id": fid,
                "displayName": "Contacts",
                "parentFolderId": self.outlook_id("AAMkAGI2AAEuAAB"),
                "_default": True,
            }
            self._mailboxes[user_id] = mb
        return mb

    def _mb_for(self, user_id):
        user = self._find_user(user_id)
        return user["id"], self._mailbox(user["id"])

    def _folder(self, mb, folder_id):
        fid = folder_id or mb["default"]
        if fid not in mb["folders"]:
            raise KeyError(f"no folder {folder_id!r}")
        return fid

    def create_folder(self, user_id, display_name):
        with self._lock:
            _, mb = self._mb_for(user_id)
            return contact_model.create_folder(self, mb, display_name)

    def folders(self, user_id):
        with self._lock:
            _, mb = self._mb_for(user_id)
            return [contact_model.render_folder(f) for f in mb["folders"].values()]

    def delete_folder(self, user_id, folder_id):
        with self._lock:
            _, mb = self._mb_for(user_id)
            contact_model.delete_folder(self, mb, folder_id)

    def master_categories(self, user_id):
        """The mailbox's master list of categories (Outlook's six defaults at first)."""
        with self._lock:
            _, mb = self._mb_for(user_id)
            return [dict(c) for c in categories.master(self, mb).values()]

    def add_master_category(self, user_id, display_name, color="none"):
        with self._lock:
            _, mb = self._mb_for(user_id)
            try:
                return categories.create(self, mb, {"displayName": display_name, "color": color})
            except GraphError as exc:
                raise ValueError(exc.message) from exc

    def seed_contacts(self, user_id, contacts, folder_id=None):
        with self._lock:
            _, mb = self._mb_for(user_id)
            fid = self._folder(mb, folder_id)
            out = []
            for data in contacts:
                try:
                    c = contact_model.create_contact(self, mb, fid, data)
                except GraphError as exc:
                    raise ValueError(exc.message) from exc
                out.append(contact_model.render(c, expand=True))
            return out

    def contacts(self, user_id, folder_id=None):
        with self._lock:
            _, mb = self._mb_for(user_id)
            fid = self._folder(mb, folder_id)
            return [
                contact_model.render(c, expand=True)
                for c in mb["contacts"].values()
                if c["_folder"] == fid
            ]

    def get_contact(self, user_id, contact_id):
        with self._lock:
            _, mb = self._mb_for(user_id)
            return contact_model.render(mb["contacts"][contact_id], expand=True)

    def edit_contact(self, user_id, contact_id, **fields):
        with self._lock:
            _, mb = self._mb_for(user_id)
            if contact_id not in mb["contacts"]:
                raise KeyError(f"no contact {contact_id!r}")
            try:
                c = contact_model.update_contact(self, mb, mb["contacts"][contact_id], fields)
            except GraphError as exc:
                raise ValueError(exc.message) from exc
            return contact_model.render(c, expand=True)

    def corrupt_contact(self, user_id, contact_id, **fields):
        """Store values as given, unchecked, as a contact Graph serves with wrong-typed or
        malformed properties (a fault to inject: Outlook itself never accepts them)."""
        with self._lock:
            _, mb = self._mb_for(user_id)
            if contact_id not in mb["contacts"]:
                raise KeyError(f"no contact {contact_id!r}")
            c = mb["contacts"][contact_id]
            c.update(fields)
            contact_model.touch(self, mb, c)
            return contact_model.render(c, expand=True)

    def set_photo(self, user_id, contact_id, data, content_type="image/jpeg"):
        """The contact's photo as a user sets it in Outlook: stored as given, unchecked (a
        photo too large or corrupt for Graph's PUT can be served this way), and the contact
        changes (change key, delta)."""
        with self._lock:
            _, mb = self._mb_for(user_id)
            contact_model.set_photo(self, mb, mb["contacts"][contact_id], data, content_type)

    def photo(self, user_id, contact_id):
        """(bytes, content type) of the contact's photo, or None when it has none."""
        with self._lock:
            _, mb = self._mb_for(user_id)
            return mb["contacts"][contact_id].get("_photo")

    def delete_photo(self, user_id, contact_id):
        with self._lock:
            _, mb = self._mb_for(user_id)
            try:
                contact_model.delete_photo(self, mb, mb["contacts"][contact_id])
            except GraphError as exc:
                raise KeyError(exc.message) from exc

    def delete_contact(self, user_id, contact_id):
        with self._lock:
            _, mb = self._mb_for(user_id)
            if contact_id not in mb["contacts"]:
                raise KeyError(f"no contact {contact_id!r}")
            contact_model.delete_contact(self, mb, contact_id)

    def reset_sync_state(self, user_id, folder_id=None):
        with self._lock:
            _, mb = self._mb_for(user_id)
            fid = self._folder(mb, folder_id)
            for tok in mb["tokens"][fid]:
                self._delta_tokens.pop(tok, None)
            mb["tokens"][fid] = []
            mb["epoch"][fid] += 1

    # ------------------------------------------------------------------ faults
    def inject_fault(
        self,
        path_regex=".*",
        method=None,
        status=503,
        count=1,
        headers=None,
        body=None,
        kind="status",
        size=1_000_000,
        delay=5.0,
        after=False,
    ):
        """`after=True`: the request is carried out, then its answer is replaced by the fault
        (a write that landed although the client saw a 504 or a dropped connection)."""
        if kind not in ("status", "drop", "malformed", "oversized", "hang"):
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.append(
                {
                    "regex": re.compile(path_regex),
                    "method": method.upper() if method else None,
                    "status": int(status),
                    "count": int(count),
                    "headers": dict(headers or {}),
                    "body": body,
                    "kind": kind,
                    "size": int(size),
                    "delay": float(delay),
                    "after": bool(after),
                }
            )

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def _take_fault(self, method, target, inner=False):
        """Return a fault response (or a ('hang', delay) marker) for this request, or None."""
        with self._lock:
            for fault in self._faults:
                if fault["method"] and fault["method"] != method:
                    continue
                if inner and fault["kind"] != "status":
                    continue
                if not fault["regex"].search(target):
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self._faults.remove(fault)
                self._stats["faults_injected"] += 1
                if fault.get("after") and fault["kind"] != "hang":
                    return ("after", self._fault_response(fault))
                return self._fault_response(fault)
            if target.startswith("/v1.0/") and not target.startswith("/v1.0/$batch"):
                cfg = self.config
                if not inner and cfg["drop_rate"] and self.rng.random() < cfg["drop_rate"]:
                    self._stats["faults_injected"] += 1
                    return Response(0, drop=True)
                if cfg["fault_5xx_rate"] and self.rng.random() < cfg["fault_5xx_rate"]:
                    self._stats["faults_injected"] += 1
                    return self._fault_response(
                        {"kind": "status", "status": 503, "headers": {}, "body": None}
                    )
        return None

    def _fault_response(self, fault):
        kind = fault["kind"]
        if kind == "drop":
            return Response(0, drop=True)
        if kind == "hang":
            return ("hang", fault["delay"])
        if kind == "malformed":
            return Response(200, '{"value": [{"id": "AAMk', content_type="application/json")
        if kind == "oversized":
            size = max(fault["size"], 32)
            pad = "x" * (size - len('{"value":[],"padding":""}'))
            return Response(
                200, '{"value":[],"padding":"' + pad + '"}', content_type="application/json"
            )
        status = fault["status"]
        headers = dict(fault["headers"])
        if status == 429 and not any(k.lower() == "retry-after" for k in headers):
            headers["Retry-After"] = self.retry_after(1.0)
        body = fault["body"]
        if body is None:
            body = self.error_body(
                status, STATUS_CODES.get(status, "UnknownError"), "Injected fault."
            )
        return Response(status, body, headers)

    # ------------------------------------------------------------------ throttling
    def _enter(self, mailbox, slots=1):
        with self._lock:
            self._inflight[mailbox] += slots
            current = self._inflight[mailbox]
            maxes = self._stats["max_concurrent_per_mailbox"]
            maxes[mailbox] = max(maxes.get(mailbox, 0), current)
            return current

    def _leave(self, mailbox, slots=1):
        with self._lock:
            self._inflight[mailbox] = max(0, self._inflight[mailbox] - slots)

    def _rate_check(self, mailbox, call=None):
        """Count one request against the sliding window; return a 429 Response when over.

        `call` identifies the HTTP request (a $batch's items share it): once a mailbox is
        throttled, every request is refused until its Retry-After, and each further call that
        arrives meanwhile extends the wait by `throttle_extension`.
        """
        with self._lock:
            if not self.config["throttle_enabled"]:
                return None
            now = self.now()
            log = self._throttle_log[mailbox]
            throttled = self._throttled.get(mailbox)
            if throttled is not None and now < throttled["until"]:
                reason = "RateLimit"
                if call is None or call is not throttled["trigger"]:
                    reason = "WhileThrottled"
                    # Requests are not hashable: calls are told apart by identity.
                    if call is None or not any(c is call for c in throttled["extended"]):
                        throttled["until"] += float(self.config["throttle_extension"])
                        throttled["extended"].append(call)
                        self._stats["throttle_extensions"] += 1
                self._stats["throttled"][reason] += 1
                log.append((now, reason))
                return self.throttled_response(
                    throttled["until"] - now,
                    "Application is over its MailboxRequestRate limit and still sending "
                    "while throttled.",
                )
            window = self._windows[mailbox]
            span = float(self.config["rate_window"])
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= int(self.config["rate_limit"]):
                wait = window[0] + span - now
                self._throttled[mailbox] = {"until": now + wait, "trigger": call, "extended": []}
                self._stats["throttled"]["RateLimit"] += 1
                log.append((now, "RateLimit"))
                return self.throttled_response(
                    wait,
                    "Application is over its MailboxRequestRate limit (requests per window).",
                )
            window.append(now)
            log.append((now, "accepted"))
            return None

    def _concurrency_429(self, mailbox=None):
        self._stats["throttled"]["MailboxConcurrency"] += 1
        if mailbox is not None:
            self._throttle_log[mailbox].append((self.now(), "MailboxConcurrency"))
        return self.throttled_response(
            float(self.config["concurrency_retry_after"]),
            "Application is over its MailboxConcurrency limit.",
        )

    def spend_window(self, user_id, fraction, spread=True):
        """Another client of the app spent `fraction` of the mailbox's rate window.

        `spread`: its requests came evenly over the last window (a steady sender that stopped),
        so they leave one by one; otherwise all just now, so they leave together one window on.
        """
        with self._lock:
            mailbox, _ = self._mb_for(user_id)
            now = self.now()
            span = float(self.config["rate_window"])
            count = round(float(fraction) * int(self.config["rate_limit"]))
            stamps = [now - span + (n + 1) * span / count if spread else now for n in range(count)]
            window = self._windows[mailbox]
            merged = sorted([*(s for s in window if s > now - span), *stamps])
            self._windows[mailbox] = collections.deque(merged)
            log = self._throttle_log[mailbox]
            for stamp in stamps:
                log.append((stamp, "others"))
            return {"mailbox": mailbox, "spent": count, "in_window": len(merged)}

    def throttling_report(self, user_id, since=None):
        """How well the mailbox's requests since `since` (simulated epoch) used the rate limit.

        `allowed`: the most requests the limit let through from the first request to the last
        accepted one, sent as early as it allowed (with what others had spent before); `best_s`:
        the least time the limit needed for as many as were accepted.
        """
        with self._lock:
            mailbox, _ = self._mb_for(user_id)
            since = float("-inf") if since is None else float(since)
            events = [e for e in self._throttle_log[mailbox] if e[0] >= since]
            mine = [e for e in events if e[1] != "others"]
            accepted = [t for t, outcome in mine if outcome == "accepted"]
            refused = collections.Counter(outcome for _t, outcome in mine if outcome != "accepted")
            report = {
                "limit": int(self.config["rate_limit"]),
                "window": float(self.config["rate_window"]),
                "accepted": len(accepted),
                "refused": sum(refused.values()),
                "refused_by_reason": dict(refused),
                "extensions": self._stats["throttle_extensions"],
            }
            if not accepted:
                return report
            first = min(t for t, _outcome in mine)
            last = max(accepted)
            earlier = [
                t
                for t, outcome in self._throttle_log[mailbox]
                if t < first and outcome in ("accepted", "others")
            ]
            allowed, best = _greedy(
                earlier, first, last, len(accepted), report["limit"], report["window"]
            )
            report.update(first=first, last=last, span_s=last - first, allowed=allowed, best_s=best)
            return report

    def throttled_response(self, wait_sim, message):
        return Response(
            429,
            self.error_body(429, "ApplicationThrottled", message),
            {"Retry-After": self.retry_after(wait_sim)},
        )

    # ------------------------------------------------------------------ stats
    def _count(self, method, path, status, mailbox, kind, logical=True):
        with self._lock:
            if getattr(self._request, "generation", self._generation) != self._generation:
                return  # a request that began before a reset (a hang the client gave up on)
            st = self._stats
            if logical:
                st["total_requests"] += 1
            st["by_kind"][kind] += 1
            if mailbox:
                st["per_mailbox"][mailbox] += 1
            st["status_counts"][str(status)] += 1
            self._log.append((method, path, status, mailbox))

    def stats(self):
        with self._lock:
            st = self._stats
            return {
                "total_requests": st["total_requests"],
                "http_round_trips": st["http_round_trips"],
                "by_kind": dict(st["by_kind"]),
                "per_mailbox": dict(st["per_mailbox"]),
                "max_concurrent_per_mailbox": dict(st["max_concurrent_per_mailbox"]),
                "throttled": dict(st["throttled"]),
                "throttled_total": sum(st["throttled"].values()),
                "batch_calls": st["batch_calls"],
                "batch_items": st["batch_items"],
                "status_counts": dict(st["status_counts"]),
                "faults_injected": st["faults_injected"],
                "throttle_extensions": st["throttle_extensions"],
            }

    @property
    def requests_log(self):
        with self._lock:
            return list(self._log)

    # ------------------------------------------------------------------ errors
    def error_body(self, status, code, message):
        return {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"request-id": str(uuid.uuid4()), "date": self.iso()},
            }
        }

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, req):
        """Entry point for one HTTP request; returns a Response."""
        if req.path.startswith("/_relay/"):
            return subscriptions.relay(self, req)
        if req.path.startswith("/_sim/") or req.path == "/_sim":
            try:
                return admin.handle(self, req)
            except GraphError as exc:
                return Response(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        with self._lock:
            self._request.generation = self._generation
            self._stats["http_round_trips"] += 1
        fault = self._take_fault(req.method, req.target)
        if isinstance(fault, Response):
            self._count(req.method, req.path, fault.status or "drop", None, "fault")
            return fault
        if isinstance(fault, tuple) and fault[0] == "hang":
            time.sleep(fault[1])
        if req.path.startswith("/v1.0/") or req.path == "/v1.0":
            answer = graph.handle(self, req)
        else:
            answer = login.handle(self, req)
        if isinstance(fault, tuple) and fault[0] == "after":
            return fault[1]
        return answer


def _greedy(earlier, start, end, count, limit, span):
    """(requests the limit allowed in [start, end], seconds it needed for `count` of them).

    The sender sends whenever the limit allows, `earlier` requests still in the window.
    """
    window = collections.deque(sorted(t for t in earlier if t + span > start))
    allowed, sent, best, now = 0, 0, None, start
    while now <= end or best is None:
        while window and window[0] + span <= now:
            window.popleft()
        if len(window) < limit:
            window.append(now)
            sent += 1
            allowed += now <= end
            if sent == count:
                best = now - start
        else:
            now = window[0] + span
    return allowed, best
