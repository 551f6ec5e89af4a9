from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import DirectoryCase


@tagged("post_install", "-at_install")
class TestDirectoryMassArchive(DirectoryCase):
    """Too many users gone at once: their contacts wait for an administrator, across imports."""

    def setUp(self):
        super().setUp()
        self.staff = self.simulator.add_users(
            {"upn": f"staff{n}@contoso.test", "display_name": f"Staff {n}"} for n in range(15)
        )
        self.leavers = self.staff[:11]  # 11 of 15: over the guard's 10 %, at least 10
        self.directory = self._directory(removed_policy="archive")
        self._import(self.directory)
        self.admin = self.env.ref("base.user_admin")

    def _partners(self, users):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("microsoft_entra_user_id", "in", [user["id"] for user in users])])
        )

    def _pending_count(self):
        self.directory.invalidate_recordset(["archive_pending_count"])
        return self.directory.archive_pending_count

    def _decide(self, action):
        result = getattr(self.directory.with_user(self.admin), action)()
        return self.env["microsoft.contacts.sync.run"].browse(result["params"]["next"]["res_id"])

    def _hold_back(self, **change):
        for user in self.leavers:
            if change:
                self.simulator.update_user(user["id"], **change)
            else:
                self.simulator.delete_user(user["id"])
        run = self._import(self.directory)
        self.assertEqual(run.count_archived, 0)
        self.assertEqual(self._pending_count(), 11)
        return run

    def test_held_back_contacts_wait_through_a_delta_import_until_confirmed(self):
        held = self._hold_back()
        leavers = self._partners(self.leavers)
        self.assertEqual(len(leavers), 11)
        self.assertTrue(all(leavers.mapped("active")))
        self.assertEqual(set(leavers.mapped("microsoft_entra_archive_decision")), {"pending"})
        self.assertIn("11 contacts are waiting for a confirmation to be archived", held.message)
        self.assertIn("11 contacts are waiting", held.summary)

        # The delta link moved on: the next import does not see them again and loses nothing.
        self.simulator.update_user(self.staff[12]["id"], jobTitle="Buyer")
        later = self._import(self.directory)
        self.assertFalse(later.full_sync)
        self.assertEqual(later.count_updated, 1)
        self.assertFalse(later.line_ids.filtered(lambda line: line.partner_id in leavers))
        self.assertEqual(self._pending_count(), 11)
        self.assertIn("11 contacts are waiting", later.message)

        run = self._decide("action_confirm_archive")
        self.assertFalse(any(leavers.mapped("active")))
        self.assertTrue(all(leavers.mapped("microsoft_entra_archived")))
        self.assertFalse(any(leavers.mapped("microsoft_entra_archive_decision")))
        self.assertEqual(run.directory_id, self.directory)
        self.assertEqual(run.user_id, self.admin)
        self.assertEqual(run.count_archived, 11)
        self.assertEqual(run.line_ids.partner_id, leavers)
        self.assertEqual(set(run.line_ids.mapped("action")), {"archived"})
        self.assertEqual(self._pending_count(), 0)
        self.assertTrue(all(self._partners(self.staff[11:]).mapped("active")))
        self.assertFalse(self._import(self.directory).message)

    def test_keep_them_keeps_them_through_a_full_read(self):
        self._hold_back()
        leavers = self._partners(self.leavers)
        run = self._decide("action_keep_archive_pending")
        self.assertTrue(all(leavers.mapped("active")))
        self.assertEqual(set(leavers.mapped("microsoft_entra_archive_decision")), {"kept"})
        self.assertEqual(self._pending_count(), 0)
        self.assertEqual(run.count_archived, 0)
        self.assertEqual(run.line_ids.partner_id, leavers)
        self.assertEqual(set(run.line_ids.mapped("action")), {"kept"})

        # A full read finds them gone again: they stay, and nobody is asked again.
        self.directory._reset_delta()
        again = self._import(self.directory)
        self.assertTrue(again.full_sync)
        self.assertEqual(again.count_archived, 0)
        self.assertTrue(all(leavers.mapped("active")))
        self.assertEqual(self._pending_count(), 0)
        self.assertFalse(again.message)
        lines = again.line_ids.filtered(lambda line: line.partner_id in leavers)
        self.assertEqual(len(lines), 11)
        self.assertTrue(all("an administrator chose to keep it" in line.reason for line in lines))

    def test_a_user_back_in_entra_id_is_no_longer_waiting(self):
        self._hold_back(accountEnabled=False)
        back = self.leavers[0]
        self.simulator.update_user(back["id"], accountEnabled=True)
        run = self._import(self.directory)
        returned = self._partner(back)
        self.assertFalse(returned.microsoft_entra_archive_decision)
        self.assertEqual(self._pending_count(), 10)
        self.assertIn("10 contacts are waiting", run.message)

        self._decide("action_confirm_archive")
        self.assertTrue(returned.active)
        self.assertFalse(any(self._partners(self.leavers[1:]).mapped("active")))

    def test_only_an_administrator_decides(self):
        self._hold_back()
        user = new_test_user(
            self.env,
            login="entra_mass_archive_contacts_user",
            groups="base.group_user,base.group_partner_manager",
        )
        for action in ("action_confirm_archive", "action_keep_archive_pending"):
            with self.subTest(action=action), self.assertRaises(AccessError):
                getattr(self.directory.with_user(user), action)()
        self.assertEqual(self._pending_count(), 11)
        self.assertTrue(all(self._partners(self.leavers).mapped("active")))
