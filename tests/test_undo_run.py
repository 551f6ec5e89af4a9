"""Undo a run, end to end against the simulator: run, undo, and both sides as they were.

Each test syncs as the account's user (an internal user with Contacts rights, not an
administrator), undoes a run from its log, and checks Outlook in the simulator and Odoo.
"""

from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.microsoft_contacts.graph import GraphError
from odoo.addons.microsoft_contacts.sync.mapping import PARTNER_REF_PROPERTY_ID

from .common import FOLDER, OutlookSyncCase, person

# What a user sees of an Outlook contact, and what an undo must give back.
SHOWN = ("displayName", "jobTitle", "mobilePhone", "businessPhones", "personalNotes")


def _shown(item):
    return {key: item.get(key) or None for key in SHOWN}


class UndoCase(OutlookSyncCase):
    def _outlook(self):
        """The synced folder as the user sees it: Outlook id -> what it shows."""
        folder = self.mailbox.folder(FOLDER)
        return {i["id"]: _shown(i) for i in self.mailbox.contacts(folder["id"])} if folder else {}

    def _undo(self, run, user=None):
        """Press Undo this run as `user` (the account's user); the undo run it opens."""
        action = run.with_user(user or self.account_user).action_undo()
        undo = self.env["microsoft.contacts.sync.run"].browse(action["res_id"])
        self.assertEqual((undo.source, undo.undo_of_id, undo.state), ("undo", run, "done"))
        return undo

    def _lines(self, run, partner=None, **values):
        return run.line_ids.filtered(
            lambda line: (partner is None or line.partner_id == partner)
            and all(line[key] == value for key, value in values.items())
        )

    def _pushed(self, *partners):
        """The partners' Outlook copies, made by a first run."""
        self._synced()
        return [self._items(p.email)[0] for p in partners]


@tagged("post_install", "-at_install")
class TestUndoRun(UndoCase):
    account_login = "ulla_undo"

    def test_undo_of_a_first_sync_puts_both_sides_back_and_leaves_them_out(self):
        odette = self.Partner.create(
            {"name": "Odette Odoo", "email": "odette.undo@example.com", "function": "Buyer"}
        )
        pam = self.Partner.create(
            {"name": "Pam Pair", "email": "pam.undo@example.com", "mobile": "+32 475 12 34 56"}
        )
        self._seed(
            [
                person("Otto", "Outlook", "otto.undo@example.com", jobTitle="Chef"),
                person(
                    "Pam",
                    "Pair",
                    "pam.undo@example.com",
                    jobTitle="Seller",
                    businessPhones=["+32 2 555 12 12"],
                ),
            ]
        )
        outlook_before = self._outlook()
        run = self._synced()
        otto = self._partners("otto.undo@example.com")
        self.assertEqual(otto.function, "Chef")
        self.assertEqual((pam.function, pam.phone), ("Seller", "+32 2 555 12 12"))
        self.assertEqual(len(self._items(odette.email)), 1)
        self.assertEqual(self._items(pam.email)[0]["mobilePhone"], "+32 475 12 34 56")

        undo = self._undo(run)

        self.assertEqual(self._outlook(), outlook_before, "Outlook as it was before the run")
        self.assertFalse(otto.active, "the partner the run created is archived, not deleted")
        self.assertEqual((pam.function, pam.phone), (False, False))
        self.assertEqual(pam.mobile, "+32 475 12 34 56")
        self.assertTrue(odette.active and odette.function == "Buyer")
        # Left out of the sync: the next run does not do it all again.
        self.assertIn(odette, self.account.excluded_partner_ids)
        pair = self._link(pam)
        self.assertTrue(pair.detached and pair.excluded)
        self.assertFalse(pair.snapshot, "taken in again, it is matched anew")
        (alone,) = self.env["microsoft.contacts.link"].search(
            [("account_id", "=", self.account.id), ("excluded", "=", True), ("partner_ref", "=", 0)]
        )
        self.assertIn("otto.undo@example.com", alone.label)
        # Of these three (the other contacts of the scope went to Outlook too, and back).
        ours = odette | otto | pam
        self.assertEqual(
            sorted(
                (ln.partner_id.name, ln.action, ln.direction, ln.status)
                for ln in undo.line_ids
                if ln.partner_id in ours
            ),
            [
                ("Odette Odoo", "deleted", "to_outlook", "success"),
                ("Otto Outlook", "archived", "to_odoo", "success"),
                ("Pam Pair", "unlinked", "to_odoo", "success"),
                ("Pam Pair", "updated", "to_odoo", "success"),
                ("Pam Pair", "updated", "to_outlook", "success"),
            ],
        )
        self.assertEqual(
            set(undo.line_ids.undo_line_id.ids),
            set(run.line_ids.filtered(lambda ln: ln.action != "conflict").ids),
        )
        self.assertFalse(run.can_undo, "all of it is undone")
        again = self._synced()
        self.assertEqual(self._outlook(), outlook_before)
        self.assertFalse(again.line_ids.filtered(lambda ln: ln.action != "unchanged"))
        self.assertFalse(self._partners("otto.undo@example.com").filtered("active"))

    def test_undo_of_updates_puts_back_what_each_side_held(self):
        anna = self.Partner.create(
            {
                "name": "Anna Undo",
                "email": "anna.undo@example.com",
                "function": "Chef",
                "comment": "<p><b>Key</b> account</p>",
            }
        )
        bert = self.Partner.create(
            {"name": "Bert Undo", "email": "bert.undo@example.com", "function": "Seller"}
        )
        anna_item, bert_item = self._pushed(anna, bert)
        self.mailbox.edit(anna_item["id"], jobTitle="Head Chef", personalNotes="Key account, VIP")
        bert.function = "Buyer"
        outlook_before = self._outlook()
        run = self._synced()
        self.assertEqual(
            (anna.function, str(anna.comment)), ("Head Chef", "<p>Key account, VIP</p>")
        )
        self.assertEqual(self._items(bert.email)[0]["jobTitle"], "Buyer")
        # What the line keeps: the previous and new values, and Odoo's values as they were.
        (line,) = self._lines(run, anna, action="updated", direction="to_odoo")
        self.assertEqual(
            line.sudo().undo_data["changes"],
            {"function": ["Chef", "Head Chef"], "notes": ["Key account", "Key account, VIP"]},
        )
        self.assertEqual(
            line.sudo().undo_data["before"],
            {"function": "Chef", "comment": "<p><b>Key</b> account</p>"},
        )
        with self.assertRaises(AccessError, msg="bookkeeping, not the user's to read"):
            line.with_user(self.account_user).read(["undo_data"])

        undo = self._undo(run)

        # Both sides as before the run: Odoo's own formatting back, Outlook's values back.
        self.assertEqual((anna.function, str(anna.comment)), ("Chef", "<p><b>Key</b> account</p>"))
        self.assertEqual(bert.function, "Buyer", "the run did not write it: left as it is")
        self.assertEqual(self._outlook(), outlook_before)
        self.assertEqual(undo.count_updated, 2)
        self.assertIn(
            f"put back as before run #{run.id}: job title, notes",
            self._lines(undo, anna).reason,
        )
        # The values put back count as edits: the next sync carries them to the other side.
        self._synced()
        self.assertEqual(self._items(anna.email)[0]["jobTitle"], "Chef")
        self.assertEqual(self._items(anna.email)[0]["personalNotes"], "Key account")
        self.assertEqual(bert.function, "Seller")
        self.assertEqual(str(anna.comment), "<p><b>Key</b> account</p>")

    def test_undo_restores_what_was_archived_and_creates_again_what_was_deleted(self):
        self.account.outlook_deletion = "archive"
        anna = self.Partner.create({"name": "Anna Gone", "email": "anna.gone@example.com"})
        bert = self.Partner.create(
            {"name": "Bert Gone", "email": "bert.gone@example.com", "function": "Buyer"}
        )
        anna_item, bert_item = self._pushed(anna, bert)
        self.mailbox.delete(anna_item["id"])
        bert.active = False
        run = self._synced()
        self.assertFalse(anna.active)
        self.assertFalse(self._items(bert.email))

        undo = self._undo(run)

        self.assertTrue(anna.active)
        (again,) = self._items(bert.email)
        self.assertNotEqual(again["id"], bert_item["id"])
        self.assertEqual(_shown(again), _shown(bert_item), "as it was last synced")
        self.assertEqual(
            again["singleValueExtendedProperties"],
            [
                {
                    "id": PARTNER_REF_PROPERTY_ID,
                    "value": f"{self.env['ir.config_parameter'].get_param('database.uuid')}:"
                    f"{bert.id}",
                }
            ],
        )
        link = self._link(bert)
        self.assertEqual(link.outlook_id, again["id"])
        self.assertTrue(link.detached and link.excluded and link.created_in_outlook)
        self.assertFalse(bert.active, "the run did not archive it: it stays archived")
        self.assertEqual(
            sorted(undo.line_ids.mapped(lambda ln: (ln.action, ln.partner_id.name))),
            [("created", "Bert Gone"), ("restored", "Anna Gone")],
        )
        self.assertIn("Restored in Odoo: 1.", undo.summary)
        # Next: the restored contact goes back to Outlook; the copy made again stays.
        self._synced()
        self.assertEqual(len(self._items(anna.email)), 1)
        self.assertFalse(self._link(anna).detached)
        self.assertEqual([i["id"] for i in self._items(bert.email)], [again["id"]])

    def test_a_record_a_later_run_changed_is_not_undone_and_the_line_says_which(self):
        anna = self.Partner.create({"name": "Anna Later", "email": "anna.later@example.com"})
        bert = self.Partner.create({"name": "Bert Later", "email": "bert.later@example.com"})
        anna_item, bert_item = self._pushed(anna, bert)
        self.mailbox.edit(anna_item["id"], jobTitle="First")
        self.mailbox.edit(bert_item["id"], jobTitle="First")
        run = self._synced()
        self.mailbox.edit(anna_item["id"], jobTitle="Second")
        later = self._synced()

        undo = self._undo(run)

        self.assertEqual((anna.function, bert.function), ("Second", False))
        (refused,) = self._lines(undo, anna)
        self.assertEqual((refused.action, refused.status), ("refused", "failed"))
        self.assertTrue(
            refused.reason.startswith(f"not undone: changed again by run #{later.id} on "),
            refused.reason,
        )
        self.assertEqual(undo.count_failed, 1)
        self.assertTrue(run.can_undo, "one record is left to undo")
        # Undone again later, the record a later run changed is still refused; nothing else.
        again = self._undo(run)
        self.assertEqual(again.line_ids.mapped("partner_id"), anna)
        self.assertEqual(again.line_ids.status, "failed")

    def test_an_outlook_contact_changed_since_the_run_is_left_as_it_is(self):
        anna = self.Partner.create(
            {"name": "Anna Match", "email": "anna.match@example.com", "function": "Seller"}
        )
        (item,) = self._pushed(anna)
        anna.function = "Buyer"
        run = self._synced()
        self.mailbox.edit(item["id"], jobTitle="Typed in Outlook")

        undo = self._undo(run)

        (line,) = undo.line_ids
        self.assertEqual(
            (line.action, line.direction, line.status), ("refused", "to_outlook", "failed")
        )
        self.assertEqual(line.reason, f"not undone: changed in Outlook since run #{run.id}")
        self.assertEqual(self._items(anna.email)[0]["jobTitle"], "Typed in Outlook")
        self.assertEqual(anna.function, "Buyer")

    def test_a_write_the_user_may_no_longer_make_is_a_line(self):
        anna = self.Partner.create({"name": "Anna Rights", "email": "anna.rights@example.com"})
        (item,) = self._pushed(anna)
        self.mailbox.edit(item["id"], jobTitle="From Outlook")
        run = self._synced()
        self.assertEqual(anna.function, "From Outlook")
        self.account_user.groups_id -= self.env.ref("base.group_partner_manager")

        undo = self._undo(run)

        (line,) = undo.line_ids
        self.assertEqual((line.action, line.status), ("refused", "failed"))
        self.assertTrue(line.reason.startswith("not undone: not allowed: "), line.reason)
        self.assertEqual(anna.function, "From Outlook", "no silent write")

    def test_a_write_odoo_refuses_is_a_line_and_the_rest_goes_on(self):
        odette = self.Partner.create({"name": "Odette Bad", "email": "odette.bad@example.com"})
        pam = self.Partner.create(
            {"name": "Pam Bad", "email": "pam.bad@example.com", "mobile": "+32 475 12 34 56"}
        )
        self._seed([person("Pam", "Bad", "pam.bad@example.com", jobTitle="Seller")])
        run = self._synced()
        self.assertEqual(pam.function, "Seller")
        Partner = self.registry["res.partner"]
        original = Partner.write

        def write(records, vals):
            if "function" in vals and pam in records:
                raise ValueError("refused by the test")
            return original(records, vals)

        with patch.object(Partner, "write", write):
            undo = self._undo(run)

        self.assertFalse(self._items(odette.email), "the rest went on")
        self.assertEqual(pam.function, "Seller", "Odoo refused it")
        self.assertFalse(self._items(pam.email)[0].get("mobilePhone"), "Outlook was put back")
        self.assertEqual(
            sorted(self._lines(undo, pam).mapped(lambda ln: (ln.action, ln.status, ln.reason))),
            [
                ("refused", "failed", "not undone: refused by the test"),
                ("updated", "success", f"put back as before run #{run.id}: mobile"),
            ],
        )
        self.assertTrue(self._link(pam).excluded, "the pair is kept apart all the same")

    def test_who_may_undo_and_what(self):
        anna = self.Partner.create({"name": "Anna Who", "email": "anna.who@example.com"})
        self.Partner.create({"name": "Bert Who", "email": "bert.who@example.com"})
        run = self._synced()
        colleague = new_test_user(
            self.env, login="undo_colleague", groups="base.group_user,base.group_partner_manager"
        )
        admin = new_test_user(self.env, login="undo_admin", groups="base.group_system")
        self.assertTrue(run.with_user(self.account_user).can_undo)
        self.assertTrue(run.with_user(admin).can_undo)
        with self.assertRaises(AccessError):
            run.with_user(colleague).action_undo()
        self.assertTrue(self._items(anna.email), "the colleague changed nothing")

        undo = self._undo(run, admin)

        # The administrator pressed it; it acted as the account's user and is logged so.
        self.assertEqual(undo.user_id, admin)
        self.assertFalse(self._items(anna.email))
        self.assertFalse(run.with_user(admin).can_undo)
        with self.assertRaisesRegex(UserError, "undone already"):
            run.with_user(self.account_user).action_undo()
        self.assertFalse(undo.with_user(self.account_user).can_undo)
        with self.assertRaisesRegex(UserError, "not undone in turn"):
            undo.with_user(self.account_user).action_undo()

    def test_a_partner_another_user_syncs_since_is_never_archived_by_an_undo(self):
        self._seed([person("Olga", "Outlook", "olga.undo@example.com")])
        run = self._synced()
        olga = self._partners("olga.undo@example.com")
        colleague = new_test_user(
            self.env, login="undo_other_owner", groups="base.group_user,base.group_partner_manager"
        )
        other = self.env["microsoft.contacts.account"].create({"user_id": colleague.id})
        # The colleague's sync paired Olga with a contact they typed in their own Outlook.
        self.env["microsoft.contacts.link"].create(
            {
                "account_id": other.id,
                "partner_id": olga.id,
                "partner_ref": olga.id,
                "outlook_id": "AAMk-colleague-olga",
            }
        )

        undo = self._undo(run)

        self.assertTrue(olga.active, "their sync would delete the colleague's own contact")
        (line,) = self._lines(undo, olga)
        self.assertEqual(line.status, "failed")
        self.assertIn("another user syncs this contact", line.reason)

    def test_an_undo_that_lost_its_link_in_a_crash_makes_no_second_copy(self):
        bert = self.Partner.create({"name": "Bert Crash", "email": "bert.crash@example.com"})
        self._pushed(bert)
        bert.active = False
        run = self._synced()
        Service = type(self.env["microsoft.contacts.outlook.sync"])
        lost = GraphError("the worker stopped before Odoo kept the link")
        # Outlook got the copy again, then Odoo lost what it wrote about it.
        with patch.object(Service, "_undo_in_odoo", side_effect=lost):
            crashed = run.with_user(self.account_user).action_undo()
        crashed = self.env["microsoft.contacts.sync.run"].browse(crashed["res_id"])
        self.assertEqual(crashed.state, "failed")
        (orphan,) = self._items(bert.email)
        self.assertFalse(self._link(bert))

        # A sync meanwhile does not make the copy a second Odoo contact.
        sync = self._synced()
        self.assertEqual(self._partners(bert.email), bert)
        self.assertIn(
            "not created again in Odoo", self._lines(sync, external_id=orphan["id"]).reason
        )
        # The undo done again finds the copy by our property and links it: one copy.
        self._undo(run)
        self.assertEqual([i["id"] for i in self._items(bert.email)], [orphan["id"]])
        self.assertEqual(self._link(bert).outlook_id, orphan["id"])


@tagged("post_install", "-at_install")
class TestUndoReadOnlyContacts(UndoCase):
    """A user who may read contacts only: the sync sends Odoo's contacts to Outlook, and the
    undo takes them out of Outlook again; nothing is written in Odoo."""

    account_login = "rita_undo_read_only"
    account_groups = "base.group_user"

    def test_undo_takes_the_copies_out_of_outlook(self):
        anna = self.Partner.create({"name": "Anna Read", "email": "anna.read@example.com"})
        self._seed([person("Otto", "Readonly", "otto.readonly@example.com")])
        outlook_before = self._outlook()
        run = self._synced()
        self.assertEqual(len(self._items(anna.email)), 1)
        self.assertFalse(self._partners("otto.readonly@example.com"), "not the user's to create")

        undo = self._undo(run)

        self.assertEqual(self._outlook(), outlook_before)
        self.assertEqual(self._lines(undo, anna).mapped("action"), ["deleted"])
        self.assertIn(anna, self.account.excluded_partner_ids)
        self.assertTrue(anna.active)
        self._synced()
        self.assertEqual(self._outlook(), outlook_before, "left out: not copied again")
