"""The "My Outlook Sync" page: who may change what, and the ways to reach it."""

from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, TransactionCase, new_test_user, tagged

from odoo.addons.microsoft_contacts.models.microsoft_contacts_account import (
    OWNER_WRITABLE_FIELDS,
)

from .common import HTTP_TAG

POLICIES = {
    "sync_direction": "odoo_to_outlook",
    "conflict_policy": "newest",
    "outlook_deletion": "archive",
    "odoo_deletion": "keep",
    "outlook_may_clear": True,
    "mass_delete_percent": 25,
    "mass_delete_minimum": 40,
    "sync_scope": "domain",
    "sync_domain": "[('function', '=', 'Buyer')]",
    "company_linking": "create",
    "include_companies": True,
    "sync_categories": True,
    "sync_photos": False,
    "folder_name": "Sales Contacts",
    "import_default_folder": True,
}


@tagged("post_install", "-at_install")
class TestMyOutlookPage(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(cls.env, login="page_alice", name="Page Alice")
        cls.bob = new_test_user(cls.env, login="page_bob", name="Page Bob")
        cls.admin = new_test_user(cls.env, login="page_admin", groups="base.group_system")
        Account = cls.env["microsoft.contacts.account"].sudo()
        cls.alice_account = Account.create({"user_id": cls.alice.id})
        cls.bob_account = Account.create(
            {"user_id": cls.bob.id, "token_cache": "bob-cache", "state": "connected"}
        )
        cls.vip = cls.env["res.partner.category"].create({"name": "Page VIP"})

    def test_policies_cover_what_the_page_edits(self):
        self.assertEqual(set(POLICIES) | {"sync_tag_ids"}, OWNER_WRITABLE_FIELDS)

    def test_owner_writes_every_policy(self):
        account = self.alice_account.with_user(self.alice)
        account.write({**POLICIES, "sync_tag_ids": [(6, 0, self.vip.ids)]})
        self.assertRecordValues(account, [POLICIES])
        self.assertEqual(account.sync_tag_ids, self.vip)

    def test_owner_saves_the_page_form(self):
        with Form(self.alice_account.with_user(self.alice)) as page:
            page.sync_scope = "tags"
            page.sync_tag_ids.add(self.vip)
            page.sync_direction = "outlook_to_odoo"
            page.mass_delete_percent = 5
        self.assertEqual(self.alice_account.sync_scope, "tags")
        self.assertEqual(self.alice_account.sync_tag_ids, self.vip)
        self.assertEqual(self.alice_account.sync_direction, "outlook_to_odoo")
        self.assertEqual(self.alice_account.mass_delete_percent, 5)

    def test_owner_cannot_write_anything_else(self):
        account = self.alice_account.with_user(self.alice)
        partner = self.env["res.partner"].create({"name": "Not Mine To Hide"})
        for vals in (
            {"state": "connected"},
            {"last_error": False},
            {"microsoft_username": "someone@contoso.test"},
            {"last_sync_at": "2024-01-01 00:00:00"},
            {"excluded_partner_ids": [(4, partner.id)]},
            {"user_id": self.bob.id},
            {"token_cache": "forged"},
            {"delta_link": False},
            {"sync_direction": "two_way", "folder_id": "elsewhere"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                account.write(vals)
        self.assertEqual(self.alice_account.state, "not_connected")
        self.assertEqual(self.alice_account.user_id, self.alice)
        self.assertFalse(self.alice_account.excluded_partner_ids)

    def test_owner_cannot_write_another_account(self):
        with self.assertRaises(AccessError):
            self.bob_account.with_user(self.alice).write({"sync_direction": "outlook_to_odoo"})
        self.assertEqual(self.bob_account.sync_direction, "two_way")

    def test_admin_writes_any_account(self):
        self.bob_account.with_user(self.admin).write(
            {"sync_scope": "all", "state": "paused", "last_error": "Paused by the admin."}
        )
        self.assertEqual(self.bob_account.sync_scope, "all")
        self.assertEqual(self.bob_account.state, "paused")

    def test_owner_cannot_create_or_delete_accounts(self):
        Account = self.env["microsoft.contacts.account"].with_user(self.alice)
        with self.assertRaises(AccessError):
            Account.create({"user_id": self.alice.id})
        with self.assertRaises(AccessError):
            self.alice_account.with_user(self.alice).unlink()

    def test_page_shows_synced_contacts_and_runs(self):
        Partner = self.env["res.partner"]
        anna, bert, carl = Partner.create(
            [{"name": "Anna Page"}, {"name": "Bert Page"}, {"name": "Carl Page"}]
        )
        Link = self.env["microsoft.contacts.link"].sudo()
        Link.create(
            [
                {"account_id": self.alice_account.id, "partner_id": anna.id, "outlook_id": "a"},
                {
                    "account_id": self.alice_account.id,
                    "partner_id": bert.id,
                    "outlook_id": "b",
                    "detached": True,
                },
                {"account_id": self.bob_account.id, "partner_id": carl.id, "outlook_id": "c"},
            ]
        )
        Run = self.env["microsoft.contacts.sync.run"].sudo()
        runs = Run.create([{"source": "outlook", "account_id": self.alice_account.id}] * 12)
        Run.create({"source": "outlook", "account_id": self.bob_account.id})

        account = self.alice_account.with_user(self.alice)
        self.assertEqual(account.synced_partner_count, 1)
        self.assertEqual(account.sync_run_count, 12)
        self.assertEqual(account.sync_run_ids, runs)

        action = account.action_open_synced_partners()
        self.assertEqual(Partner.with_user(self.alice).search(action["domain"]), anna)
        action = account.action_open_sync_runs()
        self.assertEqual(
            self.env[action["res_model"]].with_user(self.alice).search(action["domain"]), runs
        )
        # The page's embedded list shows the last ten runs first.
        arch = account.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('limit="10"', arch)

    def test_preferences_button_opens_own_account(self):
        preferences = self.env.ref("base.view_users_form_simple_modif")
        arch = (
            self.env["res.users"]
            .with_user(self.alice)
            .get_views([(preferences.id, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="action_open_microsoft_contacts_account"', arch)

        action = self.alice.with_user(self.alice).action_open_microsoft_contacts_account()
        self.assertEqual(action["res_model"], "microsoft.contacts.account")
        self.assertEqual(action["res_id"], self.alice_account.id)

    def test_preferences_button_creates_the_account_on_first_use(self):
        carol = new_test_user(self.env, login="page_carol", name="Page Carol")
        action = carol.with_user(carol).action_open_microsoft_contacts_account()
        account = self.env["microsoft.contacts.account"].browse(action["res_id"])
        self.assertEqual(account.user_id, carol)

    def test_preferences_button_refuses_someone_else(self):
        with self.assertRaises(AccessError):
            self.bob.with_user(self.alice).action_open_microsoft_contacts_account()

    def test_menu_reaches_the_page_for_every_internal_user(self):
        menu = self.env.ref("microsoft_contacts.menu_microsoft_contacts_my_account")
        visible = self.env["ir.ui.menu"].with_user(self.alice)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        self.assertIn(menu.parent_id.id, visible)
        action = menu.action.with_user(self.alice).run()
        self.assertEqual(action["res_id"], self.alice_account.id)


@tagged("post_install", "-at_install", HTTP_TAG)
class TestMyOutlookPageInBrowser(HttpCase):
    """The page and the partner's Outlook tab render for a plain user, in a real browser."""

    def test_page_and_partner_tab_render(self):
        user = new_test_user(self.env, login="page_browser", name="Page Browser")
        account = self.env["microsoft.contacts.account"].create({"user_id": user.id})
        anna = self.env["res.partner"].create({"name": "Anna Browser"})
        self.env["microsoft.contacts.link"].create(
            {"account_id": account.id, "partner_id": anna.id, "outlook_id": "anna-item"}
        )
        self.env["microsoft.contacts.sync.run"].create(
            {"source": "outlook", "account_id": account.id, "state": "done", "count_new": 3}
        )
        self.browser_js(
            "/odoo/action-microsoft_contacts.action_microsoft_contacts_account_my",
            """
            const form = document.querySelector(".o_form_view");
            for (const name of ["sync_scope", "sync_direction", "outlook_deletion",
                                "company_linking", "synced_partner_count"]) {
                if (!form.querySelector(`.o_field_widget[name="${name}"]`)) {
                    throw new Error(`the page misses ${name}`);
                }
            }
            if (!form.querySelector('button[name="action_connect"]')) {
                throw new Error("no connect button");
            }
            console.log("test successful");
            """,
            ready="!!document.querySelector('.o_form_view .o_field_widget[name=sync_scope]')",
            login="page_browser",
        )
        self.browser_js(
            f"/odoo/contacts/{anna.id}",
            """
            const tab = [...document.querySelectorAll(".o_notebook .nav-link")]
                .find((link) => link.textContent.trim() === "Outlook");
            if (!tab) { throw new Error("no Outlook tab"); }
            const button = document.querySelector(".oe_stat_button .o_stat_info");
            if (!button || !button.textContent.includes("In your Outlook")) {
                throw new Error("no Outlook smart button");
            }
            console.log("test successful");
            """,
            ready="!!document.querySelector('.o_form_view .o_notebook')",
            login="page_browser",
        )

    def test_preferences_lead_to_the_page(self):
        user = new_test_user(self.env, login="page_prefs", name="Page Prefs")
        self.browser_js(
            "/odoo/contacts",
            """
            const waitFor = (selector) => new Promise((resolve, reject) => {
                let tries = 0;
                const timer = setInterval(() => {
                    const node = document.querySelector(selector);
                    if (node) { clearInterval(timer); resolve(node); }
                    else if (++tries > 100) {
                        clearInterval(timer);
                        reject(new Error(`not found: ${selector}`));
                    }
                }, 100);
            });
            (async () => {
                (await waitFor(".o_user_menu .dropdown-toggle")).click();
                (await waitFor('.dropdown-item[data-menu="settings"]')).click();
                (await waitFor('.modal button[name="action_open_microsoft_contacts_account"]'))
                    .click();
                await waitFor('.o_form_view .o_field_widget[name="sync_scope"]');
                const title = document.querySelector('.o_form_view .oe_title').textContent;
                if (!title.includes("Page Prefs")) {
                    throw new Error(`opened the page of ${title}`);
                }
                console.log("test successful");
            })().catch((error) => console.error(error.message));
            """,
            # Once the contacts are shown: a later home action would close the dialog.
            ready="!!document.querySelector('.o_action_manager .o_view_controller')",
            login="page_prefs",
        )
        account = self.env["microsoft.contacts.account"].search([("user_id", "=", user.id)])
        self.assertEqual(len(account), 1, "created on first use")
