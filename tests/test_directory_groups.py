from odoo.tests import tagged

from .common import DirectoryCase


@tagged("post_install", "-at_install")
class TestDirectoryGroups(DirectoryCase):
    """An import limited to groups reads the users delta and the groups' members: after the
    first import, only who changed, joined or left is imported, nested groups included."""

    def setUp(self):
        super().setUp()
        add = self.simulator.add_user
        self.belgians = [
            add(f"be{n}@contoso.test", display_name=f"Belgian {n}", jobTitle="Sales")
            for n in range(4)
        ]
        self.lead = add("lead@contoso.test", display_name="Sales Lead", jobTitle="Lead")
        self.outsider = add("outsider@contoso.test", display_name="Out Sider", jobTitle="IT")
        self.guest = add("guest@partner.test", display_name="Gus Guest", user_type="Guest")
        self.team = self.simulator.add_group(
            "Belgium team", members=[u["id"] for u in self.belgians] + [self.guest["id"]]
        )
        self.sales = self.simulator.add_group("Sales", members=[self.team["id"], self.lead["id"]])

    def _groups_directory(self, **values):
        directory = self._directory(scope="groups", **values)
        directory.group_ids = [(0, 0, {"group_object_id": self.sales["id"]})]
        return directory

    def _requests(self):
        return self.simulator.stats()["by_kind"]

    def test_after_the_first_import_only_changed_members_are_imported(self):
        directory = self._groups_directory()
        first = self._import(directory)
        self.assertTrue(first.full_sync)
        self.assertEqual(first.count_new, 5)
        self.assertFalse(self._partner(self.outsider))
        self.assertFalse(self._partner(self.guest))
        # Only the groups' members are listed, not the whole tenant.
        self.assertNotIn("users.list", self._requests())

        self.simulator.update_user(self.belgians[1]["id"], jobTitle="Sales Director")
        self.simulator.update_user(self.outsider["id"], jobTitle="IT Director")
        before = self._requests()
        run = self._import(directory)
        after = self._requests()
        self.assertFalse(run.full_sync)
        self.assertEqual((run.count_new, run.count_updated, run.count_unchanged), (0, 1, 0))
        self.assertEqual(run.line_ids.external_id, self.belgians[1]["id"])
        self.assertEqual(self._partner(self.belgians[1]).function, "Sales Director")
        self.assertFalse(self._partner(self.outsider))
        self.assertEqual(after["users.delta"] - before.get("users.delta", 0), 1)
        self.assertEqual(after["groups.transitiveMembers"] - before["groups.transitiveMembers"], 1)

        quiet = self._import(directory)
        self.assertFalse(quiet.full_sync)
        self.assertFalse(quiet.line_ids)

    def test_a_user_joining_a_nested_group_is_imported_unchanged(self):
        directory = self._groups_directory()
        self._import(directory)
        self.simulator.change_group_members(self.team["id"], add=[self.outsider["id"]])
        run = self._import(directory)
        self.assertFalse(run.full_sync)
        self.assertEqual(run.count_new, 1)
        partner = self._partner(self.outsider)
        self.assertEqual(partner.function, "IT")
        self.assertEqual(partner.microsoft_entra_directory_id, directory)

    def test_a_member_leaving_is_kept_or_archived_as_the_policy_says(self):
        keep = self._groups_directory()
        self._import(keep)
        self.simulator.change_group_members(self.team["id"], remove=[self.belgians[0]["id"]])
        run = self._import(keep)
        self.assertFalse(run.full_sync)
        line = run.line_ids
        self.assertEqual((line.action, line.partner_id), ("kept", self._partner(self.belgians[0])))
        self.assertIn("no longer in the chosen groups", line.reason)
        self.assertTrue(self._partner(self.belgians[0]).active)

    def test_with_archive_a_leaver_is_archived_and_comes_back_when_it_rejoins(self):
        directory = self._groups_directory(removed_policy="archive")
        self._import(directory)
        leaver = self.belgians[2]
        self.simulator.change_group_members(self.team["id"], remove=[leaver["id"]])
        run = self._import(directory)
        self.assertEqual(run.count_archived, 1)
        partner = self._partner(leaver)
        self.assertFalse(partner.active)
        self.assertTrue(partner.microsoft_entra_archived)

        self.simulator.change_group_members(self.sales["id"], add=[leaver["id"]])
        back = self._import(directory)
        self.assertFalse(back.full_sync)
        self.assertEqual(back.count_updated, 1)
        self.assertTrue(partner.active)

    def test_a_nested_group_taken_out_takes_its_members_along(self):
        directory = self._groups_directory()
        self._import(directory)
        self.simulator.change_group_members(self.sales["id"], remove=[self.team["id"]])
        run = self._import(directory)
        kept = run.line_ids.filtered(lambda line: line.action == "kept")
        self.assertEqual(set(kept.mapped("external_id")), {user["id"] for user in self.belgians})
        self.assertEqual(run.count_updated + run.count_new, 0)

    def test_a_member_deleted_in_entra_id_is_gone_as_deleted(self):
        directory = self._groups_directory(removed_policy="archive")
        self._import(directory)
        self.simulator.delete_user(self.lead["id"])
        run = self._import(directory)
        self.assertFalse(run.full_sync)
        line = run.line_ids
        self.assertEqual((line.action, line.reason), ("archived", "deleted"))

    def test_a_guest_member_is_left_out_once_not_at_every_import(self):
        directory = self._groups_directory()
        first = self._import(directory)
        guest_line = first.line_ids.filtered(lambda line: line.external_id == self.guest["id"])
        self.assertFalse(guest_line)  # never imported: nothing to keep or archive
        self.simulator.update_user(self.lead["id"], jobTitle="Head of Sales")
        run = self._import(directory)
        self.assertEqual(run.line_ids.external_id, self.lead["id"])

    def test_choosing_another_group_reads_its_members_whole(self):
        directory = self._groups_directory()
        self._import(directory)
        it = self.simulator.add_group("IT", members=[self.outsider["id"]])
        directory.group_ids = [(0, 0, {"group_object_id": it["id"]})]
        run = self._import(directory)
        self.assertTrue(run.full_sync)
        self.assertEqual(run.count_new, 1)
        self.assertEqual(run.count_unchanged, 5)

    def test_an_expired_delta_link_reads_the_members_whole_and_still_sees_leavers(self):
        directory = self._groups_directory()
        self._import(directory)
        self.simulator.change_group_members(self.sales["id"], remove=[self.lead["id"]])
        self.simulator.advance_time(8 * 24 * 3600)
        run = self._import(directory)
        self.assertTrue(run.full_sync)
        line = run.line_ids.filtered(lambda line: line.external_id == self.lead["id"])
        self.assertEqual(line.action, "kept")
        self.assertIn("no longer in the chosen groups", line.reason)
        self.assertEqual(run.count_unchanged, 4)

    def test_switching_to_all_users_reads_the_tenant_whole(self):
        directory = self._groups_directory()
        self._import(directory)
        directory.scope = "all"
        run = self._import(directory)
        self.assertTrue(run.full_sync)
        self.assertEqual(run.count_new, 1)  # the outsider; the guest stays out
        self.assertFalse(self._partner(self.guest))
