from datetime import timedelta

import pytz

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestSyncSchedule(TransactionCase):
    """Settings choose when the background sync runs; the cron and the due threshold follow."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("microsoft_contacts.ir_cron_microsoft_contacts_sync")
        cls.Account = cls.env["microsoft.contacts.account"]

    def _save(self, **values):
        self.env["res.config.settings"].create(values).execute()

    def _interval(self):
        return self.cron.interval_number, self.cron.interval_type

    def test_each_schedule_sets_the_cron_and_the_due_threshold(self):
        self.assertEqual(self._interval(), (30, "minutes"))  # as installed
        self.assertEqual(self.Account._get_sync_interval(), timedelta(minutes=20))
        for values, interval, threshold in (
            ({"microsoft_contacts_sync_schedule": "hourly"}, (1, "hours"), timedelta(minutes=40)),
            (
                {
                    "microsoft_contacts_sync_schedule": "every_hours",
                    "microsoft_contacts_sync_every_hours": 6,
                },
                (6, "hours"),
                timedelta(hours=4),
            ),
            (
                {"microsoft_contacts_sync_schedule": "half_hourly"},
                (30, "minutes"),
                timedelta(minutes=20),
            ),
            (
                {
                    "microsoft_contacts_sync_schedule": "daily",
                    "microsoft_contacts_sync_daily_at": 3,
                },
                (1, "days"),
                timedelta(hours=16),
            ),
        ):
            with self.subTest(values=values):
                self._save(**values)
                self.assertEqual(self._interval(), interval)
                self.assertEqual(self.Account._get_sync_interval(), threshold)
                settings = self.env["res.config.settings"].create({})
                self.assertEqual(
                    settings.microsoft_contacts_sync_schedule,
                    values["microsoft_contacts_sync_schedule"],
                )

    def test_daily_sync_at_the_chosen_time_of_the_company(self):
        self.env.company.partner_id.tz = "America/New_York"
        now = fields.Datetime.now()
        self._save(microsoft_contacts_sync_schedule="daily", microsoft_contacts_sync_daily_at=3.5)
        nextcall = self.cron.nextcall
        self.assertGreater(nextcall, now)
        self.assertLessEqual(nextcall, now + timedelta(days=1))
        local = pytz.utc.localize(nextcall).astimezone(pytz.timezone("America/New_York"))
        self.assertEqual((local.hour, local.minute), (3, 30))
        self.assertEqual(self._interval(), (1, "days"))

        # Midnight is a time like any other (a zero is not "no value").
        self._save(microsoft_contacts_sync_schedule="daily", microsoft_contacts_sync_daily_at=0)
        local = pytz.utc.localize(self.cron.nextcall).astimezone(pytz.timezone("America/New_York"))
        self.assertEqual((local.hour, local.minute), (0, 0))
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.microsoft_contacts_sync_daily_at, 0)

    def test_a_shorter_period_brings_the_next_call_forward(self):
        self._save(microsoft_contacts_sync_schedule="daily", microsoft_contacts_sync_daily_at=3)
        self.cron.nextcall = fields.Datetime.now() + timedelta(hours=20)
        now = fields.Datetime.now()
        self._save(microsoft_contacts_sync_schedule="hourly")
        self.assertLessEqual(self.cron.nextcall, now + timedelta(hours=1, seconds=5))
        self.assertGreaterEqual(self.cron.nextcall, now)

        # A longer period never pushes back a call already planned.
        planned = fields.Datetime.now() + timedelta(minutes=10)
        self.cron.nextcall = planned
        self._save(
            microsoft_contacts_sync_schedule="every_hours", microsoft_contacts_sync_every_hours=8
        )
        self.assertEqual(self.cron.nextcall, planned)
        self.assertEqual(self._interval(), (8, "hours"))

    def test_saving_other_settings_leaves_the_cron_alone(self):
        self._save(microsoft_contacts_sync_schedule="daily", microsoft_contacts_sync_daily_at=3)
        planned = fields.Datetime.now() + timedelta(hours=5)
        self.cron.nextcall = planned
        self._save(microsoft_contacts_default_folder_name="Other Folder")
        self.assertEqual(self.cron.nextcall, planned)
        self.assertEqual(self._interval(), (1, "days"))

        # A cron edited by hand is brought back to the Settings at the next save.
        self.cron.write({"interval_number": 5, "interval_type": "minutes"})
        self._save(microsoft_contacts_default_folder_name="Odoo Contacts")
        self.assertEqual(self._interval(), (1, "days"))

    def test_invalid_values_are_refused(self):
        Settings = self.env["res.config.settings"]
        for values in (
            {
                "microsoft_contacts_sync_schedule": "every_hours",
                "microsoft_contacts_sync_every_hours": 0,
            },
            {"microsoft_contacts_sync_daily_at": 24},
            {"microsoft_contacts_log_keep_runs": 0},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                Settings.create(values)
        self.assertEqual(self._interval(), (30, "minutes"))

    def test_the_cron_syncs_the_accounts_due_under_the_schedule(self):
        user = new_test_user(self.env, login="schedule_user")
        account = self.Account.create({"user_id": user.id})
        # Connected but without a stored sign-in: its run fails at once, with no HTTP call.
        account.sudo().write(
            {
                "state": "connected",
                "initial_sync_confirmed": True,
                "last_sync_at": fields.Datetime.now() - timedelta(minutes=30),
            }
        )
        Run = self.env["microsoft.contacts.sync.run"]

        self._save(microsoft_contacts_sync_schedule="hourly")
        self.Account._cron_sync_accounts()
        self.assertFalse(Run.search([("account_id", "=", account.id)]), "synced 30 min ago")

        self._save(microsoft_contacts_sync_schedule="half_hourly")
        self.Account._cron_sync_accounts()
        self.assertEqual(len(Run.search([("account_id", "=", account.id)])), 1)

    def test_parallel_syncs_are_cron_jobs_on_the_same_schedule(self):
        crons = self.Account._get_sync_crons()
        self.assertEqual(crons[0], self.cron)
        self.assertEqual(len(crons), 2, "two by default, made on install")
        self._save(microsoft_contacts_sync_workers=4, microsoft_contacts_sync_schedule="hourly")
        crons = self.Account._get_sync_crons()
        self.assertEqual(len(crons), 4)
        self.assertEqual(set(crons.mapped("interval_number")), {1})
        self.assertEqual(set(crons.mapped("interval_type")), {"hours"})
        self.assertEqual(len(set(crons.mapped("nextcall"))), 1)
        self.assertEqual(set(crons.mapped("code")), {"model._cron_sync_accounts()"})
        self._save(microsoft_contacts_sync_workers=1)
        self.assertEqual(self.Account._get_sync_crons(), self.cron)
        with self.assertRaises(ValidationError):
            self._save(microsoft_contacts_sync_workers=17)
