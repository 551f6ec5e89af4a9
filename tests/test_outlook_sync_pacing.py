"""R10: a busy or tighter Graph never fails a run: it waits, and when Graph asks to wait longer
than a run may last, the run pauses with what it did kept and the workers resume it."""

import time

from odoo import fields
from odoo.tests import tagged

from .common import OutlookSyncCase


@tagged("post_install", "-at_install")
class TestOutlookSyncPacing(OutlookSyncCase):
    account_login = "pia_pacing"

    def setUp(self):
        super().setUp()
        self.account.sudo().write({"sync_scope": "my", "initial_sync_confirmed": True})
        self.partners = self.Partner.create(
            [
                {
                    "name": f"Paced {n:02d}",
                    "email": f"paced{n:02d}@example.com",
                    "user_id": self.account_user.id,
                }
                for n in range(30)
            ]
        )
        # Commits move a savepoint of the test's transaction, as they would move a real one.
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)

    def _outlook_count(self):
        folder = self.mailbox.folder("Odoo Contacts")
        return len(self.mailbox.contacts(folder["id"])) if folder else 0

    def _linked(self):
        return self.account.link_ids.filtered(lambda link: link.partner_id in self.partners)

    def test_a_mailbox_whose_window_another_client_spent_makes_the_run_wait_not_fail(self):
        self.simulator.configure(rate_limit=40, rate_window=3)
        self.simulator._call(
            "POST",
            f"users/{self.mailbox.user_id}/spend_window",
            json={"fraction": 0.9, "spread": False},
        )
        run = self._committing_sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertFalse(run.count_failed)
        self.assertFalse(run.line_ids.filtered(lambda line: line.status == "failed"))
        self.assertEqual(len(self._linked()), 30)
        self.assertEqual(self._outlook_count(), 30)
        self.assertGreaterEqual(self.simulator.stats()["throttled_total"], 1, "Graph said wait")

    def test_a_wait_longer_than_the_run_pauses_it_and_the_workers_resume_it(self):
        self.env["ir.config_parameter"].sudo().set_param("microsoft_contacts.run_time_budget", 1)
        self.simulator.configure(rate_limit=25, rate_window=3)
        run = self._committing_sync()
        self.assertEqual(run.state, "paused", run.message)
        self.assertIn("Paused: Microsoft Graph asked to wait until", run.message)
        self.assertFalse(run.count_failed, "pacing is not a failure")
        self.assertFalse(run.line_ids.filtered(lambda line: line.status == "failed"))
        kept = len(self._linked())
        self.assertTrue(0 < kept < 30, f"what was done is kept: {kept}")
        self.assertEqual(self._outlook_count(), kept)
        resume_at = self.account.resume_at
        self.assertTrue(resume_at and resume_at > fields.Datetime.now())
        self.assertFalse(self.account.delta_link, "the position waits for the whole round")

        # Not before Graph allows: the workers leave it; then it comes first.
        self._committing_sync("_cron_sync_accounts")
        self.assertEqual(self.account.sudo().sync_run_ids[:1], run)
        time.sleep(max((resume_at - fields.Datetime.now()).total_seconds(), 0) + 1)
        # Time enough now for the slower pace the client learned.
        self.env["ir.config_parameter"].sudo().set_param("microsoft_contacts.run_time_budget", 60)
        resumed = self._committing_sync("_cron_sync_accounts")
        self.assertNotEqual(resumed, run)
        self.assertEqual(resumed.state, "done", resumed.message)
        self.assertEqual(len(self._linked()), 30)
        self.assertEqual(self._outlook_count(), 30, "no duplicate, nothing lost")
        self.assertFalse(self.account.resume_at)
