"""Photos both ways against the Graph simulator, synced by a user with Contacts rights (not an
administrator): Odoo's image to Outlook, Outlook's photo to Odoo, an unchanged photo costs no
request, a photo Graph refuses or Odoo cannot read is one line and its record still syncs."""

import base64
import io
import os

from PIL import Image

from odoo.tests import tagged

from .common import OutlookSyncCase, new_contacts_user, person

PHOTO_KINDS = ("contacts.photo.get", "contacts.photo.put", "contacts.photo.delete")


def picture(color=(200, 40, 40), size=(48, 36), fmt="PNG", noise=False):
    """An image as a camera or a user gives it; `noise`: one that compresses badly."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@tagged("post_install", "-at_install")
class TestOutlookSyncPhotos(OutlookSyncCase):
    account_login = "paula_photos"

    def setUp(self):
        super().setUp()
        self.account.sync_scope = "my"  # this test's partners only

    # -- helpers ------------------------------------------------------------------------

    def _partner(self, name, email, image=None, **values):
        return self.Partner.create(
            {
                "name": name,
                "email": email,
                "user_id": self.account_user.id,
                "image_1920": base64.b64encode(image) if image else False,
                **values,
            }
        )

    def _photo_requests(self, before):
        after = self.simulator.stats()["by_kind"]
        return {
            kind: after.get(kind, 0) - before.get(kind, 0)
            for kind in PHOTO_KINDS
            if after.get(kind, 0) != before.get(kind, 0)
        }

    def _image(self, partner):
        partner.invalidate_recordset(["image_1920"])
        return base64.b64decode(partner.image_1920) if partner.image_1920 else None

    def _photo_lines(self, run):
        return run.line_ids.filtered(lambda line: "photo" in (line.reason or ""))

    # -- Odoo -> Outlook ------------------------------------------------------------------

    def test_odoo_image_goes_to_outlook_once_and_costs_nothing_while_unchanged(self):
        red = picture()
        ada = self._partner("Ada Photo", "ada.photo@example.com", red)
        bob = self._partner("Bob Nophoto", "bob.nophoto@example.com")
        before = self.simulator.stats()["by_kind"]
        run = self._synced()
        self.assertEqual(self._photo_requests(before), {"contacts.photo.put": 1})
        (ada_item,) = self._items("ada.photo@example.com")
        (bob_item,) = self._items("bob.nophoto@example.com")
        self.assertEqual(self.mailbox.photo(ada_item["id"]), red, "a small PNG goes as it is")
        self.assertIsNone(self.mailbox.photo(bob_item["id"]), "an avatar is not a photo")
        self.assertTrue(bob.avatar_128, "Odoo draws Bob an avatar, never sent")
        link = self._link(ada)
        # Outlook's side: "what was sent", whatever Outlook makes of it, until read back.
        self.assertEqual(link.photo_outlook_hash, "sent:" + link.photo_odoo_hash)
        self.assertEqual(self._link(bob).photo_outlook_hash, "none")
        line = self._photo_lines(run).filtered(lambda ln: ln.partner_id == ada)
        self.assertEqual(line.mapped("reason"), ["Outlook: photo updated"])
        self.assertEqual(run.count_new, 2, "the photo of a new contact is not another update")

        # The PUT changed the item: the next round reads its photo once, and keeps it.
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self.assertEqual(self._photo_requests(before), {"contacts.photo.get": 1})
        self.assertEqual(self._link(ada).photo_outlook_hash, link.photo_odoo_hash)
        # From then on an unchanged photo costs no request at all...
        before = self.simulator.stats()
        run = self._synced()
        after = self.simulator.stats()
        self.assertEqual(self._photo_requests(before["by_kind"]), {})
        self.assertEqual(after["total_requests"] - before["total_requests"], 1, "the delta only")
        self.assertEqual(run.count_updated, 0)
        # ...and only the items the delta reports changed get their photo read.
        self.mailbox.edit(bob_item["id"], jobTitle="Changed in Outlook")
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self.assertEqual(self._photo_requests(before), {"contacts.photo.get": 1})
        self.assertEqual(bob.function, "Changed in Outlook")

    def test_the_avatar_odoo_draws_for_a_new_user_is_never_sent(self):
        colleague = new_contacts_user(self.env, "avatar_colleague").partner_id
        self.assertTrue(colleague.image_1920, "Odoo stored a drawn avatar as its image")
        self.assertTrue(base64.b64decode(colleague.image_1920).lstrip().startswith(b"<"))
        colleague.write({"email": "avatar.colleague@example.com", "user_id": self.account_user.id})
        before = self.simulator.stats()["by_kind"]
        run = self._synced()
        (item,) = self._items("avatar.colleague@example.com")
        self.assertIsNone(self.mailbox.photo(item["id"]))
        self.assertEqual(self._photo_requests(before), {})
        self.assertFalse(self._photo_lines(run))
        # The contact of an internal user, which only administrators may change: a photo
        # given in Outlook is not taken, Odoo's side (no photo) is put back, with a line.
        self._synced()
        self.mailbox.set_photo(item["id"], picture())
        run = self._synced()
        self.assertIsNone(self.mailbox.photo(item["id"]))
        self.assertTrue(base64.b64decode(colleague.image_1920).lstrip().startswith(b"<"))
        (line,) = self._photo_lines(run)
        self.assertIn("Outlook: photo removed; not allowed:", line.reason)

    def test_a_changed_or_removed_odoo_image_changes_or_removes_the_outlook_photo(self):
        ada = self._partner("Ada Photo", "ada.photo@example.com", picture())
        self._synced()
        self._synced()
        (item,) = self._items("ada.photo@example.com")
        blue = picture((30, 30, 200))
        ada.image_1920 = base64.b64encode(blue)
        run = self._synced()
        self.assertEqual(self.mailbox.photo(item["id"]), blue)
        self.assertEqual(run.count_updated, 1)
        ada.image_1920 = False
        before = self.simulator.stats()["by_kind"]
        self._synced()
        # Graph does not tell the item's change key after a photo PUT: the item of the blue
        # one comes back in this round and its photo is read once (the same), then removed.
        self.assertEqual(
            self._photo_requests(before), {"contacts.photo.get": 1, "contacts.photo.delete": 1}
        )
        self.assertIsNone(self.mailbox.photo(item["id"]))
        self.assertEqual(self._link(ada).photo_outlook_hash, "none")

    def test_a_large_image_is_resized_for_outlook_and_odoo_keeps_its_own(self):
        big = picture(size=(2400, 1600), fmt="PNG", noise=True)
        ada = self._partner("Ada Large", "ada.large@example.com", big)
        kept = self._image(ada)
        self._synced()
        (item,) = self._items("ada.large@example.com")
        sent = self.mailbox.photo(item["id"])
        with Image.open(io.BytesIO(sent)) as image:
            self.assertEqual((image.format, max(image.size)), ("JPEG", 1024))
        self.assertLessEqual(len(sent), 1024 * 1024)
        self._synced()  # the echo: Outlook's copy is the one sent, nothing comes back
        self.assertEqual(self._image(ada), kept, "Odoo's image is not replaced by the copy")

    def test_a_photo_graph_refuses_is_one_line_and_the_contact_still_syncs(self):
        self.simulator.configure(photo_max_bytes=1000)
        ada = self._partner(
            "Ada Refused", "ada.refused@example.com", picture(size=(64, 64), noise=True)
        )
        run = self._synced()
        (item,) = self._items("ada.refused@example.com")
        self.assertEqual(item["displayName"], "Ada Refused", "the contact itself is synced")
        self.assertIsNone(self.mailbox.photo(item["id"]))
        self.assertTrue(self._link(ada), "and linked")
        (line,) = self._photo_lines(run)
        self.assertEqual((line.action, line.status, line.partner_id), ("refused", "failed", ada))
        self.assertTrue(line.reason.startswith("photo not synced: Outlook refused it"))
        self.assertIn("413", line.reason)
        self.assertEqual(run.state, "done")
        # Not sent again and again: tried once the photo changes.
        self._synced()
        before = self.simulator.stats()["by_kind"]
        run = self._synced()
        self.assertEqual(self._photo_requests(before), {})
        self.assertFalse(self._photo_lines(run))

    # -- Outlook -> Odoo ------------------------------------------------------------------

    def test_outlook_photo_comes_into_odoo_and_its_changes_follow(self):
        green = picture((20, 160, 20))
        (cleo,) = self._seed([person("Cleo", "Outlook", "cleo.outlook@example.com")])
        self.mailbox.set_photo(cleo["id"], green)
        run = self._synced()
        partner = self._partners("cleo.outlook@example.com")
        self.assertEqual(self._image(partner), green)
        self.assertEqual(partner.user_id, self.account_user)
        link = self._link(partner)
        self.assertNotEqual(link.photo_odoo_hash, "none")
        self.assertEqual(link.photo_outlook_hash, link.photo_odoo_hash, "the same file")
        self.assertEqual(run.count_new, 1)
        self._synced()
        yellow = picture((220, 220, 0), fmt="JPEG")
        self.mailbox.set_photo(cleo["id"], yellow, "image/jpeg")
        before = self.simulator.stats()["by_kind"]
        run = self._synced()
        self.assertEqual(self._photo_requests(before), {"contacts.photo.get": 1})
        self.assertEqual(self._image(partner), yellow)
        self.assertEqual(self._photo_lines(run).mapped("reason"), ["Odoo: photo updated"])
        self.assertEqual(run.count_updated, 1)

    def test_the_photo_follows_its_own_direction_from_the_settings(self):
        direction = self.env["microsoft.contacts.field.direction"]
        direction._ensure_rows()
        photo_row = direction.search([("field_key", "=", "photo")])
        photo_row.direction = "odoo_to_outlook"
        red, green = picture(), picture((20, 160, 20))
        ada = self._partner("Ada Direction", "ada.direction@example.com", red)
        self._synced()
        (item,) = self._items("ada.direction@example.com")
        self.assertEqual(self.mailbox.photo(item["id"]), red, "Odoo to Outlook")
        self.mailbox.set_photo(item["id"], green)
        self.account.conflict_policy = "outlook"
        self._synced()
        self.assertEqual(self._image(ada), red, "never written in Odoo, whatever the policy")

        photo_row.direction = "not_synced"
        ada.with_user(self.account_user).image_1920 = base64.b64encode(picture((9, 9, 200)))
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self.assertEqual(self._photo_requests(before), {}, "not synced: not even read")
        self.assertEqual(self.mailbox.photo(item["id"]), green)

    def test_a_photo_removed_in_outlook_is_put_back_unless_outlook_may_clear(self):
        red = picture()
        ada = self._partner("Ada Photo", "ada.photo@example.com", red)
        self._synced()
        self._synced()
        (item,) = self._items("ada.photo@example.com")
        self.mailbox.delete_photo(item["id"])
        run = self._synced()
        self.assertEqual(self.mailbox.photo(item["id"]), red, "empty values never wipe Odoo")
        self.assertIn("removed in Outlook: ignored", " ".join(run.line_ids.mapped("reason")))
        self.assertEqual(self._image(ada), red)
        self._synced()
        self.account.outlook_may_clear = True
        self.mailbox.delete_photo(item["id"])
        self._synced()
        self.assertIsNone(self._image(ada))

    def test_a_corrupt_outlook_photo_is_one_line_and_the_contact_still_syncs(self):
        (dan,) = self._seed([person("Dan", "Corrupt", "dan.corrupt@example.com")])
        self.mailbox.set_photo(dan["id"], b"\xff\xd8\xff" + b"not really a jpeg" * 40, "image/jpeg")
        run = self._synced()
        partner = self._partners("dan.corrupt@example.com")
        self.assertEqual(partner.name, "Dan Corrupt", "the contact is created all the same")
        self.assertIsNone(self._image(partner))
        (line,) = self._photo_lines(run)
        self.assertEqual((line.action, line.status), ("refused", "failed"))
        self.assertTrue(line.reason.startswith("photo not synced: Odoo could not take"))
        # Read again only once it changes in Outlook.
        self._synced()
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self.assertEqual(self._photo_requests(before), {})
        good = picture((0, 0, 0))
        self.mailbox.set_photo(dan["id"], good)
        self._synced()
        self.assertEqual(self._image(partner), good)

    # -- both ------------------------------------------------------------------------------

    def test_a_photo_changed_on_both_sides_follows_the_conflict_policy(self):
        ada = self._partner("Ada Photo", "ada.photo@example.com", picture())
        self._synced()
        self._synced()
        (item,) = self._items("ada.photo@example.com")
        odoo_side, outlook_side = picture((1, 2, 3)), picture((250, 250, 250))
        ada.image_1920 = base64.b64encode(odoo_side)
        self.mailbox.set_photo(item["id"], outlook_side)
        run = self._synced()  # Odoo wins (the default)
        self.assertEqual(self.mailbox.photo(item["id"]), odoo_side)
        self.assertEqual(self._image(ada), odoo_side)
        conflict = run.line_ids.filtered(lambda ln: ln.action == "conflict")
        self.assertIn("photo (kept odoo's)", conflict.reason)
        self._synced()
        self.account.conflict_policy = "outlook"
        ada.image_1920 = base64.b64encode(picture((9, 9, 9)))
        self.mailbox.set_photo(item["id"], outlook_side)
        self._synced()
        self.assertEqual(self._image(ada), outlook_side)

    def test_a_pair_seen_first_with_a_photo_on_each_side_keeps_both(self):
        odoo_side, outlook_side = picture((5, 5, 5)), picture((99, 99, 99))
        ada = self._partner("Ada Both", "ada.both@example.com", odoo_side)
        (item,) = self._seed([person("Ada", "Both", "ada.both@example.com")])
        self.mailbox.set_photo(item["id"], outlook_side)
        self._synced()
        self.assertEqual(self._link(ada).outlook_id, item["id"], "matched by email")
        self.assertEqual(self._image(ada), odoo_side)
        self.assertEqual(self.mailbox.photo(item["id"]), outlook_side)
        self._synced()
        self.assertEqual(self.mailbox.photo(item["id"]), outlook_side, "not on the next one")

    def test_photos_off_send_and_read_none(self):
        self.account.sync_photos = False
        self._partner("Ada Photo", "ada.photo@example.com", picture())
        (cleo,) = self._seed([person("Cleo", "Outlook", "cleo.outlook@example.com")])
        self.mailbox.set_photo(cleo["id"], picture((20, 160, 20)))
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self.assertEqual(self._photo_requests(before), {})
        self.assertIsNone(self._image(self._partners("cleo.outlook@example.com")))

    def test_pairs_synced_before_photos_are_looked_at_a_few_per_run(self):
        self.account.sync_photos = False
        red = picture()
        partners = self.Partner.browse()
        for n in range(3):
            partners |= self._partner(f"Old {n}", f"old{n}@example.com", red)
        self._synced()
        self._synced()
        self.env["ir.config_parameter"].sudo().set_param(
            "microsoft_contacts.photo_checks_per_run", "2"
        )
        self.account.sync_photos = True
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self.assertEqual(
            self._photo_requests(before), {"contacts.photo.get": 2, "contacts.photo.put": 2}
        )
        self._synced()  # the third one, and the echo of the two PUTs
        for partner in partners:
            (item,) = self._items(partner.email)
            self.assertEqual(self.mailbox.photo(item["id"]), red)
        self._synced()  # the echo of the third PUT
        before = self.simulator.stats()["by_kind"]
        self._synced()
        self._synced()
        self.assertEqual(self._photo_requests(before), {})
        links = self.env["microsoft.contacts.link"].search([("partner_id", "in", partners.ids)])
        self.assertEqual(
            set(links.mapped("photo_outlook_hash")), set(links.mapped("photo_odoo_hash"))
        )

    def test_the_preview_shows_photo_changes_and_applies_them(self):
        ada = self._partner("Ada Photo", "ada.photo@example.com", picture())
        self._synced()
        self._synced()
        (item,) = self._items("ada.photo@example.com")
        yellow = picture((220, 220, 0))
        self.mailbox.set_photo(item["id"], yellow)
        action = self.account.with_user(self.account_user).action_preview()
        preview = self.env["microsoft.contacts.sync.preview"].browse(action["res_id"])
        (line,) = preview.update_odoo_line_ids
        self.assertEqual(line.changes, "photo: a photo → another photo")
        self.assertNotEqual(self._image(ada), yellow, "a preview writes nothing")
        before = self.simulator.stats()["by_kind"]
        preview.action_apply()
        self.assertEqual(self._image(ada), yellow)
        self.assertEqual(
            self._photo_requests(before), {"contacts.photo.get": 1}, "read once, when planning"
        )
