"""Benchmark, not a test of behaviour: `make bench-sync` runs it and prints its figures.

One account's Outlook contacts sync against the Graph simulator, for 1,000 partners (and
10,000 when the 1,000 run suggests one 10,000 run stays under ~2 minutes): the initial push,
an incremental run with 1 % changed on each side, a no-op run; then the initial push of 1,000
with Graph enforcing 100 %, 50 % and 10 % of Outlook's documented limit, and with the window
already 90 % spent by another client when the run starts. Tagged out of the standard suite;
the figures are the lines starting "BENCH ".

Photos (test_bench_5*): what photos add per contact, for 1,000 partners pushed, the next run
(the echo), a no-op run and a run where 1 % of the photos changed on each side: with the
account's photos off, on with no partner holding an image, and on with every partner holding
one (a distinct 96 x 96 JPEG).
"""

import base64
import io
import logging
import os
import resource
import time
from unittest.mock import patch

from PIL import Image

from odoo import sql_db
from odoo.tests import tagged

from odoo.addons.microsoft_contacts.graph import Pacer

from .common import OutlookSyncCase

_logger = logging.getLogger(__name__)
CLIENT_ID = "bench-sync-app"
CLIENT_SECRET = "bench-sync-secret"
FOLDER = "Odoo Contacts"
SMALL = 1000
LARGE = 10000
# A 10,000 run is tried only when the 1,000 initial push, scaled by 10, stays under this.
LARGE_BUDGET_SECONDS = 120.0
MAX_CONCURRENT = 4
OUTLOOK_RATE_LIMIT = 10000  # the simulator's default, per 600 s
OUTLOOK_WINDOW = 600.0
# The pacing scenarios scale Outlook's 10,000 requests / 600 s down a hundredfold, so that a
# 1,000-contact push spans about ten windows in about a minute: Graph enforces 100 requests per
# 6 s (Retry-After, the throttling extension and the concurrency wait in scaled whole seconds:
# 1/100 s). The pacer is told Outlook's documented limit scaled by the scenario's own time
# factor: 100 / 6 s when Graph enforces 100 % of it, 200 / 6 s at 50 %, 1,000 / 6 s at 10 %.
# What the pacer has to learn is that ratio; each run stays one minute long.
SCALED_LIMIT = 100
SCALED_WINDOW = 6.0


@tagged("-standard", "-at_install", "post_install", "microsoft_contacts_bench_sync")
class BenchOutlookSync(OutlookSyncCase):
    large_estimate = None  # seconds a 10,000 initial push is expected to take
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    account_login = "bench_sync_owner"
    mailbox_upn = "bench@contoso.test"
    mailbox_name = "Bench Mailbox"

    # -- helpers ------------------------------------------------------------------------

    def _seed_partners(self, count, tag):
        return self.env["res.partner"].create(
            [
                {
                    "name": f"Bench {tag} {n:05d}",
                    "email": f"bench.{tag}.{n:05d}@example.com",
                    "phone": f"+32 2 555 {n:05d}",
                    "mobile": f"+32 470 {n:06d}",
                    "function": "Buyer",
                    "city": "Brussels",
                }
                for n in range(count)
            ]
        )

    def _folder_contacts(self):
        folder = self.mailbox.folder(self.account.folder_name or FOLDER)
        return self.mailbox.contacts(folder["id"]) if folder else []

    def _run(self):
        """One sync: the run, its Graph/HTTP/SQL deltas, seconds and peak RSS."""
        self.env.flush_all()
        stats_before = self.simulator.stats()
        queries_before = sql_db.sql_counter
        started = time.perf_counter()
        run = self.account._sync_outlook()
        self.env.flush_all()
        seconds = time.perf_counter() - started
        queries = sql_db.sql_counter - queries_before
        stats_after = self.simulator.stats()
        self.assertTrue(run, "the account was not locked by anyone else")
        self.assertEqual(run.state, "done", run.message)
        by_kind = {
            kind: count - stats_before["by_kind"].get(kind, 0)
            for kind, count in stats_after["by_kind"].items()
            if count - stats_before["by_kind"].get(kind, 0)
        }
        return {
            "run": run,
            "requests": stats_after["total_requests"] - stats_before["total_requests"],
            "round_trips": stats_after["http_round_trips"] - stats_before["http_round_trips"],
            "throttled": stats_after["throttled_total"] - stats_before["throttled_total"],
            "throttled_by_reason": {
                reason: count - stats_before["throttled"].get(reason, 0)
                for reason, count in stats_after["throttled"].items()
                if count - stats_before["throttled"].get(reason, 0)
            },
            "queries": queries,
            "seconds": seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "by_kind": by_kind,
        }

    def _report(self, label, size, result, per, per_label, targets=""):
        run = result["run"]
        _logger.info(
            "BENCH sync N=%d %s: %d %s; %d Graph requests (%.4f per %s), %d HTTP round trips "
            "(%.4f per %s), %d SQL queries (%.4f per %s), %.1f s, peak RSS %.0f MB; run: "
            "new %d, updated %d, unchanged %d, archived %d, failed %d%s; by kind %s",
            size,
            label,
            per,
            per_label,
            result["requests"],
            result["requests"] / max(per, 1),
            per_label.rstrip("s"),
            result["round_trips"],
            result["round_trips"] / max(per, 1),
            per_label.rstrip("s"),
            result["queries"],
            result["queries"] / max(per, 1),
            per_label.rstrip("s"),
            result["seconds"],
            result["peak_mb"],
            run.count_new,
            run.count_updated,
            run.count_unchanged,
            run.count_archived,
            run.count_failed,
            targets,
            sorted(result["by_kind"].items()),
        )

    def _scenarios(self, size):
        """Initial push, settle run, incremental 1 % each side, no-op. Returns push seconds."""
        tag = f"n{size}"
        self._seed_partners(size, tag)
        if size + 50 > OUTLOOK_RATE_LIMIT:
            # Outlook's 10,000 requests / 600 s would throttle the push itself (scenario 4
            # measures throttling): lifted here so that these figures count requests only.
            self.simulator.configure(rate_limit=10 * OUTLOOK_RATE_LIMIT)
            # The client paces itself to Outlook's limits too: lift its pacer the same way
            # (with the real limits a first push of 10,000 spans more than one run).
            lifted = Pacer(max_requests=10 * OUTLOOK_RATE_LIMIT)
            original = type(self.account)._get_graph_client
            self.patch(
                type(self.account),
                "_get_graph_client",
                lambda account, **options: original(account, **{**options, "pacer": lifted}),
            )
            _logger.info(
                "BENCH sync N=%d: the simulator's and the client's per-mailbox rate limits are "
                "lifted from %d to %d requests / 600 s for scenarios 1-3 (one push needs about "
                "N requests)",
                size,
                OUTLOOK_RATE_LIMIT,
                10 * OUTLOOK_RATE_LIMIT,
            )

        # 1. initial push: N partners in Odoo, no folder / empty folder in Outlook.
        push = self._run()
        contacts = self._folder_contacts()
        self._report(
            "1 initial push",
            size,
            push,
            len(contacts),
            "contacts",
            "; targets <= 1.05 requests and <= 0.06 round trips per contact",
        )

        # The delta of the next run returns our own creations once: measured apart so that
        # the incremental figures below are those of a steady state.
        settle = self._run()
        self._report("1b next run (echo of the push)", size, settle, len(contacts), "contacts")

        # 2. incremental: 1 % edited in Odoo, another 1 % edited in Outlook.
        links = self.env["microsoft.contacts.link"].search(
            [("account_id", "=", self.account.id)], order="id"
        )
        step = size // 100
        odoo_side = links[:step].partner_id
        odoo_side.write({"function": "Head Buyer"})
        edited_in_odoo = set(links[:step].mapped("outlook_id"))
        edited_in_outlook = [c for c in contacts if c["id"] not in edited_in_odoo][:step]
        for contact in edited_in_outlook:
            self.mailbox.edit(contact["id"], jobTitle="Outlook Buyer")
        incremental = self._run()
        self._report(
            f"2 incremental ({step} edited in Odoo, {len(edited_in_outlook)} in Outlook)",
            size,
            incremental,
            len(contacts),
            "contacts",
        )

        # 3. no-op: nothing changed on either side.
        linked = self.env["microsoft.contacts.link"].search_count(
            [("account_id", "=", self.account.id)]
        )
        noop = self._run()
        self._report(
            "3 no-op",
            size,
            noop,
            linked,
            "linked partners",
            "; targets <= 2 requests and <= 0.05 SQL queries per linked partner",
        )
        return push["seconds"]

    # -- benchmarks -----------------------------------------------------------------------

    def test_bench_1_sync_1000(self):
        seconds = self._scenarios(SMALL)
        BenchOutlookSync.large_estimate = seconds * LARGE / SMALL

    def test_bench_2_sync_10000(self):
        estimate = BenchOutlookSync.large_estimate
        if estimate is None or estimate > LARGE_BUDGET_SECONDS:
            _logger.info(
                "BENCH sync N=%d skipped: the %d initial push took %s, so one %d run would "
                "take about %s (budget %.0f s)",
                LARGE,
                SMALL,
                "an unknown time" if estimate is None else f"{estimate * SMALL / LARGE:.1f} s",
                LARGE,
                "an unknown time" if estimate is None else f"{estimate:.0f} s",
                LARGE_BUDGET_SECONDS,
            )
            return
        self._scenarios(LARGE)

    def _paced_push(self, label, share, spent=0.0):
        """Initial push of SMALL partners with Graph enforcing `share` of Outlook's limit."""
        self._seed_partners(SMALL, f"p{round(share * 100)}s{round(spent * 100)}")
        scaled_second = SCALED_WINDOW / OUTLOOK_WINDOW
        self.simulator.configure(
            throttle_enabled=True,
            max_concurrent=MAX_CONCURRENT,
            rate_limit=SCALED_LIMIT,
            rate_window=SCALED_WINDOW,
            retry_after_resolution=scaled_second,
            throttle_extension=scaled_second,
            concurrency_retry_after=scaled_second,
        )
        documented = round(SCALED_LIMIT / share)
        pacer = Pacer(max_in_flight=MAX_CONCURRENT, max_requests=documented, window=SCALED_WINDOW)
        Account = type(self.account)
        original = Account._get_graph_client

        def get_graph_client(account, **options):
            # The account paces itself to Outlook's documented limits: here, to the same
            # limits on this scenario's time scale.
            return original(account, **{**options, "pacer": pacer})

        if spent:
            self.mailbox.spend_window(spent)  # another client of the app, evenly over 6 s
        since = self.simulator.clock()
        with patch.object(Account, "_get_graph_client", get_graph_client):
            result = self._run()
        report = self.mailbox.throttling(since)
        contacts = self._folder_contacts()
        accepted, refused = report["accepted"], report["refused"]
        rate = SCALED_LIMIT / SCALED_WINDOW
        achieved = accepted / report["span_s"]
        run = result["run"]
        _logger.info(
            "BENCH sync N=%d %s: Graph enforces %d %% of Outlook's limit (scaled: %d requests / "
            "%.0f s, %d concurrent; the pacer is told %d / %.0f s)%s: %d contacts in %.1f s; "
            "%d requests succeeded = %.1f %% of the %d the limit allowed over the run (first "
            "request to last; %.1f %% of its rate: %.2f/s of %.2f/s); 429 answers %d of %d "
            "requests (%.2f %%, by reason %s, %d sent while throttled); failed records %d; "
            "the pacer ended at %d / %.0f s and %d concurrent; targets >= 90 %%, <= 1 %%, 0",
            SMALL,
            label,
            round(share * 100),
            SCALED_LIMIT,
            SCALED_WINDOW,
            MAX_CONCURRENT,
            documented,
            SCALED_WINDOW,
            f", window {spent:.0%} spent by another client at the start" if spent else "",
            len(contacts),
            result["seconds"],
            accepted,
            100 * accepted / report["allowed"],
            report["allowed"],
            100 * achieved / rate,
            achieved,
            rate,
            refused,
            accepted + refused,
            100 * refused / (accepted + refused),
            sorted(report["refused_by_reason"].items()),
            report["refused_by_reason"].get("WhileThrottled", 0),
            run.count_failed,
            pacer.budget,
            SCALED_WINDOW,
            pacer.concurrency,
        )
        self.assertEqual(run.count_failed, 0, run.line_ids.mapped("reason"))
        self.assertGreaterEqual(len(contacts), SMALL)

    def test_bench_3a_paced_at_the_documented_limit(self):
        self._paced_push("4a paced push", 1.0)

    def test_bench_3b_paced_at_half_the_documented_limit(self):
        self._paced_push("4b paced push", 0.5)

    def test_bench_3c_paced_at_a_tenth_of_the_documented_limit(self):
        self._paced_push("4c paced push", 0.1)

    def test_bench_4_window_already_spent(self):
        self._paced_push("4d paced push", 1.0, spent=0.9)

    # -- photos ---------------------------------------------------------------------------

    def _photo_bench(self, label, photos_on, images):
        """Push, echo, no-op and 1 % photo churn on each side, per contact."""
        self.account.sync_photos = photos_on
        partners = self._seed_partners(SMALL, f"ph{label[:2]}")
        if images:
            self.env["ir.attachment"].flush_model()
            for partner in partners:
                partner.image_1920 = base64.b64encode(_jpeg())
        figures = []
        push = self._run()
        figures.append(("push", push))
        figures.append(("echo", self._run()))
        figures.append(("no-op", self._run()))
        step = SMALL // 100
        links = self.env["microsoft.contacts.link"].search(
            [("account_id", "=", self.account.id)], order="id"
        )
        changed = links[:step]
        for link in changed:
            link.partner_id.image_1920 = base64.b64encode(_jpeg())
        for link in links[step : 2 * step]:
            self.mailbox.edit(link.outlook_id, jobTitle="Outlook Buyer")
        figures.append((f"{step} photos changed in Odoo, {step} contacts in Outlook", self._run()))
        for name, result in figures:
            photo = sum(n for kind, n in result["by_kind"].items() if "photo" in kind)
            _logger.info(
                "BENCH sync photos N=%d %s, %s: %.3f Graph requests per contact (%d photo "
                "requests: %s), %.4f HTTP round trips per contact, %.2f ms per contact "
                "(%.1f s), %.2f SQL queries per contact, peak RSS %.0f MB",
                SMALL,
                label,
                name,
                result["requests"] / SMALL,
                photo,
                sorted((k, n) for k, n in result["by_kind"].items() if "photo" in k),
                result["round_trips"] / SMALL,
                1000 * result["seconds"] / SMALL,
                result["seconds"],
                result["queries"] / SMALL,
                result["peak_mb"],
            )
        self.assertEqual(push["run"].count_failed, 0, push["run"].line_ids.mapped("reason"))
        return figures

    def test_bench_5a_photos_off(self):
        self._photo_bench("photos off", photos_on=False, images=True)

    def test_bench_5b_photos_on_no_images(self):
        self._photo_bench("photos on, no partner has an image", photos_on=True, images=False)

    def test_bench_5c_photos_on_every_partner_with_an_image(self):
        figures = self._photo_bench("photos on, every partner has an image", True, True)
        folder = self.mailbox.folder(self.account.folder_name)
        with_photo = sum(
            1 for c in self.mailbox.contacts(folder["id"]) if self.mailbox.photo(c["id"])
        )
        self.assertGreaterEqual(with_photo, SMALL)  # and the few of the database's own
        no_op = dict(figures)["no-op"]
        self.assertFalse([k for k in no_op["by_kind"] if "photo" in k], "unchanged: no request")


def _jpeg(size=96):
    """A distinct photo, as a phone's contact picture: a JPEG of noise (compresses badly)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(out, format="JPEG")
    return out.getvalue()
