from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import HTTP_TAG

TOKEN_FIELDS = ("token_cache", "home_account_id")


@tagged("post_install", "-at_install", HTTP_TAG)
class TestAccountAccess(HttpCase):
    """A user sees only their own account, and no token field at all, by ORM or RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(cls.env, login="alice", password="alice-password-1")
        cls.bob = new_test_user(cls.env, login="bob", password="bob-password-1")
        cls.admin = new_test_user(
            cls.env, login="boss", password="boss-password-1", groups="base.group_system"
        )
        Account = cls.env["microsoft.contacts.account"].sudo()
        cls.alice_account = Account.create(
            {"user_id": cls.alice.id, "token_cache": "alice-secret-cache", "state": "connected"}
        )
        cls.bob_account = Account.create(
            {"user_id": cls.bob.id, "token_cache": "bob-secret-cache", "state": "connected"}
        )

    def test_user_sees_only_own_account(self):
        Account = self.env["microsoft.contacts.account"].with_user(self.alice)
        self.assertEqual(Account.search([]), self.alice_account)
        with self.assertRaises(AccessError):
            self.bob_account.with_user(self.alice).read(["state"])

    def test_user_cannot_read_own_token_fields(self):
        for field in TOKEN_FIELDS:
            with self.assertRaises(AccessError):
                self.alice_account.with_user(self.alice).read([field])
        fields = self.env["microsoft.contacts.account"].with_user(self.alice).fields_get()
        self.assertFalse(set(TOKEN_FIELDS) & set(fields))

    def test_user_cannot_disconnect_someone_else(self):
        with self.assertRaises(AccessError):
            self.bob_account.with_user(self.alice).action_disconnect()
        self.assertEqual(self.bob_account.state, "connected")
        self.assertEqual(self.bob_account.token_cache, "bob-secret-cache")

    def test_user_cannot_write_the_account(self):
        with self.assertRaises(AccessError):
            self.alice_account.with_user(self.alice).write({"state": "paused"})

    def test_admin_sees_every_account(self):
        Account = self.env["microsoft.contacts.account"].with_user(self.admin)
        self.assertEqual(Account.search([]), self.alice_account | self.bob_account)

    def test_rpc_never_returns_tokens(self):
        self.authenticate("alice", "alice-password-1")
        rows = self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": "microsoft.contacts.account",
                "method": "search_read",
                "args": [[]],
                "kwargs": {"fields": ["state", "user_id"]},
            },
        )
        self.assertEqual([row["id"] for row in rows], [self.alice_account.id])
        for field in TOKEN_FIELDS:
            with self.assertRaises(JsonRpcException):
                self.make_jsonrpc_request(
                    "/web/dataset/call_kw",
                    {
                        "model": "microsoft.contacts.account",
                        "method": "read",
                        "args": [[self.alice_account.id], [field]],
                        "kwargs": {},
                    },
                )
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(
                "/web/dataset/call_kw",
                {
                    "model": "microsoft.contacts.account",
                    "method": "read",
                    "args": [[self.bob_account.id], ["state"]],
                    "kwargs": {},
                },
            )
