"""Reading Entra ID users (app-only) for the directory import."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

from .client import GraphClient

USERS_PAGE_SIZE = 999  # the largest $top /users accepts
# Always read, whatever the mapping: matching, filtering and the log need them.
BASE_ATTRIBUTES = ("id", "displayName", "mail", "userPrincipalName", "accountEnabled", "userType")


@dataclass
class UserChanges:
    """What a directory read found: users to import or update, and ids that went away."""

    users: list[dict]
    removed: dict[str, str] = field(default_factory=dict)  # user id -> reason
    delta_link: str | None = None
    full: bool = True


class DirectoryReader:
    def __init__(self, client: GraphClient, attributes: Iterable[str] = ()) -> None:
        self.client = client
        self.select = sorted(set(BASE_ATTRIBUTES) | set(attributes))

    def latest_delta_link(self) -> str | None:
        """A users delta link for "now", without listing anyone (Graph's `$deltatoken=latest`).

        Taken before a full read, so that what changes while the read runs comes again in the
        next delta round, which is harmless: the import is idempotent.
        """
        tracking = self.client.delta(
            "/users/delta?$deltatoken=latest", select=self.select, page_size=None
        )
        return tracking.delta_link

    def all_users(self) -> UserChanges:
        """Full read: a delta link for "now" first, then the listing, so no change is missed."""
        delta_link = self.latest_delta_link()
        users = list(
            self.client.iter_pages(
                "/users",
                params={"$select": ",".join(self.select), "$top": USERS_PAGE_SIZE},
            )
        )
        return UserChanges(users=users, delta_link=delta_link, full=True)

    def changed_users(self, delta_link: str) -> UserChanges:
        """Changes since the stored link; SyncStateLostError (7-day expiry) means: read all."""
        result = self.client.delta(delta_link, page_size=None)
        return UserChanges(
            users=result.items, removed=result.removed, delta_link=result.delta_link, full=False
        )

    def check_users_readable(self) -> None:
        """Read one user: raises what a real import would (consent missing, bad secret...)."""
        self.client.get("/users", params={"$top": 1, "$select": "id"})

    def group_users(self, group_ids: Iterable[str]) -> dict[str, dict]:
        """Users in any of the groups, nested groups included (transitive membership), by id,
        with the selected attributes: one listing per group, 999 users a page."""
        members: dict[str, dict] = {}
        for group_id in group_ids:
            for user in self._members(group_id):
                members.setdefault(user["id"], user)
        return members

    def _members(self, group_id: str) -> Iterator[dict]:
        path = f"/groups/{quote(group_id, safe='')}/transitiveMembers/microsoft.graph.user"
        for member in self.client.iter_pages(
            path, params={"$select": ",".join(self.select), "$top": USERS_PAGE_SIZE}
        ):
            if isinstance(member, dict) and isinstance(member.get("id"), str):
                yield member

    def group_name(self, group_id: str) -> str | None:
        group = self.client.get(
            f"/groups/{quote(group_id, safe='')}", params={"$select": "id,displayName"}
        )
        return (group or {}).get("displayName")
