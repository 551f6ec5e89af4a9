"""Company-scale benchmark, one phase per call, run inside `odoo-bin shell` by bench_scale.sh.

    BENCH_PHASE=setup    N users with Contacts rights, each signed in to a mailbox of the
                         Graph simulator, M partners each (the user is their salesperson: the
                         scope "My contacts"), every account confirmed
    BENCH_PHASE=churn    BENCH_CHURN (1 %) of each account's partners edited in Odoo and as
                         many of its Outlook contacts in Outlook; every account due again
    BENCH_PHASE=worker   one cron worker: the sync cron's method called until no account is
                         left for it, as Odoo's cron thread would; prints its figures as JSON

It reads the simulator's URL from MICROSOFT_CONTACTS_SIMULATOR_URL and its sizes from
BENCH_ACCOUNTS and BENCH_CONTACTS; `env` is the shell's environment.
"""

import cProfile
import json
import os
import pstats
import resource
import time
from collections import defaultdict

from odoo import sql_db

from odoo.addons.microsoft_contacts.tests.common import (
    CONTACTS_USER_GROUPS,
    GraphSimulatorAdmin,
    OutlookMailbox,
    point_at_simulator,
    sign_in_account,
)

CLIENT_ID = "bench-scale-app"
CLIENT_SECRET = "bench-scale-secret"  # the simulator's test application
REDIRECT_URI = "http://localhost:8069/microsoft_account/authentication"
LOGIN_PREFIX = "bench_scale_"


def _accounts(env):
    return (
        env["microsoft.contacts.account"]
        .sudo()
        .search([("user_id.login", "=like", f"{LOGIN_PREFIX}%")], order="id")
    )


def setup(env, accounts, contacts):
    simulator = GraphSimulatorAdmin(os.environ["MICROSOFT_CONTACTS_SIMULATOR_URL"])
    simulator.register_app(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    simulator.configure(consent_mode="auto")
    point_at_simulator(env, simulator, CLIENT_ID, CLIENT_SECRET)
    icp = env["ir.config_parameter"].sudo()
    icp.set_param("microsoft_contacts_tenant_id", "organizations")
    icp.set_param("microsoft_contacts.default_scope", "my")
    groups = [env.ref(xmlid).id for xmlid in CONTACTS_USER_GROUPS.split(",")]
    Users = env["res.users"].with_context(no_reset_password=True, tracking_disable=True)
    Partner = env["res.partner"].with_context(tracking_disable=True)
    started = time.monotonic()
    for number in range(accounts):
        upn = f"user{number:05d}@contoso.test"
        simulator.add_user(upn, display_name=f"Bench User {number:05d}")
        user = Users.create(
            {
                "login": f"{LOGIN_PREFIX}{number:05d}",
                "name": f"Bench User {number:05d}",
                "groups_id": [(6, 0, groups)],
            }
        )
        account = env["microsoft.contacts.account"].sudo().create({"user_id": user.id})
        sign_in_account(account, simulator, REDIRECT_URI, login_hint=upn)
        account.write({"sync_scope": "my", "initial_sync_confirmed": True})
        Partner.create(
            [
                {
                    "name": f"Contact {number:05d}-{n:05d}",
                    "email": f"c{number:05d}.{n:05d}@example.com",
                    "phone": f"+32 2 {number % 1000:03d} {n:05d}",
                    "function": "Buyer",
                    "city": "Brussels",
                    "user_id": user.id,
                }
                for n in range(contacts)
            ]
        )
        env.cr.commit()
    # The contacts were there long before the sync: their last write is not of this cycle.
    env.flush_all()
    env.cr.execute(
        "UPDATE res_partner SET write_date = write_date - interval '30 days' WHERE user_id IN "
        "(SELECT id FROM res_users WHERE login LIKE %s)",
        [f"{LOGIN_PREFIX}%"],
    )
    env.cr.commit()
    return {"accounts": accounts, "contacts": contacts, "seconds": time.monotonic() - started}


def churn(env, share):
    """Edit `share` of each account's contacts on each side (none: only make all due)."""
    simulator = GraphSimulatorAdmin(os.environ["MICROSOFT_CONTACTS_SIMULATOR_URL"])
    stamp = f"{time.time():.0f}"
    edited = defaultdict(int)
    for account in _accounts(env):
        links = account.link_ids.filtered(lambda link: not link.detached)
        count = round(len(links) * share)
        if not count:
            continue
        # Different contacts on each side: the two halves of the account's links.
        odoo_side, outlook_side = links[:count], links[-count:]
        odoo_side.partner_id.with_context(tracking_disable=True).write(
            {"function": f"Odoo {stamp}"}
        )
        mailbox = OutlookMailbox(simulator, account.microsoft_object_id)
        for link in outlook_side:
            mailbox.edit(link.outlook_id, jobTitle=f"Outlook {stamp}")
        edited["odoo"] += len(odoo_side)
        edited["outlook"] += len(outlook_side)
    _accounts(env).write({"last_sync_at": False})
    env.cr.commit()
    return dict(edited)


def worker(env):
    """Call the cron's method until it finds no account left, each call committed."""
    Account = env["microsoft.contacts.account"]
    timings = _time_the_steps(env)
    synced, started = 0, time.monotonic()
    queries = sql_db.sql_counter
    while True:
        done = Account._cron_sync_accounts()
        env.cr.commit()
        if not done:
            break
        synced += done
    return {
        "synced": synced,
        "seconds": time.monotonic() - started,
        "sql": sql_db.sql_counter - queries,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "steps": {name: round(value, 3) for name, value in timings.items()},
    }


def _time_the_steps(env):
    """Seconds spent per step of the runs (the per-account fixed overhead and the rest)."""
    timings = defaultdict(float)
    steps = {
        "microsoft.contacts.account": {"token": "_get_access_token", "run": "_run_locked"},
        "microsoft.contacts.outlook.sync": {
            "folder": "_find_synced_folder",
            "links": "_read_links",
            "delta": "_read_outlook",
            "odoo_side": "_read_odoo",
            "apply": "_apply",
        },
    }
    for model, methods in steps.items():
        cls = env.registry[model]
        for name, method in methods.items():
            original = getattr(cls, method)

            def timed(*args, _original=original, _name=name, **kwargs):
                start = time.monotonic()
                try:
                    return _original(*args, **kwargs)
                finally:
                    timings[_name] += time.monotonic() - start

            setattr(cls, method, timed)
    return timings


def main(env):
    phase = os.environ["BENCH_PHASE"]
    if phase == "setup":
        result = setup(env, int(os.environ["BENCH_ACCOUNTS"]), int(os.environ["BENCH_CONTACTS"]))
    elif phase == "churn":
        result = churn(env, float(os.environ.get("BENCH_CHURN", "0.01")))
    elif phase == "worker" and os.environ.get("BENCH_PROFILE"):
        profile = cProfile.Profile()
        result = profile.runcall(worker, env)
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(30)
    elif phase == "worker":
        result = worker(env)
    else:
        raise SystemExit(f"unknown BENCH_PHASE {phase!r}")
    print("BENCH_RESULT " + json.dumps(result), flush=True)


main(env)  # noqa: F821 - `env` is given by odoo-bin shell
