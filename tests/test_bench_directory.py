"""Benchmark, not a test of behaviour: `make bench-directory` runs it and prints its figures.

5,000 Entra ID users: the first import, then a delta run with 1 % changed. Then an import
limited to a group of 5,000 members (four nested groups) in a tenant of 6,000: the first
import, a delta run (1 % changed, 10 joined, 10 left), and the same changes read whole (the
delta link dropped, as every group import did before it had a delta). Tagged out of the
standard suite.
"""

import logging
import resource
import time

from odoo import sql_db
from odoo.tests import TransactionCase, tagged

from .common import GraphSimulatorAdmin, point_at_simulator

_logger = logging.getLogger(__name__)
USERS = 5000
CLIENT_ID = "bench-app"
CLIENT_SECRET = "bench-secret"


@tagged("-standard", "-at_install", "post_install", "microsoft_contacts_bench")
class BenchDirectoryImport(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, CLIENT_ID, CLIENT_SECRET)

    def _measure(self, label, directory, users=USERS):
        requests_before = self.simulator.stats()["total_requests"]
        queries_before = sql_db.sql_counter
        started = time.perf_counter()
        run = directory._run_import()
        self.env.flush_all()
        seconds = time.perf_counter() - started
        queries = sql_db.sql_counter - queries_before
        requests = self.simulator.stats()["total_requests"] - requests_before
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        _logger.info(
            "BENCH directory %s: %d users, %d Graph requests (%.4f per user), %.1f s, "
            "%d SQL queries (%.3f per user), peak RSS %.0f MB; run: new %d, updated %d, "
            "unchanged %d, archived %d, kept %d, failed %d",
            label,
            users,
            requests,
            requests / users,
            seconds,
            queries,
            queries / users,
            peak_mb,
            run.count_new,
            run.count_updated,
            run.count_unchanged,
            run.count_archived,
            len(run.line_ids.filtered(lambda line: line.action == "kept")),
            run.count_failed,
        )
        return run

    def test_bench_5000_users(self):
        self.simulator.reset()
        self.simulator.register_app(CLIENT_ID, CLIENT_SECRET)
        users = self.simulator.add_users(
            {
                "upn": f"user{n:05d}@contoso.test",
                "display_name": f"User {n:05d}",
                "jobTitle": "Engineer",
                "city": "Brussels",
                "country": "Belgium",
                "businessPhones": [f"+32 2 555 {n:05d}"],
            }
            for n in range(USERS)
        )
        directory = self.env["microsoft.contacts.directory"].create(
            {"name": "Bench", "tenant_id": "contoso.test"}
        )
        first = self._measure("first run", directory)
        self.assertEqual(first.count_new, USERS, first.message)
        for user in users[: USERS // 100]:
            self.simulator.update_user(user["id"], jobTitle="Senior Engineer")
        delta = self._measure("delta run (1% changed)", directory)
        self.assertEqual(delta.count_updated, USERS // 100, delta.message)

    def _churn(self, members, outsiders, groups, round_):
        """1 % of the members changed, 10 outsiders joined a nested group, 10 members left."""
        start = round_ * 100
        for user in members[start : start + USERS // 100]:
            self.simulator.update_user(user["id"], jobTitle=f"Senior Engineer {round_}")
        joiners = outsiders[round_ * 10 : round_ * 10 + 10]
        leavers = members[-(round_ + 1) * 10 :][:10]
        self.simulator.change_group_members(groups[0]["id"], add=[u["id"] for u in joiners])
        for group in groups:
            self.simulator.change_group_members(group["id"], remove=[u["id"] for u in leavers])

    def test_bench_5000_group_members(self):
        self.simulator.reset()
        self.simulator.register_app(CLIENT_ID, CLIENT_SECRET)
        users = self.simulator.add_users(
            {
                "upn": f"user{n:05d}@contoso.test",
                "display_name": f"User {n:05d}",
                "jobTitle": "Engineer",
                "city": "Brussels",
                "country": "Belgium",
                "businessPhones": [f"+32 2 555 {n:05d}"],
            }
            for n in range(USERS + 1000)
        )
        members, outsiders = users[:USERS], users[USERS:]
        quarter = USERS // 4
        nested = [
            self.simulator.add_group(
                f"Team {n}", members=[u["id"] for u in members[n * quarter : (n + 1) * quarter]]
            )
            for n in range(4)
        ]
        staff = self.simulator.add_group("All staff", members=[g["id"] for g in nested])
        directory = self.env["microsoft.contacts.directory"].create(
            {"name": "Bench groups", "tenant_id": "contoso.test", "scope": "groups"}
        )
        directory.group_ids = [(0, 0, {"group_object_id": staff["id"]})]
        first = self._measure("groups: first run", directory)
        self.assertEqual(first.count_new, USERS, first.message)

        self._churn(members, outsiders, nested, 0)
        delta = self._measure("groups: delta run (1% changed, 10 joined, 10 left)", directory)
        self.assertFalse(delta.full_sync)
        self.assertEqual((delta.count_new, delta.count_updated), (10, USERS // 100), delta.message)

        self._churn(members, outsiders, nested, 1)
        directory._reset_delta()
        whole = self._measure("groups: the same changes read whole (no delta)", directory)
        self.assertTrue(whole.full_sync)
        self.assertEqual((whole.count_new, whole.count_updated), (10, USERS // 100), whole.message)
