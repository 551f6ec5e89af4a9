"""Contacts as people keep them, end to end against the simulator, synced by a user who is not
an administrator: what Outlook holds beyond Odoo's fields survives every update and a contact
created again; the home address of a contact without a business one; field by field
directions set in Settings."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.microsoft_contacts.sync.mapping import FIELDS, OUTLOOK_ONLY

from .common import OutlookSyncCase

RICH = {
    "displayName": "Jean Luc Picard",
    "givenName": "Jean",
    "middleName": "Luc",
    "surname": "Picard",
    "nickName": "JL",
    "initials": "J.L.P.",
    "generation": "Sr.",
    "fileAs": "Picard, Jean",
    "title": "Captain",
    "jobTitle": "Commanding officer",
    "companyName": "Starfleet",
    "department": "Command",
    "officeLocation": "Bridge",
    "profession": "Officer",
    "manager": "Admiral Nechayev",
    "assistantName": "Number One",
    "spouseName": "Beverly",
    "children": ["René"],
    "birthday": "2305-07-13T11:59:00Z",
    "yomiGivenName": "ジャン",
    "yomiSurname": "ピカード",
    "yomiCompanyName": "スターフリート",
    "emailAddresses": [
        {"name": "Jean-Luc (work)", "address": "picard.fidelity@example.com"},
        {"name": "Home", "address": "jl@home.example.com"},
        {"name": "Old", "address": "third@example.com"},
    ],
    "businessPhones": ["+32 2 555 12 12", "+32 2 555 12 13"],
    "homePhones": ["+33 3 80 00 00 00", "+33 3 80 00 00 01"],
    "mobilePhone": "+32 475 12 34 56",
    "businessAddress": {
        "street": "1 Rue Haute\r\nBâtiment B",
        "city": "Bruxelles",
        "state": "",
        "postalCode": "1000",
        "countryOrRegion": "Belgium",
    },
    "homeAddress": {
        "street": "Château Picard",
        "city": "La Barre",
        "state": "Bourgogne",
        "postalCode": "21000",
        "countryOrRegion": "France",
    },
    "otherAddress": {"street": "USS Enterprise\nDeck 8", "city": "", "countryOrRegion": ""},
    "imAddresses": ["sip:jl@example.com"],
    "businessHomePage": "https://starfleet.example.com",
    "personalNotes": "Earl Grey,   hot.\r\n\r\n\tMake it so.  ",
}
EMAIL = "picard.fidelity@example.com"


@tagged("post_install", "-at_install")
class TestOutlookFidelity(OutlookSyncCase):
    account_login = "fiona_fidelity"

    def _rich_pair(self):
        """Jean-Luc typed in Outlook with every property, then synced into Odoo."""
        self._seed([RICH])
        self._synced()
        partner = self._partners(EMAIL)
        self.assertEqual(len(partner), 1)
        return partner, self._items(EMAIL)[0]

    def _assert_outlook_kept(self, item, *changed):
        for key in (*OUTLOOK_ONLY, "middleName"):
            if key not in changed:
                self.assertEqual(item.get(key), RICH.get(key), f"Outlook's {key} changed")
        self.assertEqual(item["emailAddresses"][1:], RICH["emailAddresses"][1:])
        self.assertEqual(item["businessPhones"][1:], RICH["businessPhones"][1:])
        self.assertEqual(item["homePhones"], RICH["homePhones"])

    def test_every_odoo_edit_leaves_what_odoo_lacks_in_outlook(self):
        partner, item = self._rich_pair()
        self.assertEqual(
            (partner.name, partner.phone, partner.mobile, partner.city),
            ("Jean Luc Picard", "+32 2 555 12 12", "+32 475 12 34 56", "Bruxelles"),
        )
        edits = [
            {"function": "Ambassador"},
            {"phone": "+32 2 555 99 99"},
            {"email": "captain.fidelity@example.com"},
            {"city": "Gent"},
            {"website": "https://federation.example.com"},
            {"name": "Jean Luc Picard-Crusher"},
        ]
        email = EMAIL
        for values in edits:
            partner.with_user(self.account_user).write(values)
            email = values.get("email", email)
            run = self._synced()
            self.assertEqual(run.count_updated, 1, values)
            (item,) = self._items(email)
            self._assert_outlook_kept(item, *(["fileAs"] if "name" in values else []))
            self.assertEqual(item["personalNotes"], RICH["personalNotes"], "notes as typed")
        self.assertEqual(item["jobTitle"], "Ambassador")
        self.assertEqual(item["businessPhones"], ["+32 2 555 99 99", "+32 2 555 12 13"])
        self.assertEqual(item["businessAddress"]["city"], "Gent")
        self.assertEqual(item["businessAddress"]["street"], RICH["businessAddress"]["street"])
        self.assertEqual(
            (item["givenName"], item["middleName"], item["surname"], item["fileAs"]),
            ("Jean", "Luc", "Picard-Crusher", "Picard-Crusher, Jean"),
        )
        self.assertEqual(self._synced().count_updated, 0, "no echo")

    def test_a_contact_deleted_in_outlook_comes_back_with_everything(self):
        self.account.outlook_deletion = "recreate"
        partner, item = self._rich_pair()
        partner.with_user(self.account_user).function = "Ambassador"
        self._synced()
        self.mailbox.delete(item["id"])
        self._synced()
        (again,) = self._items(EMAIL)
        self.assertNotEqual(again["id"], item["id"])
        self._assert_outlook_kept(again)
        for key in ("displayName", "givenName", "surname", "personalNotes", "emailAddresses"):
            self.assertEqual(again[key], RICH[key], key)
        self.assertEqual(again["jobTitle"], "Ambassador")
        self.assertEqual(self._synced().count_updated, 0, "no echo")

    def test_the_home_address_of_a_contact_without_business_address(self):
        home = {
            "street": "12 Elm Street\nFlat 2",
            "city": "Paris",
            "state": "",
            "postalCode": "75001",
            "countryOrRegion": "France",
        }
        self._seed(
            [
                {
                    "displayName": "Beverly Home",
                    "emailAddresses": [{"address": "beverly.home@example.com"}],
                    "homeAddress": home,
                    "homePhones": ["+33 1 42 68 53 00"],
                }
            ]
        )
        self._synced()
        partner = self._partners("beverly.home@example.com")
        self.assertEqual(
            (partner.street, partner.street2, partner.city, partner.zip, partner.country_id.code),
            ("12 Elm Street", "Flat 2", "Paris", "75001", "FR"),
        )
        self.assertEqual(partner.phone, "+33 1 42 68 53 00", "no business phone: the home one")
        partner.with_user(self.account_user).write({"zip": "75002", "city": "Paris 2e"})
        self._synced()
        (item,) = self._items("beverly.home@example.com")
        self.assertEqual(item["homeAddress"], {**home, "postalCode": "75002", "city": "Paris 2e"})
        self.assertFalse(any((item.get("businessAddress") or {}).values()), "none created")
        self.assertEqual(item["homePhones"], ["+33 1 42 68 53 00"])
        self.assertEqual(self._synced().count_updated, 0, "no echo")


@tagged("post_install", "-at_install")
class TestFieldDirections(OutlookSyncCase):
    account_login = "felix_fields"

    def setUp(self):
        super().setUp()
        self.Direction = self.env["microsoft.contacts.field.direction"]
        self.Direction._ensure_rows()

    def _set(self, **directions):
        for key, direction in directions.items():
            self.Direction.search([("field_key", "=", key)]).direction = direction

    def test_a_row_for_each_mapped_field_and_the_settings_open_them(self):
        self.assertEqual(
            self.Direction.search([]).mapped("field_key"), [*(f.merge for f in FIELDS), "photo"]
        )
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.microsoft_contacts_field_directions, "Every field both ways")
        action = settings.action_microsoft_contacts_field_directions()
        self.assertEqual(action["res_model"], "microsoft.contacts.field.direction")
        self._set(function="odoo_to_outlook", website="not_synced")
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(
            settings.microsoft_contacts_field_directions,
            "Job title: Odoo to Outlook; Website: Not synced",
        )
        with self.assertRaises(ValidationError):
            self._set(name="odoo_to_outlook")

    def test_only_administrators_set_them(self):
        rows = self.Direction.with_user(self.account_user)
        with self.assertRaises(AccessError):
            rows.search([]).read(["direction"])
        with self.assertRaises(AccessError):
            rows.browse(self.Direction.search([], limit=1).id).write({"direction": "not_synced"})

    def test_each_field_travels_only_its_way_for_a_user(self):
        self._seed(
            [
                {
                    "displayName": "Felix Field",
                    "emailAddresses": [{"address": "felix.field@example.com"}],
                    "jobTitle": "Engineer",
                    "businessPhones": ["+32 2 555 12 12"],
                    "businessHomePage": "http://felix.example.com",
                    "personalNotes": "from Outlook",
                }
            ]
        )
        self._synced()
        partner = self._partners("felix.field@example.com")
        self.assertEqual(partner.function, "Engineer")
        self._set(
            function="odoo_to_outlook",
            phone="outlook_to_odoo",
            website="not_synced",
            notes="not_synced",
        )
        # The conflict policy would have Outlook win: a field set Odoo to Outlook stays.
        self.account.conflict_policy = "outlook"
        (item,) = self._items("felix.field@example.com")
        self.mailbox.edit(
            item["id"],
            jobTitle="Outlook Title",
            businessPhones=["+32 2 555 77 77"],
            businessHomePage="http://outlook.example.com",
        )
        partner.with_user(self.account_user).write(
            {"website": "http://odoo.example.com", "city": "Gent"}
        )

        preview = self.env["microsoft.contacts.sync.preview"].browse(
            self.account.with_user(self.account_user).action_preview()["res_id"]
        )
        line = preview.line_ids.filtered(lambda ln: ln.email == "felix.field@example.com")
        self.assertEqual(line.section, "update_odoo", line.changes)
        self.assertIn("phone: +32 2 555 12 12 → +32 2 555 77 77", line.changes)
        self.assertIn("city: (empty) → Gent", line.changes)
        self.assertIn("job title: Outlook's Outlook Title stays in Outlook", line.changes)
        self.assertIn("website: not synced", line.changes)

        self._synced()
        (item,) = self._items("felix.field@example.com")
        self.assertEqual(partner.function, "Engineer", "Odoo to Outlook: never written in Odoo")
        self.assertEqual(item["jobTitle"], "Outlook Title", "Outlook's edit stays in Outlook")
        self.assertEqual(partner.phone, "+32 2 555 77 77", "Outlook to Odoo")
        self.assertEqual(partner.website, "http://odoo.example.com", "not synced")
        self.assertEqual(item["businessHomePage"], "http://outlook.example.com", "not synced")
        self.assertEqual(item["businessAddress"]["city"], "Gent", "both ways")

        partner.with_user(self.account_user).write({"phone": "+32 2 555 00 00"})
        self._synced()
        (item,) = self._items("felix.field@example.com")
        self.assertEqual(item["businessPhones"], ["+32 2 555 77 77"], "never written in Outlook")
        again = self._synced()
        self.assertEqual((again.count_updated, again.count_failed), (0, 0), "settled")


@tagged("post_install", "-at_install")
class TestOutlookCategories(OutlookSyncCase):
    account_login = "cora_categories"

    def setUp(self):
        super().setUp()
        self.account.sync_categories = True
        self.tag = self.env["res.partner.category"].create({"name": "Fidelity VIP", "color": 10})
        self.partner = self.Partner.create(
            {
                "name": "Cora Category",
                "email": "cora.category@example.com",
                "category_id": [(6, 0, self.tag.ids)],
            }
        )

    def _master(self):
        return {
            c["displayName"]: c
            for c in self.simulator._call("GET", f"users/{self.mailbox.user_id}/categories")
        }

    def test_a_tags_category_gets_the_tags_colour_once(self):
        self._synced()
        (item,) = self._items("cora.category@example.com")
        self.assertEqual(item["categories"], ["Fidelity VIP"])
        master = self._master()
        self.assertEqual(master["Fidelity VIP"]["color"], "preset4", "Odoo's green")
        self.assertIn("Red category", master, "Outlook's own categories stay")
        # The next runs keep that category as it is: no second one, no other colour.
        category = master["Fidelity VIP"]
        self.partner.with_user(self.account_user).function = "Buyer"
        self._synced()
        self._synced()
        after = self._master()
        self.assertEqual(after["Fidelity VIP"]["id"], category["id"])
        self.assertEqual(len([n for n in after if n.lower() == "fidelity vip"]), 1)

    def test_a_renamed_tag_renames_the_category_on_contacts_and_in_the_list(self):
        self._synced()
        colour = self._master()["Fidelity VIP"]["color"]
        self.tag.name = "Fidelity Key Account"
        run = self._synced()
        self.assertEqual(run.count_updated, 1, "the contact's category follows the tag")
        (item,) = self._items("cora.category@example.com")
        self.assertEqual(item["categories"], ["Fidelity Key Account"])
        master = self._master()
        self.assertIn("Fidelity VIP", master, "the old category is the user's: never deleted")
        self.assertEqual(master["Fidelity Key Account"]["color"], colour)
        self.assertEqual(self.partner.category_id, self.tag, "no second tag in Odoo")
        self.assertEqual(self._synced().count_updated, 0, "no echo")

    def test_a_mailbox_that_refuses_the_list_still_syncs_its_tags(self):
        self.simulator._call(
            "POST",
            "faults",
            {"path_regex": "masterCategories", "status": 403, "count": 100},
        )
        run = self._synced()
        (item,) = self._items("cora.category@example.com")
        self.assertEqual(item["categories"], ["Fidelity VIP"])
        self.assertIn("MailboxSettings.ReadWrite", run.message)
        self.simulator._call("DELETE", "faults")
