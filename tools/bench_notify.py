"""Near-real-time benchmark (R12), one phase per call, driven by bench_notify.sh.

    BENCH_PHASE=setup    inside `odoo-bin shell`: a user with Contacts rights signed in to a
                         mailbox of the Graph simulator, BENCH_CONTACTS Outlook contacts synced
                         once (confirmed), change notifications on, with the simulator's relay
                         as the public HTTPS address of the running Odoo, and subscribed
    BENCH_PHASE=measure  plain Python: BENCH_TRIALS times, one contact edited in the simulator
                         and the time until Odoo shows it (read over XML-RPC, every 0.1 s); then
                         a burst of edits, to count the runs it makes. Prints BENCH lines.

The server under test is a real Odoo (odoo-bin, HTTP and cron threads) started by the script:
the simulator posts its notifications to Odoo's route, the route queues the debounced run, a
cron worker syncs. Environment: MICROSOFT_CONTACTS_SIMULATOR_URL, BENCH_ODOO_URL, BENCH_DB.
"""

import json
import os
import statistics
import time
import xmlrpc.client

import requests

CLIENT_ID = "bench-notify-app"
CLIENT_SECRET = "bench-notify-secret"  # the simulator's test application
REDIRECT_URI = "http://localhost:8069/microsoft_account/authentication"
UPN = "notify@contoso.test"
TIMEOUT = 120


def setup(env, contacts):
    from odoo.addons.microsoft_contacts.tests.common import (
        CONTACTS_USER_GROUPS,
        FOLDER,
        GraphSimulatorAdmin,
        OutlookMailbox,
        point_at_simulator,
        sign_in_account,
    )

    simulator = GraphSimulatorAdmin(os.environ["MICROSOFT_CONTACTS_SIMULATOR_URL"])
    simulator.register_app(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    simulator.configure(consent_mode="auto")
    point_at_simulator(env, simulator, CLIENT_ID, CLIENT_SECRET)
    icp = env["ir.config_parameter"].sudo()
    icp.set_param("microsoft_contacts_tenant_id", "organizations")
    owner = simulator.add_user(UPN, display_name="Nora Notify")
    mailbox = OutlookMailbox(simulator, owner["id"])
    folder = mailbox.create_folder(FOLDER)
    mailbox.seed(
        [
            {
                "givenName": f"Contact{n:04d}",
                "surname": "Bench",
                "emailAddresses": [{"address": f"contact{n:04d}@example.com"}],
                "jobTitle": "Buyer",
            }
            for n in range(contacts)
        ],
        folder_id=folder["id"],
    )
    groups = [env.ref(xmlid).id for xmlid in CONTACTS_USER_GROUPS.split(",")]
    user = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create({"login": "bench_notify", "name": "Nora Notify", "groups_id": [(6, 0, groups)]})
    )
    account = env["microsoft.contacts.account"].sudo().create({"user_id": user.id})
    sign_in_account(account, simulator, REDIRECT_URI, login_hint=UPN)
    account.initial_sync_confirmed = True
    run = account._sync_outlook()
    env.cr.commit()
    # Graph reaches Odoo over HTTPS: the simulator's relay stands for the reverse proxy.
    relay = simulator._call("POST", "relays", json={"target": os.environ["BENCH_ODOO_URL"]})
    icp.set_param("microsoft_contacts.notification_url", relay["url"])
    icp.set_param("microsoft_contacts.notifications", "True")
    env.cr.commit()
    env["microsoft.contacts.account"]._cron_manage_subscriptions()
    env.cr.commit()
    subscriptions = simulator._call("GET", "subscriptions")
    return {
        "contacts": contacts,
        "first_sync": run.state,
        "synced": account.synced_partner_count,
        "subscriptions": len(subscriptions),
        "user_id": owner["id"],
        "debounce": account._notification_debounce().total_seconds(),
    }


class Odoo:
    def __init__(self, url, db):
        self.db = db
        self.uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(
            db, "admin", "admin", {}
        )
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, "admin", model, method, args, kwargs)

    def function(self, email):
        rows = self.call("res.partner", "search_read", [("email", "=", email)], fields=["function"])
        return rows[0]["function"] if rows else None

    def runs(self):
        return self.call("microsoft.contacts.sync.run", "search_count", [])


def _wait_for(odoo, email, value):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if odoo.function(email) == value:
            return True
        time.sleep(0.1)
    return False


def measure(trials):
    sim = os.environ["MICROSOFT_CONTACTS_SIMULATOR_URL"].rstrip("/") + "/_sim"
    setup_result = json.loads(os.environ["BENCH_SETUP"])
    user_id = setup_result["user_id"]
    odoo = Odoo(os.environ["BENCH_ODOO_URL"], os.environ["BENCH_DB"])
    session = requests.Session()
    folder = next(
        f["id"]
        for f in session.get(f"{sim}/users/{user_id}/folders", timeout=30).json()
        if f["displayName"] == "Odoo Contacts"
    )
    contacts = session.get(
        f"{sim}/users/{user_id}/contacts", params={"folder_id": folder}, timeout=30
    ).json()
    # The contacts typed in Outlook (the first sync also copied Odoo's own there, such as the
    # administrator's, which this user may not change: R9 writes Odoo's values back).
    contacts = sorted(
        (c for c in contacts if c["emailAddresses"][0]["address"].startswith("contact")),
        key=lambda c: c["emailAddresses"][0]["address"],
    )
    latencies, deliveries = [], []
    for trial in range(trials):
        contact = contacts[trial % len(contacts)]
        email = contact["emailAddresses"][0]["address"]
        value = f"Notified {trial} {time.time():.0f}"
        before = len(session.get(f"{sim}/notifications", timeout=30).json())
        started = time.monotonic()
        session.patch(
            f"{sim}/users/{user_id}/contacts/{contact['id']}", json={"jobTitle": value}, timeout=30
        ).raise_for_status()
        log = session.post(
            f"{sim}/notifications/wait", json={"count": before + 1, "timeout": 30}, timeout=60
        ).json()
        deliveries.append(time.monotonic() - started)
        if not _wait_for(odoo, email, value):
            now = session.get(f"{sim}/users/{user_id}/contacts", params={"folder_id": folder})
            outlook = next(c for c in now.json() if c["id"] == contact["id"])
            last = odoo.call(
                "microsoft.contacts.sync.run",
                "search_read",
                [],
                fields=["state", "message", "count_failed", "count_conflict"],
                limit=3,
                order="id desc",
            )
            print(
                f"BENCH notify trial {trial}: not in Odoo after {TIMEOUT} s: Odoo has "
                f"{odoo.function(email)!r}, Outlook {outlook.get('jobTitle')!r}; delivery "
                f"{log[-1:]}; last runs {last}"
            )
            continue
        latencies.append(time.monotonic() - started)
        time.sleep(1.0)  # the next change is a new burst
    # A burst: several changes within a second make one run.
    runs = odoo.runs()
    burst = contacts[trials : trials + 5] or contacts[:5]
    started = time.monotonic()
    for contact in burst:
        session.patch(
            f"{sim}/users/{user_id}/contacts/{contact['id']}",
            json={"jobTitle": "Burst"},
            timeout=30,
        ).raise_for_status()
    done = all(
        _wait_for(odoo, contact["emailAddresses"][0]["address"], "Burst") for contact in burst
    )
    burst_seconds = time.monotonic() - started
    time.sleep(setup_result["debounce"] + 3)  # a second run, if any, would have started
    return {
        "latencies": latencies,
        "deliveries": deliveries,
        "burst": len(burst),
        "burst_done": done,
        "burst_seconds": burst_seconds,
        "burst_runs": odoo.runs() - runs,
    }


def report(setup_result, result, trials):
    latencies = result["latencies"]
    debounce = setup_result["debounce"]
    print(
        f"BENCH notify setup: {setup_result['contacts']} Outlook contacts synced "
        f"({setup_result['first_sync']}), {setup_result['subscriptions']} subscription, "
        f"debounce {debounce:g} s"
    )
    if latencies:
        print(
            f"BENCH notify: change in Outlook -> change in Odoo over {len(latencies)} of "
            f"{trials} changes: min {min(latencies):.1f} s, median "
            f"{statistics.median(latencies):.1f} s, max {max(latencies):.1f} s (target: under "
            f"60 s with the default debounce of 10 s); the notification reached Odoo's route "
            f"after {statistics.median(result['deliveries']):.2f} s (median)"
        )
    print(
        f"BENCH notify burst: {result['burst']} changes within "
        f"{'a second' if result['burst'] <= 5 else 'seconds'} -> {result['burst_runs']} "
        f"run(s), all in Odoo after {result['burst_seconds']:.1f} s"
        + ("" if result["burst_done"] else " (NOT all arrived)")
    )


def main():
    phase = os.environ["BENCH_PHASE"]
    if phase == "setup":
        result = setup(env, int(os.environ.get("BENCH_CONTACTS", "50")))  # noqa: F821
        print("BENCH_RESULT " + json.dumps(result), flush=True)
    elif phase == "measure":
        trials = int(os.environ.get("BENCH_TRIALS", "5"))
        result = measure(trials)
        report(json.loads(os.environ["BENCH_SETUP"]), result, trials)
        if len(result["latencies"]) < trials or not result["burst_done"]:
            raise SystemExit(1)
    else:
        raise SystemExit(f"unknown BENCH_PHASE {phase!r}")


main()
