from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import DirectoryCase


@tagged("post_install", "-at_install")
class TestDirectorySwitches(DirectoryCase):
    """Include Guests / Include Disabled Accounts: what is imported, and what happens to the
    contacts already imported when a switch goes off."""

    def setUp(self):
        super().setUp()
        add = self.simulator.add_user
        self.adele = add("adele@contoso.test", display_name="Adele Vance")
        self.guest = add(
            "gus_partner.test#EXT#@contoso.test",
            display_name="Gus Guest",
            mail="gus@partner.test",
            user_type="Guest",
        )
        self.blocked = add("blocked@contoso.test", display_name="Blocked", account_enabled=False)

    def _line(self, run, user):
        return run.line_ids.filtered(lambda line: line.external_id == user["id"])

    def test_guests_switched_on_are_imported_then_kept_when_switched_off(self):
        directory = self._directory()
        self._import(directory)
        self.assertFalse(self._partner(self.guest))

        directory.include_guests = True
        run = self._import(directory)
        self.assertTrue(run.full_sync)
        guest = self._partner(self.guest)
        self.assertEqual((guest.name, guest.email), ("Gus Guest", "gus@partner.test"))
        self.assertIn(
            self.env.ref("microsoft_contacts.res_partner_category_entra"), guest.category_id
        )
        self.assertEqual(run.count_new, 1)

        self.simulator.update_user(self.guest["id"], jobTitle="Consultant")
        self.assertFalse(self._import(directory).full_sync)
        self.assertEqual(guest.function, "Consultant")  # while on, changes follow

        directory.include_guests = False
        off = self._import(directory)
        self.assertTrue(off.full_sync)
        line = self._line(off, self.guest)
        self.assertEqual((line.action, line.reason), ("kept", "guest user"))
        self.assertTrue(guest.active)
        self.assertEqual(guest.microsoft_entra_directory_id, directory)
        self.simulator.update_user(self.guest["id"], jobTitle="Partner")
        self._import(directory)
        self.assertEqual(guest.function, "Consultant")  # off: no longer updated

    def test_guests_switched_off_are_archived_with_archive_and_back_when_on_again(self):
        directory = self._directory(include_guests=True, removed_policy="archive")
        self._import(directory)
        guest = self._partner(self.guest)
        self.assertTrue(guest.active)

        directory.include_guests = False
        off = self._import(directory)
        self.assertEqual(off.count_archived, 1)
        self.assertEqual(self._line(off, self.guest).reason, "guest user")
        self.assertFalse(guest.active)
        self.assertTrue(guest.microsoft_entra_archived)
        self.assertTrue(self._partner(self.adele).active)

        directory.include_guests = True
        on = self._import(directory)
        self.assertEqual(self._line(on, self.guest).action, "updated")
        self.assertTrue(guest.active)
        self.assertFalse(guest.microsoft_entra_archived)

    def test_disabled_accounts_switched_on_are_imported_and_stay_when_disabled_later(self):
        directory = self._directory(include_disabled=True, removed_policy="archive")
        first = self._import(directory)
        self.assertEqual(first.count_new, 2)
        self.assertTrue(self._partner(self.blocked).active)

        # Disabled later, while disabled accounts are imported: updated, not archived.
        self.simulator.update_user(self.adele["id"], accountEnabled=False, jobTitle="On leave")
        run = self._import(directory)
        self.assertFalse(run.full_sync)
        self.assertEqual((run.count_updated, run.count_archived), (1, 0))
        adele = self._partner(self.adele)
        self.assertTrue(adele.active)
        self.assertEqual(adele.function, "On leave")

        directory.include_disabled = False
        off = self._import(directory)
        self.assertEqual(off.count_archived, 2)
        self.assertEqual(self._line(off, self.blocked).reason, "account disabled")
        self.assertFalse(adele.active or self._partner(self.blocked).active)

        directory.include_disabled = True
        self._import(directory)
        self.assertTrue(adele.active and self._partner(self.blocked).active)

    def test_disabled_accounts_switched_off_with_keep_stay_active(self):
        directory = self._directory(include_disabled=True)
        self._import(directory)
        directory.include_disabled = False
        off = self._import(directory)
        self.assertEqual(off.count_archived, 0)
        line = self._line(off, self.blocked)
        self.assertEqual((line.action, line.reason), ("kept", "account disabled"))
        self.assertTrue(self._partner(self.blocked).active)

    def test_writing_a_switch_unchanged_keeps_the_delta_link(self):
        directory = self._directory()
        self._import(directory)
        directory.write({"include_guests": False, "tenant_id": f" {self.tenant.upper()} "})
        self.assertFalse(self._import(directory).full_sync)


@tagged("post_install", "-at_install")
class TestDirectoryReauthorise(DirectoryCase):
    """Re-authorise (a new secret, a consent given again) resumes the import where it was."""

    def setUp(self):
        super().setUp()
        self.adele = self.simulator.add_user("adele@contoso.test", display_name="Adele Vance")
        self.alex = self.simulator.add_user("alex@contoso.test", display_name="Alex Wilber")

    def _wizard(self, directory, **values):
        Wizard = self.env["microsoft.contacts.directory.secret"].with_context(
            default_directory_id=directory.id
        )
        wizard = Wizard.create({**Wizard.default_get(["client_id", "directory_id"]), **values})
        return wizard, wizard.action_apply()

    def test_a_new_secret_for_the_same_application_resumes_where_it_was(self):
        self.simulator.register_app("own-app", "old-secret")
        directory = self._directory(
            use_main_app=False, client_id="own-app", client_secret="old-secret"
        )
        self._import(directory)
        # The secret expires in Azure; meanwhile Entra ID changes.
        self.simulator.register_app("own-app", "new-secret")
        self.simulator.update_user(self.adele["id"], jobTitle="Store Director")
        failed = directory._run_import()
        self.assertEqual(failed.state, "failed")
        self.assertIn("invalid_client", failed.message)
        self.assertTrue(directory.sudo().delta_link)  # left where it was

        directory.next_sync_at = "2999-01-01 00:00:00"
        wizard, result = self._wizard(directory, client_secret="new-secret")
        self.assertEqual(wizard.client_id, "own-app")  # proposed: the same application
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])
        self.assertIn("from where it stopped", result["params"]["message"])
        self.assertLessEqual(directory.next_sync_at, fields.Datetime.now())  # queued
        self.assertTrue(directory.sudo().delta_link)

        run = self._import(directory)
        self.assertFalse(run.full_sync)
        self.assertEqual(run.count_updated, 1)
        self.assertEqual(self._partner(self.adele).function, "Store Director")

    def test_the_main_application_reauthorised_here_keeps_the_delta_link(self):
        directory = self._directory()
        self._import(directory)
        self.assertTrue(directory.use_main_app)
        wizard, result = self._wizard(directory, client_secret=self.client_secret)
        self.assertEqual(wizard.client_id, self.client_id)  # proposed: Settings' application
        self.assertEqual(result["params"]["type"], "success")
        self.assertFalse(directory.use_main_app)
        self.assertFalse(self._import(directory).full_sync)

    def test_another_application_reads_the_tenant_whole_and_forgets_the_consent(self):
        self.simulator.register_app("other-app", "other-secret")
        directory = self._directory()
        self._import(directory)
        directory.write(
            {"admin_consent_state": "granted", "admin_consent_message": "Granted by Admin."}
        )
        self._wizard(directory, client_id="other-app", client_secret="other-secret")
        self.assertFalse(directory.admin_consent_state)
        run = self._import(directory)
        self.assertTrue(run.full_sync)
        self.assertEqual((run.count_new, run.count_unchanged), (0, 2))

    def test_a_wrong_secret_is_saved_tested_and_said(self):
        directory = self._directory()
        self._import(directory)
        _wizard, result = self._wizard(directory, client_secret="not-the-secret")
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("invalid_client", result["params"]["message"])
        self.assertNotIn("not-the-secret", result["params"]["message"])
        self.assertTrue(directory.sudo().delta_link)

    def test_a_consent_removed_then_granted_again_resumes_where_it_was(self):
        self.simulator.configure(admin_consent_required=True)
        self.simulator.grant_admin_consent(self.client_id)
        directory = self._directory()
        self._import(directory)
        self.simulator.revoke_admin_consent(self.client_id)
        self.simulator.delete_user(self.alex["id"])
        failed = directory._run_import()
        self.assertEqual(failed.state, "failed")
        self.assertIn("Authorization_RequestDenied", failed.message)
        self.assertEqual(directory.action_test()["params"]["type"], "danger")

        self.simulator.grant_admin_consent(self.client_id)
        run = self._import(directory)
        self.assertFalse(run.full_sync)
        kept = run.line_ids
        self.assertEqual((kept.action, kept.reason), ("kept", "deleted"))


@tagged("post_install", "-at_install")
class TestDirectoryArchiveAndDelete(DirectoryCase):
    """Archiving a directory stops its imports and leaves its contacts as they are; deleting
    it releases them, and a directory of the same tenant finds them again."""

    def setUp(self):
        super().setUp()
        self.staff = self.simulator.add_users(
            {"upn": f"staff{n}@contoso.test", "display_name": f"Staff {n}"} for n in range(12)
        )
        self.Directory = self.env["microsoft.contacts.directory"]

    def _due_runs(self, directory):
        directory.next_sync_at = fields.Datetime.now()
        before = len(directory.run_ids)
        self.Directory._cron_import_directories()
        directory.invalidate_recordset(["run_ids"])
        return len(directory.run_ids) - before

    def test_an_archived_directory_is_not_imported_and_its_contacts_stay(self):
        directory = self._directory(removed_policy="archive")
        self._import(directory)
        partners = self.env["res.partner"].search(
            [("microsoft_entra_directory_id", "=", directory.id)]
        )
        self.assertEqual(len(partners), 12)

        directory.action_archive()
        self.simulator.delete_user(self.staff[0]["id"])
        self.assertEqual(self._due_runs(directory), 0)
        with self.assertRaisesRegex(UserError, "is archived"):
            directory.action_sync_now()
        self.assertTrue(all(partners.mapped("active")))
        self.assertEqual(partners.microsoft_entra_directory_id, directory)
        self.assertEqual(directory.partner_count, 12)

        directory.next_sync_at = "2999-01-01 00:00:00"
        directory.action_unarchive()
        self.assertLessEqual(directory.next_sync_at, fields.Datetime.now())
        self.assertEqual(self._due_runs(directory), 1)
        run = directory.run_ids.sorted("id")[-1]
        self.assertEqual(run.state, "done", run.message)
        self.assertFalse(run.full_sync)  # where it stopped
        self.assertEqual(run.count_archived, 1)

    def test_a_directory_archived_longer_than_the_delta_link_lives_reads_whole(self):
        directory = self._directory()
        self._import(directory)
        directory.action_archive()
        self.simulator.advance_time(8 * 24 * 3600)
        directory.action_unarchive()
        self.assertEqual(self._due_runs(directory), 1)
        self.assertTrue(directory.run_ids.sorted("id")[-1].full_sync)

    def test_deleting_a_directory_releases_its_contacts_and_another_relinks_them(self):
        directory = self._directory(removed_policy="archive")
        self._import(directory)
        waiting, leaver = self.staff[:11], self.staff[11]
        self.simulator.update_user(leaver["id"], accountEnabled=False)
        self._import(directory)  # 1 of 12: archived
        archived = self._partner(leaver)
        self.assertFalse(archived.active)
        for user in waiting:
            self.simulator.update_user(user["id"], accountEnabled=False)
        held = self._import(directory)  # 11 at once: held back, waiting for a decision
        self.assertEqual(held.count_archived, 0)
        partners = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("microsoft_entra_directory_id", "=", directory.id)])
        )
        tag = self.env.ref("microsoft_contacts.res_partner_category_entra")
        runs = directory.run_ids

        directory.unlink()
        self.assertFalse(runs.exists())
        self.assertEqual(len(partners.exists()), 12)
        self.assertFalse(any(partners.mapped("microsoft_entra_directory_id")))
        self.assertFalse(any(partners.mapped("microsoft_entra_archive_decision")))
        self.assertEqual(partners.filtered("active"), partners - archived)  # as they were
        self.assertTrue(all(tag in p.category_id for p in partners))
        self.assertEqual(
            set(partners.mapped("microsoft_entra_user_id")), {u["id"] for u in self.staff}
        )

        for user in self.staff:
            self.simulator.update_user(user["id"], accountEnabled=True)
        again = self._directory(removed_policy="keep")
        run = self._import(again)
        self.assertEqual(run.count_new, 0)
        self.assertEqual(
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("microsoft_entra_directory_id", "=", again.id)]),
            partners,
        )
        self.assertTrue(archived.active)  # archived by an import, its user is back
