import csv
import io
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import HTTP_TAG, OutlookSyncCase

FOLDER = "Odoo Contacts"


class SyncLogData:
    """Two users with an Outlook account each, an administrator and an Entra ID directory."""

    @classmethod
    def _setup_log_data(cls):
        cls.alice = new_test_user(cls.env, login="log_alice", password="log-alice-pass-1")
        cls.bob = new_test_user(cls.env, login="log_bob", password="log-bob-pass-1")
        cls.boss = new_test_user(
            cls.env, login="log_boss", password="log-boss-pass-1", groups="base.group_system"
        )
        Account = cls.env["microsoft.contacts.account"].sudo()
        cls.alice_account = Account.create({"user_id": cls.alice.id})
        cls.bob_account = Account.create({"user_id": cls.bob.id})
        cls.directory = cls.env["microsoft.contacts.directory"].create(
            {"name": "Log Tenant", "tenant_id": "log.test"}
        )
        cls.start = fields.Datetime.now() - timedelta(days=10)

    @classmethod
    def _run(cls, owner, lines=(), minutes=0, **values):
        """A finished run of an account or a directory, `minutes` after the common start."""
        key = "directory_id" if owner._name == "microsoft.contacts.directory" else "account_id"
        started = cls.start + timedelta(minutes=minutes)
        return (
            cls.env["microsoft.contacts.sync.run"]
            .sudo()
            .create(
                {
                    "source": "directory" if key == "directory_id" else "outlook",
                    key: owner.id,
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=75),
                    "state": "done",
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "record_type": "existing",
                                "direction": "to_odoo",
                                "status": "success",
                                **line,
                            },
                        )
                        for line in lines
                    ],
                    **values,
                }
            )
        )


def _lines(count, **values):
    return [{"email": f"{values['action']}{n}@example.com", **values} for n in range(count)]


@tagged("post_install", "-at_install")
class TestSyncLog(SyncLogData, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_log_data()

    def _mixed_run(self, owner, minutes=0):
        lines = (
            _lines(3, action="created", direction="to_outlook", record_type="new")
            + _lines(2, action="updated", direction="to_outlook")
            + _lines(1, action="deleted", direction="to_outlook")
            + _lines(4, action="created", direction="to_odoo", record_type="new")
            + _lines(1, action="archived")
            + _lines(1, action="conflict")
            + _lines(1, action="linked")
            # Failed writes count as failed, never as done.
            + _lines(1, action="created", direction="to_outlook", status="failed")
            + _lines(1, action="refused", status="failed")
        )
        return self._run(owner, lines, minutes=minutes, count_failed=2, count_new=7)

    def test_counts_per_direction_come_from_the_lines(self):
        run = self._mixed_run(self.alice_account)
        self.assertEqual(
            (
                run.count_to_outlook_created,
                run.count_to_outlook_updated,
                run.count_to_outlook_deleted,
                run.count_to_odoo_created,
                run.count_to_odoo_updated,
                run.count_to_odoo_archived,
                run.count_conflict,
                run.line_count,
            ),
            (3, 2, 1, 4, 0, 1, 1, 15),
        )
        self.assertEqual(run.duration * 3600, 75)

    def test_counts_of_many_runs_cost_no_query_per_run(self):
        runs = [self._mixed_run(self.alice_account, minutes=n) for n in range(6)]
        one, six = runs[0], self.env["microsoft.contacts.sync.run"].browse(r.id for r in runs)

        def queries(records):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            records.mapped("summary")
            return self.env.cr.sql_log_count - before

        self.assertEqual(queries(one), queries(six))
        self.assertEqual(len(set(six.mapped("summary"))), 1)

    def test_summary_message(self):
        run = self._mixed_run(self.alice_account)
        self.assertEqual(
            run._get_summary_message(),
            "To Outlook: 3 created, 2 updated, 1 deleted. To Odoo: 4 created, 1 archived. "
            "1 conflict, 2 failed.",
        )
        self.assertEqual(run.summary, run._get_summary_message())

        empty = self._run(self.alice_account, [_lines(1, action="linked")[0]], minutes=1)
        self.assertEqual(empty._get_summary_message(), "Nothing to change.")

        updated = self._run(
            self.bob_account,
            _lines(2, action="updated")
            + _lines(2, action="conflict")
            + _lines(1, action="updated", direction="to_outlook"),
            minutes=2,
        )
        self.assertEqual(
            updated._get_summary_message(),
            "To Outlook: 1 updated. To Odoo: 2 updated. 2 conflicts.",
        )

        failed = self._run(
            self.bob_account,
            _lines(1, action="created", direction="to_outlook", record_type="new"),
            minutes=3,
            state="failed",
            message="Microsoft asked for a new sign-in.",
        )
        self.assertEqual(
            failed._get_summary_message(),
            "Microsoft asked for a new sign-in. To Outlook: 1 created.",
        )
        failed.line_ids.unlink()
        failed.invalidate_recordset()
        self.assertEqual(failed._get_summary_message(), "Microsoft asked for a new sign-in.")

    def test_report_type_of_each_action(self):
        run = self._run(
            self.directory,
            _lines(1, action="created", record_type="new")
            + _lines(1, action="updated")
            + _lines(1, action="archived")
            + _lines(1, action="deleted", direction="to_outlook")
            + _lines(1, action="unchanged")
            + _lines(1, action="kept")
            + _lines(1, action="refused", record_type="new", status="failed"),
        )
        self.assertEqual(
            {line.action: line.report_type for line in run.line_ids},
            {
                "created": "new",
                "updated": "updated",
                "archived": "deleted",
                "deleted": "deleted",
                "unchanged": "existing",
                "kept": "existing",
                "refused": "new",  # refused before it ever existed in Odoo
            },
        )

    def test_users_see_the_log_of_their_own_account_only(self):
        alice_run = self._mixed_run(self.alice_account)
        bob_run = self._mixed_run(self.bob_account, minutes=1)
        directory_run = self._mixed_run(self.directory, minutes=2)
        Run = self.env["microsoft.contacts.sync.run"]
        Line = self.env["microsoft.contacts.sync.run.line"]

        self.assertEqual(Run.with_user(self.alice).search([]), alice_run)
        self.assertEqual(Line.with_user(self.alice).search([]), alice_run.line_ids)
        for foreign in (bob_run, directory_run):
            with self.assertRaises(AccessError):
                foreign.with_user(self.alice).read(["state"])
            with self.assertRaises(AccessError):
                foreign.line_ids[:1].with_user(self.alice).read(["email"])
        # Read only, even one's own log.
        with self.assertRaises(AccessError):
            alice_run.with_user(self.alice).write({"message": "edited"})
        with self.assertRaises(AccessError):
            alice_run.line_ids[:1].with_user(self.alice).unlink()
        # Counts read by the user come from the lines they may read: their own run's.
        self.assertEqual(alice_run.with_user(self.alice).line_count, 15)

        everything = alice_run | bob_run | directory_run
        self.assertEqual(
            Run.with_user(self.boss).search([("id", "in", everything.ids)]), everything
        )
        self.assertEqual(
            Line.with_user(self.boss).search_count([("run_id", "in", everything.ids)]), 45
        )

    def test_users_can_open_the_log_views(self):
        for model in ("microsoft.contacts.sync.run", "microsoft.contacts.sync.run.line"):
            views = (
                self.env[model]
                .with_user(self.alice)
                .get_views([(False, "list"), (False, "form"), (False, "search")])
            )
            self.assertIn(model, views["models"])
            for view in views["views"].values():
                # Directories are an administrator's business: not even their field.
                self.assertNotIn('name="directory_id"', view["arch"])

    def test_my_sync_log_shows_the_current_users_runs(self):
        alice_run = self._mixed_run(self.alice_account)
        self._mixed_run(self.bob_account, minutes=1)
        self._mixed_run(self.directory, minutes=2)
        action = self.env.ref("microsoft_contacts.action_microsoft_contacts_sync_run_mine")
        for user, expected in ((self.alice, alice_run), (self.boss, alice_run.browse())):
            domain = safe_eval(action.domain, {"uid": user.id})
            self.assertEqual(
                self.env["microsoft.contacts.sync.run"].with_user(user).search(domain), expected
            )

        result = self.alice_account.with_user(self.alice).action_open_sync_runs()
        self.assertEqual(result["res_model"], "microsoft.contacts.sync.run")
        self.assertEqual(
            self.env["microsoft.contacts.sync.run"].with_user(self.alice).search(result["domain"]),
            alice_run,
        )

    def test_run_opens_its_lines(self):
        run = self._mixed_run(self.alice_account)
        self._mixed_run(self.alice_account, minutes=1)
        Line = self.env["microsoft.contacts.sync.run.line"].with_user(self.alice)
        action = run.with_user(self.alice).action_open_lines()
        self.assertEqual(action["res_model"], "microsoft.contacts.sync.run.line")
        self.assertEqual(Line.search(action["domain"]), run.line_ids)
        failed = run.action_open_failed_lines()
        self.assertEqual(failed["context"], {"search_default_filter_failed": 1})
        conflicts = run.action_open_conflict_lines()
        self.assertEqual(conflicts["context"], {"search_default_filter_conflict": 1})
        # The filters the buttons name exist in the search view and select what they say.
        arch = etree.fromstring(
            self.env.ref("microsoft_contacts.microsoft_contacts_sync_run_line_view_search").arch
        )
        for name, expected in (("filter_failed", 2), ("filter_conflict", 1)):
            domain = safe_eval(arch.find(f".//filter[@name='{name}']").get("domain"))
            self.assertEqual(Line.search_count(action["domain"] + domain), expected)

    def test_autovacuum_keeps_the_last_runs_of_each_account_and_directory(self):
        self.env["ir.config_parameter"].sudo().set_param("microsoft_contacts.log_keep_runs", "2")
        alice_runs = [self._mixed_run(self.alice_account, minutes=n) for n in range(4)]
        bob_run = self._mixed_run(self.bob_account)
        directory_runs = [self._mixed_run(self.directory, minutes=n) for n in range(3)]
        old_lines = alice_runs[0].line_ids | alice_runs[1].line_ids | directory_runs[0].line_ids

        deleted = self.env["microsoft.contacts.sync.run"]._gc_old_runs()

        self.assertEqual(deleted, 3)
        Run = self.env["microsoft.contacts.sync.run"]
        self.assertEqual(
            Run.search([("account_id", "=", self.alice_account.id)]),
            alice_runs[3] | alice_runs[2],
        )
        self.assertEqual(Run.search([("account_id", "=", self.bob_account.id)]), bob_run)
        self.assertEqual(
            Run.search([("directory_id", "=", self.directory.id)]),
            directory_runs[2] | directory_runs[1],
        )
        self.assertFalse(old_lines.exists(), "the lines go with their run")
        self.assertEqual(self.env["microsoft.contacts.sync.run"]._gc_old_runs(), 0)

    def test_retention_defaults_to_fifty_runs(self):
        icp = self.env["ir.config_parameter"].sudo()
        Run = self.env["microsoft.contacts.sync.run"]
        for value in (False, "0", "many"):
            icp.set_param("microsoft_contacts.log_keep_runs", value)
            self.assertEqual(Run._get_keep_runs(), 50)
        icp.set_param("microsoft_contacts.log_keep_runs", "7")
        self.assertEqual(Run._get_keep_runs(), 7)
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.microsoft_contacts_log_keep_runs, 7)
        settings.microsoft_contacts_log_keep_runs = 30
        settings.execute()
        self.assertEqual(Run._get_keep_runs(), 30)


@tagged("post_install", "-at_install", HTTP_TAG)
class TestSyncLogHttp(SyncLogData, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_log_data()

    def _csv(self, run, login, password):
        self.authenticate(login, password)
        return self.url_open(f"/microsoft_contacts/run/{run.id}/csv")

    def test_csv_columns_types_and_access(self):
        run = self._run(
            self.alice_account,
            [
                {"email": "new@example.com", "name": "New", "action": "created"},
                {
                    "email": "upd@example.com",
                    "name": "=cmd|' /C calc'!A0",
                    "action": "updated",
                    "direction": "to_outlook",
                },
                {"email": "gone@example.com", "action": "deleted", "direction": "to_outlook"},
                {"email": "arch@example.com", "action": "archived"},
                {"email": "both@example.com", "action": "conflict", "reason": "function"},
                {
                    "email": "bad@example.com",
                    "action": "refused",
                    "status": "failed",
                    "reason": "@SUM(1+1)",
                },
            ],
        )
        response = self._csv(run, "log_alice", "log-alice-pass-1")
        self.assertEqual(response.status_code, 200)
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual(list(rows[0]), ["Email", "Name", "Type", "Direction", "Status", "Reason"])
        by_email = {row["Email"]: row for row in rows}
        self.assertEqual(
            {email: row["Type"] for email, row in by_email.items()},
            {
                "new@example.com": "New",
                "upd@example.com": "Updated",
                "gone@example.com": "Deleted",
                "arch@example.com": "Deleted",
                "both@example.com": "Existing",
                "bad@example.com": "Existing",
            },
        )
        self.assertEqual(by_email["gone@example.com"]["Direction"], "Odoo → Outlook")
        self.assertEqual(by_email["arch@example.com"]["Direction"], "Microsoft → Odoo")
        self.assertEqual(by_email["bad@example.com"]["Status"], "Failed")
        self.assertEqual(by_email["both@example.com"]["Reason"], "function")
        # Formula injection: cells that a spreadsheet would evaluate stay text.
        self.assertEqual(by_email["upd@example.com"]["Name"], "'=cmd|' /C calc'!A0")
        self.assertEqual(by_email["bad@example.com"]["Reason"], "'@SUM(1+1)")

        # Another user's run: refused; the administrator's: allowed.
        self.assertEqual(self._csv(run, "log_bob", "log-bob-pass-1").status_code, 403)
        self.assertEqual(self._csv(run, "log_boss", "log-boss-pass-1").status_code, 200)

    def _check_page(self, url, selector, expected, login):
        """Open `url` in the browser as `login`; the text of `selector` must hold `expected`."""
        self.browser_js(
            url,
            f"""
            const text = document.querySelector({selector!r}).textContent;
            if (text.includes({expected!r})) {{
                console.log("test successful");
            }} else {{
                console.error("unexpected page text: " + text);
            }}
            """,
            ready=f"!!document.querySelector({selector!r})",
            login=login,
        )

    def test_run_form_and_own_log_render_in_the_browser(self):
        run = self._run(
            self.alice_account,
            [{"email": "new@example.com", "action": "created", "direction": "to_outlook"}],
        )
        self._check_page(
            f"/odoo/action-microsoft_contacts.action_microsoft_contacts_sync_run/{run.id}",
            ".o_form_view .o_field_widget[name=summary]",
            "To Outlook: 1 created.",
            "log_boss",
        )
        self._check_page(
            "/odoo/action-microsoft_contacts.action_microsoft_contacts_sync_run_mine",
            ".o_list_view .o_data_row",
            "00:01:15",
            "log_alice",
        )

    def test_schedule_and_retention_render_in_the_settings(self):
        self._check_page(
            "/odoo/settings",
            "#microsoft_contacts_schedule_setting",
            "runs each",
            "log_boss",
        )


@tagged("post_install", "-at_install")
class TestSyncLogOfARealSync(OutlookSyncCase):
    """The log of a sync against the simulator: counts per direction match what happened."""

    account_login = "log_real_sync"

    def test_summary_of_a_first_sync_both_ways(self):
        vip = self.env["res.partner.category"].create({"name": "Log VIP"})
        self.account.write({"sync_scope": "tags", "sync_tag_ids": [(6, 0, vip.ids)]})
        self.Partner.create(
            {"name": "Odette Odoo", "email": "odette.odoo@example.com", "category_id": vip.ids}
        )
        folder = self.mailbox.create_folder(FOLDER)
        self.mailbox.seed(
            [
                {
                    "givenName": "Otto",
                    "surname": "Outlook",
                    "emailAddresses": [{"address": "otto.outlook@example.com"}],
                },
            ],
            folder_id=folder["id"],
        )
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual((run.count_to_outlook_created, run.count_to_odoo_created), (1, 1))
        self.assertEqual(run._get_summary_message(), "To Outlook: 1 created. To Odoo: 1 created.")
        to_outlook = run.line_ids.filtered(lambda line: line.direction == "to_outlook")
        self.assertEqual(to_outlook.mapped("email"), ["odette.odoo@example.com"])
