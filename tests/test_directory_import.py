import csv
import io

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import HTTP_TAG, GraphSimulatorAdmin, point_at_simulator

CLIENT_ID = "directory-app"
CLIENT_SECRET = "directory-secret"
TENANT = "contoso.test"


@tagged("post_install", "-at_install", HTTP_TAG)
class TestDirectoryImport(HttpCase):
    """Entra ID users imported as contacts, against the simulator over HTTPS."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = GraphSimulatorAdmin.for_class(cls)
        point_at_simulator(cls.env, cls.simulator, CLIENT_ID, CLIENT_SECRET)
        cls.tag = cls.env.ref("microsoft_contacts.res_partner_category_entra")
        cls.belgium = cls.env.ref("base.be")
        cls.simulator.reset()
        cls.simulator.register_app(CLIENT_ID, CLIENT_SECRET)
        add = cls.simulator.add_user
        cls.adele = add(
            "adele@contoso.test",
            display_name="Adele Vance",
            jobTitle="Retail Manager",
            city="Brussels",
            country="Belgium",
            businessPhones=["+32 2 555 01 09"],
            employeeId="1234",
        )
        cls.alex = add("alex@contoso.test", display_name="Alex Wilber", jobTitle="Marketing")
        cls.guest = add("guest_ext@contoso.test", display_name="Gus Guest", user_type="Guest")
        cls.blocked = add(
            "blocked@contoso.test", display_name="Blocked User", account_enabled=False
        )
        cls.bad = add("bad@contoso.test", display_name="Bad Country", country="Atlantis")
        cls.simulator.checkpoint(cls)

    def setUp(self):
        super().setUp()
        self.simulator.back_to_checkpoint()

    def _directory(self, **values):
        return self.env["microsoft.contacts.directory"].create(
            {"name": "Contoso", "tenant_id": TENANT, **values}
        )

    def _partner(self, user):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("microsoft_entra_user_id", "=", user["id"])])
        )

    def _csv(self, run):
        self.authenticate("admin", "admin")
        response = self.url_open(f"/microsoft_contacts/run/{run.id}/csv")
        self.assertEqual(response.status_code, 200)
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))

    def test_first_import_then_changes_through_delta(self):
        existing = self.env["res.partner"].create(
            {"name": "Alex W. (typed by hand)", "email": "ALEX@contoso.test", "phone": "123"}
        )
        directory = self._directory()
        run = directory._run_import()

        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(run.full_sync)
        self.assertEqual(
            (run.count_new, run.count_updated, run.count_failed, run.count_archived),
            (1, 1, 1, 0),
        )
        adele = self._partner(self.adele)
        self.assertEqual(adele.name, "Adele Vance")
        self.assertEqual(adele.email, "adele@contoso.test")
        self.assertEqual(adele.function, "Retail Manager")
        self.assertEqual(adele.country_id, self.belgium)
        self.assertEqual(adele.phone, "+32 2 555 01 09")
        self.assertIn(self.tag, adele.category_id)
        # Matched by email, case-insensitively, not duplicated.
        self.assertEqual(self._partner(self.alex), existing)
        self.assertEqual(existing.name, "Alex Wilber")
        self.assertEqual(existing.phone, "123")  # no phone in Entra: nothing wiped
        self.assertFalse(self._partner(self.guest))
        self.assertFalse(self._partner(self.blocked))
        failed = run.line_ids.filtered(lambda line: line.status == "failed")
        self.assertEqual(failed.email, "bad@contoso.test")
        self.assertIn("unknown country 'Atlantis'", failed.reason)

        self.simulator.update_user(self.adele["id"], jobTitle="Store Director")
        self.simulator.delete_user(self.alex["id"])
        newcomer = self.simulator.add_user("nestor@contoso.test", display_name="Nestor Wilke")
        delta = directory._run_import()

        self.assertEqual(delta.state, "done", delta.message)
        self.assertFalse(delta.full_sync)
        self.assertEqual(adele.function, "Store Director")
        self.assertTrue(self._partner(newcomer))
        self.assertTrue(existing.active)  # removed in Entra, policy "keep"
        kept = delta.line_ids.filtered(lambda line: line.action == "kept")
        self.assertEqual(kept.partner_id, existing)

    def test_group_filter_is_transitive(self):
        team = self.simulator.add_group("Belgium team", members=[self.adele["id"]])
        self.simulator.add_group("Sales", members=[team["id"]])
        directory = self._directory(scope="groups")
        directory.group_ids = [(0, 0, {"group_object_id": team["id"]})]
        directory.action_test()
        self.assertEqual(directory.group_ids.name, "Belgium team")
        run = directory._run_import()
        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(self._partner(self.adele))
        self.assertFalse(self._partner(self.alex))

    def test_overwrite_off_only_fills_empty_fields(self):
        partner = self.env["res.partner"].create(
            {"name": "Adele (CRM)", "email": "adele@contoso.test", "function": False}
        )
        directory = self._directory()
        directory.mapping_ids.filtered(lambda m: m.field_name == "name").overwrite = False
        directory._run_import()
        self.assertEqual(partner.name, "Adele (CRM)")
        self.assertEqual(partner.function, "Retail Manager")

    def test_custom_field_mapping_and_type_mismatch(self):
        self.env["ir.model.fields"].create(
            {
                "model_id": self.env.ref("base.model_res_partner").id,
                "name": "x_badge_number",
                "field_description": "Badge Number",
                "ttype": "integer",
            }
        )
        self.simulator.update_user(self.alex["id"], employeeId="E-77")
        directory = self._directory()
        directory.mapping_ids = [
            (
                0,
                0,
                {
                    "attribute": "employeeId",
                    "field_id": self.env["ir.model.fields"]
                    ._get("res.partner", "x_badge_number")
                    .id,
                },
            )
        ]
        run = directory._run_import()
        self.assertEqual(self._partner(self.adele).x_badge_number, 1234)
        refused = run.line_ids.filtered(lambda line: line.email == "alex@contoso.test")
        self.assertEqual(refused.status, "failed")
        self.assertIn("Badge Number: type mismatch: 'E-77' is not a whole number", refused.reason)

    def test_archive_policy_archives_removed_and_disabled_users(self):
        directory = self._directory(removed_policy="archive")
        directory._run_import()
        adele, alex = self._partner(self.adele), self._partner(self.alex)
        self.simulator.update_user(self.adele["id"], accountEnabled=False)
        self.simulator.delete_user(self.alex["id"])
        run = directory._run_import()
        self.assertEqual(run.count_archived, 2)
        self.assertFalse(adele.active)
        self.assertFalse(alex.active)
        self.assertTrue(adele.exists() and alex.exists())  # archived, never deleted
        # Enabled again: the contact comes back.
        self.simulator.update_user(self.adele["id"], accountEnabled=True)
        directory._run_import()
        self.assertTrue(adele.active)

    def test_expired_delta_link_falls_back_to_a_full_read(self):
        directory = self._directory()
        directory._run_import()
        self.simulator.advance_time(8 * 24 * 3600)
        run = directory._run_import()
        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(run.full_sync)
        self.assertEqual(run.count_new, 0)

    def test_wrong_secret_fails_the_run_with_a_readable_message(self):
        directory = self._directory(
            use_main_app=False, client_id=CLIENT_ID, client_secret="not-the-secret"
        )
        run = directory._run_import()
        self.assertEqual(run.state, "failed")
        self.assertIn("invalid_client", run.message)
        self.assertNotIn("not-the-secret", run.message)
        result = directory.action_test()
        self.assertEqual(result["params"]["type"], "danger")

    def test_csv_report(self):
        run = self._directory()._run_import()
        rows = self._csv(run)
        self.assertEqual(list(rows[0]), ["Email", "Name", "Type", "Direction", "Status", "Reason"])
        by_email = {row["Email"]: row for row in rows}
        self.assertEqual(by_email["adele@contoso.test"]["Type"], "New")
        self.assertEqual(by_email["adele@contoso.test"]["Status"], "Success")
        self.assertEqual(by_email["bad@contoso.test"]["Status"], "Failed")
        self.assertIn("unknown country", by_email["bad@contoso.test"]["Reason"])

    def test_first_import_is_triggered_on_save_and_then_daily(self):
        cron = self.env.ref("microsoft_contacts.ir_cron_microsoft_contacts_directory")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        directory = self._directory(sync_hour=2.5)
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers
        )
        self.env["microsoft.contacts.directory"]._cron_import_directories()
        self.assertEqual(len(directory.run_ids), 1)
        self.assertGreater(directory.next_sync_at, directory.run_ids.started_at)
        self.env["microsoft.contacts.directory"]._cron_import_directories()
        self.assertEqual(len(directory.run_ids), 1)  # not due again before tomorrow

    def test_mass_archive_waits_for_a_person(self):
        extra = self.simulator.add_users(
            {"upn": f"temp{n}@contoso.test", "display_name": f"Temp {n}"} for n in range(10)
        )
        directory = self._directory(removed_policy="archive")
        directory._run_import()
        for user in [*extra, self.adele]:
            self.simulator.delete_user(user["id"])
        run = directory._run_import()
        self.assertEqual(run.count_archived, 0)
        held = run.line_ids.filtered(lambda line: "held back" in (line.reason or ""))
        self.assertEqual(len(held), 11)
        self.assertTrue(all(held.partner_id.mapped("active")))

    def test_partner_of_an_odoo_user_and_a_manual_archive_are_respected(self):
        employee = self.env["res.users"].create(
            {"name": "Adele (user)", "login": "adele.user", "email": "adele@contoso.test"}
        )
        directory = self._directory(removed_policy="archive")
        directory._run_import()
        self.assertEqual(self._partner(self.adele), employee.partner_id)
        alex = self._partner(self.alex)
        alex.action_archive()  # a person's decision
        self.simulator.update_user(self.adele["id"], accountEnabled=False)
        self.simulator.update_user(self.alex["id"], jobTitle="Marketing Director")
        run = directory._run_import()
        self.assertTrue(employee.partner_id.active)
        kept = run.line_ids.filtered(lambda line: line.partner_id == employee.partner_id)
        self.assertEqual(kept.action, "kept")
        self.assertIn("Odoo user", kept.reason)
        self.assertFalse(alex.active)  # not archived by the import: not brought back
        self.assertEqual(alex.function, "Marketing Director")

    def test_two_users_with_one_email_never_share_a_contact(self):
        twin = self.simulator.add_user(
            "adele.twin@contoso.test", display_name="Adele Twin", mail="adele@contoso.test"
        )
        run = self._directory()._run_import()
        twins = run.line_ids.filtered(
            lambda line: line.external_id in (twin["id"], self.adele["id"])
        )
        self.assertEqual(sorted(twins.mapped("status")), ["failed", "success"])
        self.assertIn("same email", twins.filtered(lambda line: line.status == "failed").reason)
        self.assertEqual(
            self.env["res.partner"].search_count([("email", "=", "adele@contoso.test")]), 1
        )

    def test_groups_scope_needs_a_group(self):
        run = self._directory(scope="groups")._run_import()
        self.assertEqual(run.state, "failed")
        self.assertIn("Choose at least one group", run.message)

    def test_a_mapping_change_reads_everything_again(self):
        directory = self._directory()
        first = directory._run_import()
        self.assertTrue(first.full_sync)
        self.assertFalse(directory._run_import().full_sync)
        directory.mapping_ids = [
            (
                0,
                0,
                {
                    "attribute": "department",
                    "field_id": self.env["ir.model.fields"]._get("res.partner", "ref").id,
                },
            )
        ]
        self.assertTrue(directory._run_import().full_sync)

    def test_sync_now_queues_the_import(self):
        directory = self._directory()
        directory.next_sync_at = "2999-01-01 00:00:00"
        result = directory.action_sync_now()
        self.assertEqual(result["params"]["type"], "info")
        self.assertLessEqual(directory.next_sync_at, fields.Datetime.now())
        self.assertFalse(directory.run_ids)

    def test_csv_cells_never_start_a_formula(self):
        self.simulator.add_user("formula@contoso.test", display_name="=HYPERLINK(1)")
        rows = self._csv(self._directory()._run_import())
        names = [row["Name"] for row in rows]
        self.assertIn("'=HYPERLINK(1)", names)
