from contextlib import contextmanager
from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from .common import OutlookSyncCase, first_email

FOLDER = "Odoo Contacts"


@tagged("post_install", "-at_install")
class TestImportDefaultFolder(OutlookSyncCase):
    """The default Outlook Contacts folder imported one way into Odoo, next to the sync."""

    account_login = "ida_import"

    def setUp(self):
        super().setUp()
        self.account.sudo().write({"import_default_folder": True, "initial_sync_confirmed": True})

    # -- helpers ------------------------------------------------------------------------

    def _partners(self, email):
        return self.Partner.with_context(active_test=False).search([("email", "=ilike", email)])

    def _default_items(self):
        return {item["id"]: item for item in self.mailbox.contacts()}

    def _folder_items(self, email):
        folder = self.mailbox.folder(FOLDER)
        items = self.mailbox.contacts(folder["id"]) if folder else []
        return [item for item in items if first_email(item) == email]

    def _import_links(self):
        return self.env["microsoft.contacts.default.folder.link"].search(
            [("account_id", "=", self.account.id)]
        )

    def _world(self):
        """Anna in Odoo and in Outlook's Contacts; Bert only in Odoo; Carl only in Contacts;
        Dora in Contacts and in the synced folder (put there in Outlook)."""
        self.anna = self.Partner.create({"name": "Anna Both", "email": "anna@example.com"})
        self.bert = self.Partner.create({"name": "Bert Odoo", "email": "bert@example.com"})
        self.anna_item, self.carl_item, self.dora_item = self.mailbox.seed(
            [
                {
                    "displayName": "Anna Both",
                    "jobTitle": "CEO",
                    "emailAddresses": [{"address": "anna@example.com"}],
                },
                {
                    "displayName": "Carl Contacts",
                    "emailAddresses": [{"address": "carl@example.com"}],
                },
                {"displayName": "Dora Twice", "emailAddresses": [{"address": "dora@example.com"}]},
            ]
        )
        folder = self.mailbox.create_folder(FOLDER)
        self.mailbox.seed(
            [{"displayName": "Dora Twice", "emailAddresses": [{"address": "dora@example.com"}]}],
            folder_id=folder["id"],
        )

    # -- tests --------------------------------------------------------------------------

    def test_imports_one_way_and_matches_without_duplicates(self):
        self._world()
        before = {oid: item["changeKey"] for oid, item in self._default_items().items()}
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)

        # Into Odoo: Anna updated, Carl and Dora created, each once.
        self.assertEqual(self.anna.function, "CEO")
        for email in ("anna@example.com", "carl@example.com", "dora@example.com"):
            self.assertEqual(len(self._partners(email)), 1, email)
        carl, dora = self._partners("carl@example.com"), self._partners("dora@example.com")
        self.assertEqual(
            {link.outlook_id: link.partner_id for link in self._import_links()},
            {
                self.anna_item["id"]: self.anna,
                self.carl_item["id"]: carl,
                self.dora_item["id"]: dora,
            },
        )
        self.assertEqual(self.account.default_folder_id, self.anna_item["parentFolderId"])
        self.assertTrue(self.account.default_folder_delta_link)
        self.assertNotEqual(self.account.default_folder_delta_link, self.account.delta_link)

        # Outlook's Contacts folder is untouched.
        self.assertEqual(
            {oid: item["changeKey"] for oid, item in self._default_items().items()}, before
        )
        # The synced folder gets Bert; not Anna nor Carl (Outlook has them already); its
        # own Dora is linked to the Dora the import created.
        self.assertEqual(len(self._folder_items("bert@example.com")), 1)
        self.assertFalse(self._folder_items("anna@example.com"))
        self.assertFalse(self._folder_items("carl@example.com"))
        self.assertEqual(len(self._folder_items("dora@example.com")), 1)
        self.assertEqual(
            self.account.link_ids.filtered(lambda lk: lk.partner_id == dora).outlook_id,
            self._folder_items("dora@example.com")[0]["id"],
        )

        # Edits: from Outlook's Contacts they come in; from Odoo they never go back there.
        self.mailbox.edit(self.carl_item["id"], jobTitle="Buyer")
        carl.write({"mobile": "+32 470 12 34 56"})
        self.anna.write({"function": "Chair"})
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(carl.function, "Buyer")
        items = self._default_items()
        self.assertFalse(items[self.carl_item["id"]].get("mobilePhone"))
        self.assertEqual(items[self.anna_item["id"]]["jobTitle"], "CEO")
        self.assertEqual(items[self.anna_item["id"]]["changeKey"], before[self.anna_item["id"]])

        # Deleted in Outlook's Contacts: the partner stays, is no longer imported, and is
        # not brought back into the synced folder either.
        self.mailbox.delete(self.carl_item["id"])
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertTrue(carl.active)
        link = self._import_links().filtered(lambda lk: lk.partner_id == carl)
        self.assertTrue(link.detached)
        self.assertFalse(self._folder_items("carl@example.com"))
        self.assertEqual(len(self._default_items()), 2)

    def test_off_by_default_unless_settings_say_otherwise(self):
        Account = self.env["microsoft.contacts.account"]
        first = Account.create({"user_id": new_test_user(self.env, login="ola_off").id})
        self.assertFalse(first.import_default_folder)
        settings = self.env["res.config.settings"].create(
            {"microsoft_contacts_default_import_default_folder": True}
        )
        settings.execute()
        second = Account.create({"user_id": new_test_user(self.env, login="oscar_on").id})
        self.assertTrue(second.import_default_folder)

        self.account.sudo().import_default_folder = False
        self._world()
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertFalse(self._partners("carl@example.com"), "the Contacts folder is not read")
        self.assertFalse(self._import_links())
        # Without the import, Anna is a plain partner in scope: she goes to the synced folder.
        self.assertEqual(len(self._folder_items("anna@example.com")), 1)

    def test_a_failing_import_is_noted_and_the_sync_goes_on(self):
        self._world()
        self.simulator._call(
            "POST",
            "faults",
            json={"path_regex": r"/v1\.0/me/contacts\?", "method": "GET", "status": 400},
        )
        run = self._sync()
        self.assertEqual(run.state, "done", run.message)
        self.assertIn("Outlook Contacts folder could not be synced", run.message)
        self.assertEqual(len(self._folder_items("bert@example.com")), 1)
        self.assertFalse(self._partners("carl@example.com"))
        self.assertFalse(self.account.default_folder_delta_link)

        run = self._sync()  # the fault was used up: the import catches up
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(len(self._partners("carl@example.com")), 1)
        self.assertGreaterEqual(run.count_new, 1)
        self.assertTrue(self.account.default_folder_delta_link)

    @contextmanager
    def _watch_import(self):
        """What the import of each sync costs: its queries, and the partners it planned with."""
        seen = []
        Service = self.registry["microsoft.contacts.outlook.sync"]
        execute, read_odoo = Service._execute, Service._read_odoo

        def counted_execute(service, job, chosen=None):
            before = self.env.cr.sql_log_count
            execute(service, job, chosen)
            if job.target.name == "default_folder":
                seen[-1]["queries"] = self.env.cr.sql_log_count - before

        def recorded_read_odoo(service, job, changes):
            side = read_odoo(service, job, changes)
            if job.target.name == "default_folder":
                seen.append({"partners": {p.partner_id for p in side.partners}})
            return side

        with (
            patch.object(Service, "_execute", counted_execute),
            patch.object(Service, "_read_odoo", recorded_read_odoo),
        ):
            yield seen

    def test_only_the_partners_an_item_may_match_are_read_and_ambiguity_still_refuses(self):
        Partner = self.Partner.with_context(tracking_disable=True)
        twins = Partner.create(
            [
                {"name": "Twin One", "email": "twin@example.com"},
                {"name": "Twin Two", "email": " TWIN@example.com"},
            ]
        )
        be = self.env.ref("base.be")
        phoned = Partner.create({"name": "Phil", "phone": "0470 12 34 56", "country_id": be.id})
        sharers = Partner.create(
            [
                {"name": "Sam", "mobile": "+32 470 99 88 77"},
                {"name": "Sam Too", "phone": "0032 470/99.88.77 ext. 4", "country_id": be.id},
            ]
        )
        unrelated = Partner.create(
            [
                {"name": f"Other {i}", "email": f"other{i}@example.com", "phone": "+32 2 555 12 12"}
                for i in range(5)
            ]
        )
        twin_item, phil_item, sam_item = self.mailbox.seed(
            [
                {"displayName": "Twin", "emailAddresses": [{"address": "Twin@Example.com"}]},
                {"displayName": "Phil Outlook", "mobilePhone": "+32 470 12 34 56"},
                {"displayName": "Sam Outlook", "businessPhones": ["+32 470 99 88 77"]},
            ]
        )
        with self._watch_import() as seen:
            run = self._sync()
        self.assertEqual(run.state, "done", run.message)

        (planned,) = seen
        self.assertEqual(planned["partners"], set((twins | phoned | sharers).ids))
        self.assertFalse(planned["partners"] & set(unrelated.ids))
        links = {link.outlook_id: link.partner_id for link in self._import_links()}
        self.assertEqual(links[phil_item["id"]], phoned, "matched by its phone")
        # A shared phone: no match, a new partner. A shared email: no third contact with it.
        self.assertNotIn(links[sam_item["id"]], sharers)
        self.assertNotIn(twin_item["id"], links)
        self.assertEqual(len(self.Partner.search([("email", "=ilike", "%twin@example.com")])), 2)
        for item in (twin_item, sam_item):
            line = run.line_ids.filtered(lambda line, item=item: line.external_id == item["id"])
            self.assertIn("shared by 2 Odoo contacts", line.reason)
        twin_line = run.line_ids.filtered(lambda line: line.external_id == twin_item["id"])
        self.assertIn("not created in Odoo", twin_line.reason)

    def test_the_cost_of_an_import_does_not_grow_with_unrelated_partners(self):
        # The synced folder takes only the user's own contacts: none of those created here.
        self.account.sudo().sync_scope = "my"
        self._world()
        self._sync()

        def import_one(email, mobile):
            self.mailbox.seed(
                [
                    {
                        "displayName": email,
                        "emailAddresses": [{"address": email}],
                        "mobilePhone": mobile,
                    }
                ]
            )
            self.env.invalidate_all()  # each import starts from the same (empty) cache
            with self._watch_import() as seen:
                run = self._sync()
            self.assertEqual(run.state, "done", run.message)
            self.assertEqual(len(self._partners(email)), 1)
            return seen[0]

        before = import_one("new1@example.com", "+32 470 10 00 01")
        self.Partner.with_context(tracking_disable=True).create(
            [
                {
                    "name": f"Unrelated {i}",
                    "email": f"unrelated{i}@example.com",
                    "mobile": f"+32 2 {i:03d} 77 88",
                }
                for i in range(500)
            ]
        )
        self.env.flush_all()  # their stored computed fields are not the import's cost
        after = import_one("new2@example.com", "+32 470 10 00 02")
        # Planned with the linked partners only, one more of them: the first new contact.
        self.assertEqual(
            after["partners"] - before["partners"], set(self._partners("new1@example.com").ids)
        )
        self.assertEqual(before["partners"] - after["partners"], set())
        self.assertEqual(after["queries"], before["queries"])

    def test_the_import_follows_the_conflict_policy_and_the_users_exclusions(self):
        self._world()
        self._synced()
        # Both sides change Anna's job title; Odoo wins (the account's policy).
        self.assertEqual(self.account.conflict_policy, "odoo")
        self.anna.function = "Chair"
        self.mailbox.edit(self.anna_item["id"], jobTitle="Founder")
        run = self._synced()
        self.assertEqual(self.anna.function, "Chair")
        conflict = run.line_ids.filtered(lambda line: line.action == "conflict")
        self.assertEqual(conflict.partner_id, self.anna)
        # Carl, left out by the user, is no longer changed by the import either.
        carl = self._partners("carl@example.com")
        carl.with_user(self.account_user).action_microsoft_contacts_stop_sync()
        self.mailbox.edit(self.carl_item["id"], jobTitle="Overwritten?")
        run = self._synced()
        self.assertFalse(carl.function)
        self.assertFalse(run.line_ids.filtered(lambda line: line.partner_id == carl))
        self.assertEqual(len(self._partners("carl@example.com")), 1, "and not created again")
