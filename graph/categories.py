"""Outlook's master list of categories of the signed-in mailbox (/me/outlook/masterCategories).

The names on contacts (`categories`) are plain text; the master list gives each name its
colour. Reading needs the delegated permission MailboxSettings.Read, writing
MailboxSettings.ReadWrite (a token without it gets ForbiddenError). Graph cannot rename a
category: the sync creates the new name and leaves the old one to the user.
"""

from __future__ import annotations

from .client import GraphClient
from .errors import BadRequestError

PATH = "/me/outlook/masterCategories"


class MasterCategories:
    def __init__(self, client: GraphClient) -> None:
        self.client = client

    def list(self) -> list[dict]:
        """Every category: {id, displayName, color}."""
        return [c for c in self.client.iter_pages(PATH) if isinstance(c, dict)]

    def add(self, name: str, color: str) -> dict | None:
        """A new category; None when one of that name exists already (409)."""
        try:
            return self.client.post(PATH, json={"displayName": name, "color": color})
        except BadRequestError as error:
            if error.status == 409:  # ErrorAlreadyExists: made meanwhile, by anyone
                return None
            raise
