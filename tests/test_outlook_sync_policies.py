"""Account policies of the Outlook sync, end to end against the simulator: deletions both
ways, several users sharing one partner, bad records, throttling, scopes, Settings defaults
and company linking."""

from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.microsoft_contacts.graph.client import GraphClient

from .common import (
    FOLDER,
    OutlookMailbox,
    OutlookSyncCase,
    first_email,
    new_contacts_user,
    person,
    sign_in_account,
)


@tagged("post_install", "-at_install")
class TestOutlookSyncPolicies(OutlookSyncCase):
    account_login = "olivia_policies"

    def _pair(self):
        """Anna linked: created in Odoo, pushed to Outlook by a first run."""
        anna = self.Partner.create({"name": "Anna Policy", "email": "anna.policy@example.com"})
        self._synced()
        items = self._items("anna.policy@example.com")
        self.assertEqual(len(items), 1)
        self.assertEqual(self._link(anna).outlook_id, items[0]["id"])
        return anna, items[0]

    # -- 1. deletion policies -------------------------------------------------------------

    def test_outlook_deletion_archive_archives_the_partner(self):
        self.account.outlook_deletion = "archive"
        anna, item = self._pair()
        self.mailbox.delete(item["id"])
        run = self._synced()
        self.assertTrue(anna.exists(), "archived, never unlinked")
        self.assertFalse(anna.active)
        self.assertEqual(run.count_archived, 1)
        self.assertTrue(
            run.line_ids.filtered(lambda ln: ln.partner_id == anna and ln.action == "archived")
        )
        self.assertFalse(self._items("anna.policy@example.com"), "not re-created in Outlook")
        again = self._synced()
        self.assertFalse(self._items("anna.policy@example.com"))
        self.assertEqual(again.count_new, 0)

    def test_outlook_deletion_recreate_creates_it_again(self):
        self.account.outlook_deletion = "recreate"
        anna, item = self._pair()
        self.mailbox.delete(item["id"])
        run = self._synced()
        self.assertTrue(anna.active)
        items = self._items("anna.policy@example.com")
        self.assertEqual(len(items), 1, "back in Outlook, once")
        self.assertNotEqual(items[0]["id"], item["id"])
        self.assertEqual(self._link(anna).outlook_id, items[0]["id"])
        self.assertFalse(self._link(anna).detached)
        self.assertTrue(
            run.line_ids.filtered(
                lambda ln: ln.partner_id == anna
                and (ln.action, ln.direction) == ("created", "to_outlook")
            )
        )
        self._synced()
        self.assertEqual(len(self._items("anna.policy@example.com")), 1, "no echo")

    def test_odoo_archive_deletes_in_outlook(self):
        self.account.odoo_deletion = "delete_in_outlook"
        anna, item = self._pair()
        anna.active = False
        run = self._synced()
        self.assertFalse(self._items("anna.policy@example.com"))
        self.assertFalse(self._link(anna).filtered(lambda lk: not lk.detached))
        self.assertTrue(
            run.line_ids.filtered(
                lambda ln: ln.partner_id == anna
                and (ln.action, ln.direction) == ("deleted", "to_outlook")
            )
        )
        self.assertTrue(anna.exists())

    def test_odoo_archive_keep_leaves_the_outlook_copy(self):
        self.account.odoo_deletion = "keep"
        anna, item = self._pair()
        anna.active = False
        self._synced()
        items = self._items("anna.policy@example.com")
        self.assertEqual([i["id"] for i in items], [item["id"]])
        self.assertTrue(self._link(anna).detached)
        # The frozen pair is not touched again, whatever changes.
        self.mailbox.edit(item["id"], jobTitle="Kept Alone")
        self._synced()
        self.assertFalse(anna.function)
        self.assertFalse(anna.active)

    # -- 2. several users, one partner ------------------------------------------------------

    def test_two_users_one_partner(self):
        adele = self.simulator.add_user("adele@contoso.test", display_name="Adele Vance")
        mailbox_b = OutlookMailbox(self.simulator, adele["id"])
        bruno = new_contacts_user(self.env, "bruno_policies")
        account_b = self.env["microsoft.contacts.account"].create({"user_id": bruno.id})
        sign_in_account(
            account_b, self.simulator, self.redirect_uri, login_hint="adele@contoso.test"
        )
        self.assertEqual(account_b.state, "connected")

        # The same person in both Outlooks, not yet in Odoo.
        (item_a,) = self._seed([person("Sam", "Shared", "sam.shared@example.com")])
        (item_b,) = self._seed(
            [person("Sam", "Shared", "SAM.shared@example.com")], mailbox=mailbox_b
        )
        self._synced()
        self._synced(account_b)
        sam = self._partners("sam.shared@example.com")
        self.assertEqual(len(sam), 1, "one partner, no duplicate")
        self.assertEqual(self._link(sam).outlook_id, item_a["id"])
        self.assertEqual(self._link(sam, account_b).outlook_id, item_b["id"])
        self.assertEqual(len(self._items("sam.shared@example.com")), 1)
        self.assertEqual(len(self._items("sam.shared@example.com", mailbox_b)), 1)

        # An edit in A's Outlook reaches Odoo at A's run, then B's Outlook at B's run.
        self.mailbox.edit(item_a["id"], jobTitle="Edited By A")
        self._synced()
        self.assertEqual(sam.function, "Edited By A")
        self.assertNotEqual(
            self._items("sam.shared@example.com", mailbox_b)[0].get("jobTitle"), "Edited By A"
        )
        self._synced(account_b)
        self.assertEqual(
            self._items("sam.shared@example.com", mailbox_b)[0].get("jobTitle"), "Edited By A"
        )
        # And back: an edit in B's Outlook reaches A's Outlook.
        mailbox_b.edit(item_b["id"], jobTitle="Edited By B")
        self._synced(account_b)
        self._synced()
        self.assertEqual(sam.function, "Edited By B")
        self.assertEqual(self._items("sam.shared@example.com")[0].get("jobTitle"), "Edited By B")
        self.assertEqual(len(self._partners("sam.shared@example.com")), 1)
        self.assertEqual(
            len(self.env["microsoft.contacts.link"].search([("partner_id", "=", sam.id)])), 2
        )

    def test_two_users_partner_created_in_odoo_goes_to_both(self):
        adele = self.simulator.add_user("adele@contoso.test", display_name="Adele Vance")
        mailbox_b = OutlookMailbox(self.simulator, adele["id"])
        bruno = new_contacts_user(self.env, "bruno_policies")
        account_b = self.env["microsoft.contacts.account"].create({"user_id": bruno.id})
        sign_in_account(
            account_b, self.simulator, self.redirect_uri, login_hint="adele@contoso.test"
        )
        odo = self.Partner.create({"name": "Odo Both", "email": "odo.both@example.com"})
        self._synced()
        self._synced(account_b)
        self.assertEqual(len(self._items("odo.both@example.com")), 1)
        self.assertEqual(len(self._items("odo.both@example.com", mailbox_b)), 1)
        self.assertTrue(self._link(odo))
        self.assertTrue(self._link(odo, account_b))

    # -- 3. bad records ---------------------------------------------------------------------

    def test_bad_outlook_records_are_clear_lines_and_the_rest_syncs(self):
        self._seed(
            [
                person("Good", "One", "good.one@example.com"),
                person("Bad", "Email", "bad..email@@example"),
                person(
                    "Far",
                    "Away",
                    "far.away@example.com",
                    businessAddress={"city": "Atlantis", "countryOrRegion": "Narnia"},
                ),
                person(
                    "Html",
                    "Notes",
                    "html.notes@example.com",
                    personalNotes="<b>bold</b> <script>alert(1)</script> & more",
                ),
                {
                    "displayName": "L" * 10240,
                    "emailAddresses": [{"address": "long.name@example.com"}],
                },
            ]
        )
        run = self._synced()
        lines = run.line_ids

        def line_of(email):
            return lines.filtered(lambda ln: (ln.email or "").lower() == email)

        good = self._partners("good.one@example.com")
        self.assertEqual(len(good), 1)
        self.assertTrue(self._link(good))

        bad = line_of("bad..email@@example")
        self.assertEqual(bad.mapped("status"), ["failed"], lines.mapped("reason"))
        self.assertEqual(bad.action, "refused")
        self.assertIn("mail", bad.reason.lower())
        self.assertFalse(self._partners("bad..email@@example"))

        far = self._partners("far.away@example.com")
        self.assertEqual(len(far), 1, "an unknown country is a warning: the record syncs")
        self.assertFalse(far.country_id)
        self.assertEqual(far.city, "Atlantis")
        self.assertIn("Narnia", line_of("far.away@example.com").reason or "")

        html = self._partners("html.notes@example.com")
        self.assertEqual(len(html), 1)
        self.assertIn("&lt;b&gt;", html.comment, "Outlook notes are text: escaped, not markup")
        self.assertNotIn("<script>", html.comment)

        long_line = line_of("long.name@example.com")
        self.assertEqual(long_line.mapped("status"), ["failed"], lines.mapped("reason"))
        self.assertIn("10240 characters", long_line.reason)
        self.assertLessEqual(len(long_line.name or ""), 10240)
        self.assertFalse(self._partners("long.name@example.com"))
        self.assertEqual(run.count_failed, 2)

    def test_payloads_the_simulator_refuses_are_refused_per_record(self):
        """Four emails and wrong-typed fields: the simulator refuses to store them (like
        Graph), so they are put into the delta answer the adapter reads."""
        self._seed(
            [
                person("Good", "Two", "good.two@example.com"),
                person("Four", "Emails", "four.emails@example.com"),
                person("Wrong", "Types", "wrong.types@example.com"),
                person("Number", "Title", "number.title@example.com"),
            ]
        )
        original = GraphClient.delta

        def delta(client, *args, **kwargs):
            result = original(client, *args, **kwargs)
            for item in result.items:
                email = first_email(item)
                if email == "four.emails@example.com":
                    item["emailAddresses"] = [
                        {"address": f"four{i}@example.com"} for i in range(3)
                    ] + item["emailAddresses"]
                elif email == "wrong.types@example.com":
                    item["businessPhones"] = "+32 2 555 12 12"
                elif email == "number.title@example.com":
                    item["jobTitle"] = 42
            return result

        with patch.object(GraphClient, "delta", delta):
            run = self._synced()
        lines = run.line_ids
        failed = lines.filtered(lambda ln: ln.status == "failed")
        self.assertEqual(
            failed.mapped("email"), ["wrong.types@example.com"], lines.mapped("reason")
        )
        self.assertEqual(failed.action, "refused")
        self.assertIn("businessPhones", failed.reason)
        self.assertFalse(self._partners("wrong.types@example.com"))
        self.assertEqual(len(self._partners("good.two@example.com")), 1)
        number = self._partners("number.title@example.com")
        self.assertEqual(number.function, "42", "a number where text was expected: a warning")
        number_line = lines.filtered(lambda ln: ln.email == "number.title@example.com")
        self.assertIn("jobTitle", number_line.reason)
        # More emails than Outlook holds: the first one is synced, the line says so.
        self.assertEqual(len(self._partners("four0@example.com")), 1)
        four_line = lines.filtered(lambda ln: ln.email == "four0@example.com")
        self.assertEqual(four_line.status, "success")
        self.assertIn("4 email addresses", four_line.reason)

    def test_titles_and_categories_are_found_by_name_or_created_once(self):
        self.account.sync_categories = True
        Tag = self.env["res.partner.category"]
        vip = Tag.create({"name": "VIP"})
        wildcard = Tag.create({"name": "A_B"})  # "_" must not match any character
        doctor = self.env["res.partner.title"].create({"name": "Dr. Outlook"})
        self._seed(
            [
                person(
                    "Tia",
                    "One",
                    "tia.one@example.com",
                    title="dr. outlook",
                    categories=["vip", "Fresh Tag"],
                ),
                person(
                    "Tia",
                    "Two",
                    "tia.two@example.com",
                    title="Sir Outlook",
                    categories=["VIP", "fresh tag", "AxB"],
                ),
                person("Tia", "Three", "tia.three@example.com", title="sir outlook"),
            ]
        )
        self._synced()
        one, two, three = (self._partners(f"tia.{n}@example.com") for n in ("one", "two", "three"))
        self.assertEqual(one.title, doctor)
        self.assertEqual(
            self.env["res.partner.title"].search([("name", "=ilike", "sir outlook")]), two.title
        )
        self.assertEqual(three.title, two.title, "created once, then found whatever the case")
        fresh = Tag.search([("name", "=ilike", "fresh tag")])
        self.assertEqual(len(fresh), 1)
        self.assertEqual(one.category_id, vip | fresh)
        axb = Tag.search([("name", "=", "AxB")])
        self.assertEqual(len(axb), 1, "a tag of its own, not A_B")
        self.assertEqual(two.category_id, vip | fresh | axb)
        self.assertNotIn(wildcard, two.category_id)

    # -- 4. throttling ----------------------------------------------------------------------

    def test_throttling_storm_the_run_completes(self):
        self.simulator.configure(rate_limit=15, rate_window=1.0, max_concurrent=1)
        self.Partner.create(
            [{"name": f"Storm {i:02d}", "email": f"storm{i:02d}@example.com"} for i in range(60)]
        )
        run = self._synced()
        self.assertGreaterEqual(run.count_new, 60, run.line_ids.mapped("reason"))
        self.assertEqual(run.count_failed, 0)
        items = self.mailbox.contacts(self.mailbox.folder(FOLDER)["id"])
        storm = [i for i in items if first_email(i).startswith("storm")]
        self.assertEqual(len(storm), 60)
        self.assertEqual(len({first_email(i) for i in storm}), 60, "each created once")
        self.assertGreater(self.simulator.stats()["throttled_total"], 0, "it did storm")
        self.assertEqual(
            len(self.account.link_ids.filtered(lambda lk: lk.partner_id.name.startswith("Storm"))),
            60,
        )

    # -- 5. scopes --------------------------------------------------------------------------

    def test_scope_my_contacts(self):
        self.account.sync_scope = "my"
        mine = self.Partner.create(
            {"name": "Mine Only", "email": "mine.only@example.com", "user_id": self.account_user.id}
        )
        self.Partner.create({"name": "Not Mine", "email": "not.mine@example.com"})
        self._synced()
        self.assertEqual(len(self._items("mine.only@example.com")), 1)
        self.assertFalse(self._items("not.mine@example.com"))
        self.assertTrue(self._link(mine))

    def test_scope_tags(self):
        vip = self.env["res.partner.category"].create({"name": "VIP Sync"})
        self.account.write({"sync_scope": "tags", "sync_tag_ids": [(6, 0, vip.ids)]})
        self.Partner.create(
            {"name": "Tagged One", "email": "tagged.one@example.com", "category_id": vip.ids}
        )
        self.Partner.create({"name": "Untagged One", "email": "untagged.one@example.com"})
        self._synced()
        self.assertEqual(len(self._items("tagged.one@example.com")), 1)
        self.assertFalse(self._items("untagged.one@example.com"))

    def test_scope_custom_domain(self):
        self.account.write(
            {"sync_scope": "domain", "sync_domain": "[('function', '=', 'Domain Buyer')]"}
        )
        self.Partner.create(
            {"name": "In Domain", "email": "in.domain@example.com", "function": "Domain Buyer"}
        )
        self.Partner.create({"name": "Out Domain", "email": "out.domain@example.com"})
        self._synced()
        self.assertEqual(len(self._items("in.domain@example.com")), 1)
        self.assertFalse(self._items("out.domain@example.com"))

    def test_scope_invalid_domain_is_refused_and_fails_the_run_readably(self):
        self.Partner.create({"name": "Never Sent", "email": "never.sent@example.com"})
        bad_ones = (
            "[('no_such_field', '=', 1)]",
            "[('name', '=',",
            "__import__('os')",
            "42",
            "[('id', 'in', list(range(10 ** 9)))]",  # code, not data: never evaluated
            "[('name', '=', '" + "x" * 3000 + "')]",
            str([("name", "=", str(n)) for n in range(60)]),
        )
        for bad in bad_ones:
            with self.assertRaises(ValidationError, msg=bad), self.cr.savepoint():
                self.account.write({"sync_scope": "domain", "sync_domain": bad})
            # Saved before the check existed, or a field gone since: the run fails readably.
            self.account.sudo()._write({"sync_scope": "domain", "sync_domain": bad})
            run = self._sync()
            self.assertEqual(run.state, "failed", bad)
            self.assertIn("custom domain", run.message)
        self.assertFalse(self._items("never.sent@example.com"))
        self.account.write({"sync_domain": "[('user_id', '=', uid), ('color', '>', -1)]"})
        self.assertEqual(self._sync().state, "done")

    # -- 6. Settings defaults ---------------------------------------------------------------

    def test_new_accounts_take_the_settings_defaults(self):
        settings = self.env["res.config.settings"].create(
            {
                "microsoft_contacts_default_direction": "odoo_to_outlook",
                "microsoft_contacts_default_conflict_policy": "newest",
                "microsoft_contacts_default_outlook_deletion": "archive",
                "microsoft_contacts_default_odoo_deletion": "keep",
                "microsoft_contacts_default_folder_name": "From Odoo",
                "microsoft_contacts_default_scope": "my",
            }
        )
        settings.execute()
        user = new_test_user(self.env, login="nina_defaults", name="Nina Defaults")
        account = self.env["microsoft.contacts.account"].with_user(user)._get_my_account()
        self.assertEqual(
            account.sudo().read(
                [
                    "sync_direction",
                    "conflict_policy",
                    "outlook_deletion",
                    "odoo_deletion",
                    "folder_name",
                    "sync_scope",
                ]
            )[0],
            {
                "id": account.id,
                "sync_direction": "odoo_to_outlook",
                "conflict_policy": "newest",
                "outlook_deletion": "archive",
                "odoo_deletion": "keep",
                "folder_name": "From Odoo",
                "sync_scope": "my",
            },
        )
        # The existing account keeps its own choices; a bad parameter falls back.
        self.assertEqual(self.account.sync_direction, "two_way")
        self.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts.default_direction", "sideways"
        )
        other = new_test_user(self.env, login="omar_defaults", name="Omar Defaults")
        account = self.env["microsoft.contacts.account"].create({"user_id": other.id})
        self.assertEqual(account.sync_direction, "two_way")

    # -- 7. company linking -----------------------------------------------------------------

    def test_company_linking(self):
        self.account.company_linking = "create"
        Company = self.Partner.with_context(active_test=False)
        first = Company.create({"name": "Fabrikam", "is_company": True})
        Company.create({"name": "FABRIKAM", "is_company": True})  # created later
        northwind = Company.create({"name": "Northwind Traders SA", "is_company": True})
        Company.create({"name": "Tailspin Toys", "is_company": True})
        Company.create({"name": "Tailspin Toys Europe", "is_company": True})
        self._seed(
            [
                person("Exact", "Name", "exact.name@example.com", companyName="fabrikam"),
                person("Sub", "String", "sub.string@example.com", companyName="Northwind"),
                person("Two", "Matches", "two.matches@example.com", companyName="Tailspin"),
                person("Brand", "New", "brand.new@example.com", companyName="Woodgrove Bank"),
            ]
        )
        self._synced()
        self.assertEqual(self._partners("exact.name@example.com").parent_id, first)
        self.assertEqual(self._partners("sub.string@example.com").parent_id, northwind)
        # Two substring matches and no exact one: a new company.
        tailspin = self._partners("two.matches@example.com").parent_id
        self.assertEqual(tailspin.name, "Tailspin")
        self.assertTrue(tailspin.is_company)
        woodgrove = self._partners("brand.new@example.com").parent_id
        self.assertEqual(woodgrove.name, "Woodgrove Bank")
        self.assertEqual(len(Company.search([("name", "=", "Woodgrove Bank")])), 1)
        # Outlook then shows the linked company's name, and the next run is quiet.
        self._synced()
        self.assertEqual(self._items("sub.string@example.com")[0]["companyName"], northwind.name)
        quiet = self._synced()
        self.assertEqual(quiet.count_updated + quiet.count_new, 0, quiet.line_ids.mapped("reason"))

    def test_company_linking_never_overwrites_an_address(self):
        """Odoo gives a company's contacts the company's address: a contact whose own address
        differs keeps it and the company name as text."""
        self.account.company_linking = "create"
        belgium = self.env.ref("base.be")
        company = self.Partner.create(
            {
                "name": "Fabrikam Offices",
                "is_company": True,
                "street": "1 Company Way",
                "city": "Brussels",
                "zip": "1000",
                "country_id": belgium.id,
            }
        )

        def address(street, city, zip_code, country):
            return {
                "street": street,
                "city": city,
                "postalCode": zip_code,
                "countryOrRegion": country,
            }

        paris = address("9 Rue Autre", "Paris", "75001", "France")
        same = address("1 Company Way", "Brussels", "1000", "Belgium")
        self._seed(
            [
                person(
                    "Own",
                    "Address",
                    "own.address@example.com",
                    companyName="Fabrikam Offices",
                    businessAddress=paris,
                ),
                person("No", "Address", "no.address@example.com", companyName="Fabrikam Offices"),
                person(
                    "Same",
                    "Address",
                    "same.address@example.com",
                    companyName="Fabrikam Offices",
                    businessAddress=same,
                ),
                person(
                    "First",
                    "Newco",
                    "first.newco@example.com",
                    companyName="Newco Partners",
                    businessAddress=same,
                ),
                person(
                    "Second",
                    "Newco",
                    "second.newco@example.com",
                    companyName="Newco Partners",
                    businessAddress=paris,
                ),
            ]
        )
        run = self._synced()
        own = self._partners("own.address@example.com")
        self.assertFalse(own.parent_id)
        self.assertEqual(own.company_name, "Fabrikam Offices")
        self.assertEqual((own.street, own.city), ("9 Rue Autre", "Paris"))
        own_line = run.line_ids.filtered(lambda ln: ln.email == "own.address@example.com")
        self.assertIn("not linked to the company Fabrikam Offices", own_line.reason)
        self.assertEqual(self._partners("no.address@example.com").parent_id, company)
        self.assertEqual(self._partners("same.address@example.com").parent_id, company)
        # A new company takes its first contact's address; the second keeps its own.
        first, second = (self._partners(f"{n}.newco@example.com") for n in ("first", "second"))
        self.assertEqual(first.parent_id.name, "Newco Partners")
        self.assertEqual(first.street, "1 Company Way")
        self.assertFalse(second.parent_id)
        self.assertEqual((second.street, second.city), ("9 Rue Autre", "Paris"))
        # Outlook keeps the addresses it had.
        self._synced()
        for email in ("own.address@example.com", "second.newco@example.com"):
            item = self._items(email)[0]
            self.assertEqual(item["businessAddress"]["city"], "Paris", email)

    def test_company_linking_keep_text(self):
        self.assertEqual(self.account.company_linking, "text", "the default")
        self._seed([person("Text", "Only", "text.only@example.com", companyName="Nowhere Ltd")])
        self._synced()
        partner = self._partners("text.only@example.com")
        self.assertFalse(partner.parent_id)
        self.assertEqual(partner.company_name, "Nowhere Ltd")
        self.assertFalse(self.Partner.search([("name", "=", "Nowhere Ltd")]))
