from lxml import etree

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestContactsViews(TransactionCase):
    """Sync with Outlook sits in the Contacts app's views, not in every partner list."""

    def _js_class(self, view_id, view_type):
        arch = self.env["res.partner"].get_view(view_id, view_type)["arch"]
        return etree.fromstring(arch).get("js_class")

    def test_contacts_app_views_carry_the_button(self):
        action = self.env.ref("contacts.action_contacts")
        views = {mode: view_id for view_id, mode in action.views}
        self.assertEqual(self._js_class(views["list"], "list"), "microsoft_contacts_list")
        self.assertEqual(self._js_class(views["kanban"], "kanban"), "microsoft_contacts_kanban")

    def test_other_partner_views_are_untouched(self):
        self.assertFalse(self._js_class(False, "list"))
        self.assertFalse(self._js_class(False, "kanban"))
        self.assertFalse(self._js_class(self.env.ref("base.view_partner_tree").id, "list"))
        self.assertFalse(self._js_class(self.env.ref("base.res_partner_kanban_view").id, "kanban"))
