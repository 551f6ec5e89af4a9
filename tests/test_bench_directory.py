"""Benchmark, not a test of behaviour: `make bench-directory` runs it and prints its figures.

5,000 Entra ID users: the first import, then a delta run with 1 % changed. Tagged out of the
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

    def _measure(self, label, directory):
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
            "unchanged %d, failed %d",
            label,
            USERS,
            requests,
            requests / USERS,
            seconds,
            queries,
            queries / USERS,
            peak_mb,
            run.count_new,
            run.count_updated,
            run.count_unchanged,
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
