"""Between whole reads, a run reads only the Odoo partners that changed or that the round's
Outlook changes concern (R10: the cost of an account must not grow with its unchanged
contacts), and plans the same as a whole read would."""

from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .common import OutlookSyncCase, person


@tagged("post_install", "-at_install")
class TestOutlookSyncIncremental(OutlookSyncCase):
    account_login = "ines_incremental"

    def setUp(self):
        super().setUp()
        self.account.sync_scope = "my"  # only this test's partners
        self.partners = self.Partner.create(
            [
                {
                    "name": f"Inc {n:02d}",
                    "email": f"inc{n:02d}@example.com",
                    "user_id": self.account_user.id,
                }
                for n in range(30)
            ]
        )

    def _synced_a_while_ago(self):
        """A first (whole) sync, then time passes: a test's transaction stamps every write
        with its own start, so the partners' and the read's times are moved back by hand.
        Twice: the second run reads the echo of the first one's writes in Outlook."""
        self._synced()
        self._synced()
        self.env.flush_all()
        self.env.cr.execute(
            SQL("UPDATE res_partner SET write_date = now() AT TIME ZONE 'UTC' - interval '2 days'")
        )
        self.env.invalidate_all()
        self.account.sudo().write(
            {
                "odoo_read_at": fields.Datetime.now() - timedelta(days=1),
                "odoo_whole_read_at": fields.Datetime.now() - timedelta(hours=1),
            }
        )

    @contextmanager
    def _reads(self):
        """The partners each run of the synced folder read, and those it passed unchanged."""
        seen = []
        Service = self.registry["microsoft.contacts.outlook.sync"]
        read_odoo = Service._read_odoo

        def recorded(service, job, changes):
            side = read_odoo(service, job, changes)
            seen.append(({p.partner_id for p in side.partners}, side.unchanged, job.whole_read))
            return side

        with patch.object(Service, "_read_odoo", recorded):
            yield seen

    def test_a_quiet_run_reads_only_what_changed(self):
        with self._reads() as seen:
            self._synced_a_while_ago()
        (first, _none, whole), _echo = seen
        self.assertTrue(whole)
        self.assertEqual(first, set(self.partners.ids))
        with self._reads() as seen:
            self._synced()
            self.partners[3].function = "Changed In Odoo"
            (item,) = self._items("inc07@example.com")
            self.mailbox.edit(item["id"], jobTitle="Changed In Outlook")
            run = self._synced()
        (quiet, unchanged, incremental), (busy, _rest, _) = seen
        self.assertFalse(incremental)
        self.assertFalse(quiet, "nothing changed: nothing read")
        self.assertEqual(unchanged, frozenset(self.partners.ids))
        self.assertEqual(busy, {self.partners[3].id, self.partners[7].id})
        self.assertEqual(self.partners[7].function, "Changed In Outlook")
        self.assertEqual(self._items("inc03@example.com")[0]["jobTitle"], "Changed In Odoo")
        self.assertEqual(run.count_updated, 2)

    def test_new_partners_and_outlook_contacts_matching_unread_ones_plan_as_a_whole_read(self):
        self._synced_a_while_ago()
        newcomer = self.Partner.create(
            {"name": "Newcomer", "email": "new@example.com", "user_id": self.account_user.id}
        )
        # A second Outlook contact with the email of a synced, unchanged partner.
        self._seed([person("Inc", "Twice", "inc05@example.com")])
        with self._reads() as seen:
            run = self._synced()
        ((read, _unchanged, whole),) = seen
        self.assertFalse(whole)
        self.assertEqual(read, {newcomer.id, self.partners[5].id})
        self.assertEqual(len(self._items("new@example.com")), 1)
        self.assertEqual(len(self._partners("inc05@example.com")), 1, "no second contact")
        self.assertIn("shared by 2 Outlook contacts", run.line_ids.mapped("reason")[0])

    def test_settings_decisions_and_a_day_make_the_next_read_whole(self):
        wholes = []
        for change in (
            lambda: self.account.write({"conflict_policy": "outlook"}),
            lambda: None,
            lambda: self.partners[:2]
            .with_user(self.account_user)
            .action_microsoft_contacts_stop_sync(),
            lambda: self.account.sudo().write(
                {"odoo_whole_read_at": fields.Datetime.now() - timedelta(days=2)}
            ),
        ):
            self._synced_a_while_ago()
            change()
            with self._reads() as seen:
                self._synced()
            wholes.append(seen[0][2])
        self.assertEqual(wholes, [True, False, True, True])

    def test_a_run_that_could_not_apply_everything_reads_the_same_partners_again(self):
        self._synced_a_while_ago()
        self.partners[4].function = "Retried"
        self.simulator._call(
            "POST", "faults", json={"path_regex": r"\$batch", "method": "POST", "status": 400}
        )
        with self._reads() as seen:
            self.assertTrue(self._synced().count_failed)
            self._synced()
        self.assertEqual([read for read, _unchanged, _whole in seen], [{self.partners[4].id}] * 2)
        self.assertEqual(self._items("inc04@example.com")[0]["jobTitle"], "Retried")
