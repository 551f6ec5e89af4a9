from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.microsoft_contacts.models.microsoft_contacts_account_sync import (
    SYNC_LOCK_CLASS,
)

from .common import OutlookSyncCase, first_email

FOLDER = "Odoo Contacts"


@tagged("post_install", "-at_install")
class TestOutlookSyncChunks(OutlookSyncCase):
    """Background runs commit chunk by chunk and keep other workers out with a lock."""

    account_login = "chunk_sync_user"

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("microsoft_contacts.sync_chunk_size", 3)
        self.partners = self.Partner.create(
            [
                {"name": f"Chunk Person {n}", "email": f"chunk.person{n}@example.com"}
                for n in range(7)
            ]
        )
        self.account.write(
            {"sync_scope": "domain", "sync_domain": "[('email', '=like', 'chunk.person%')]"}
        )
        # Cursors opened by the run share the test's transaction; their commit and rollback
        # move a savepoint, as a real commit and rollback would move the transaction.
        self.registry.enter_test_mode(self.cr)
        self.addCleanup(self.registry.leave_test_mode)

    def _outlook_emails(self):
        folder = self.mailbox.folder(FOLDER)
        return sorted(
            first_email(item)
            for item in self.mailbox.contacts(folder["id"])
            if first_email(item).startswith("chunk.person")
        )

    def _linked(self):
        return self.env["microsoft.contacts.link"].search(
            [("account_id", "=", self.account.id), ("partner_id", "in", self.partners.ids)]
        )

    def test_a_crash_keeps_the_chunks_committed_before_it(self):
        Service = self.registry["microsoft.contacts.outlook.sync"]
        original = Service._apply_outlook_actions
        calls = []

        def crash_after_second_outlook_write(service, job, records):
            original(service, job, records)
            calls.append(len(records))
            if len(calls) == 2:
                raise RuntimeError("worker killed")

        with (
            patch.object(Service, "_apply_outlook_actions", crash_after_second_outlook_write),
            mute_logger("odoo.addons.microsoft_contacts.models.microsoft_contacts_account_sync"),
        ):
            run = self._committing_sync()
        self.assertEqual(run.state, "failed")
        self.assertIn("worker killed", run.message)
        # The first chunk was committed with its links and log lines; the second chunk's
        # Odoo side was rolled back although Outlook received it; the last one never ran.
        self.assertEqual(calls, [3, 3])
        self.assertEqual(len(self._linked()), 3)
        self.assertEqual(len(run.line_ids.filtered(lambda ln: ln.action == "created")), 3)
        self.assertEqual(run.count_new, 3)
        self.assertEqual(len(self._outlook_emails()), 6)
        self.assertFalse(self.account.delta_link, "the delta position waits for a whole round")

        # The next run relinks the second chunk by our extended property and pushes the rest.
        run = self._committing_sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._linked()), 7)
        self.assertEqual(
            self._outlook_emails(), sorted(self.partners.mapped("email")), "no duplicate"
        )
        self.assertEqual(len(run.line_ids.filtered(lambda ln: ln.action == "linked")), 3)
        self.assertEqual(len(run.line_ids.filtered(lambda ln: ln.action == "created")), 1)
        self.assertTrue(self.account.delta_link)

    def test_chunks_without_commits_apply_the_whole_round(self):
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._linked()), 7)
        self.assertEqual(self._outlook_emails(), sorted(self.partners.mapped("email")))

    def test_a_running_sync_is_seen_and_not_started_twice(self):
        self.assertFalse(self.account._is_sync_running())
        # Another worker, on its own connection, holds the account's lock.
        with db_connect(self.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", (SYNC_LOCK_CLASS, self.account.id))
            try:
                self.assertTrue(self.account._is_sync_running())
                self.assertIsNone(self.account._sync_outlook())
                # Links and the delta position are not changed under a running sync.
                with self.assertRaisesRegex(UserError, "is running"):
                    self.account.with_user(self.account_user).action_reset_outlook_sync()
                with self.assertRaisesRegex(UserError, "is running"):
                    self.partners[0].with_user(
                        self.account_user
                    ).action_microsoft_contacts_stop_sync()
            finally:
                other.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", (SYNC_LOCK_CLASS, self.account.id)
                )
        self.assertFalse(self.account._is_sync_running())
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        # The lock of this very transaction is not "another sync running".
        self.assertFalse(self.account._is_sync_running())
