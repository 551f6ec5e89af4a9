"""Outlook's master list of categories (/me/outlook/masterCategories), per mailbox.

As Graph: a category is {id, displayName, color}; displayName is unique (case ignored) and
cannot change once created (PATCH takes the color only); color is "none" or preset0..preset24.
Reading needs MailboxSettings.Read (or ReadWrite), writing MailboxSettings.ReadWrite: a token
with contact scopes only gets 403 ErrorAccessDenied. A new mailbox holds Outlook's six
default categories.
"""

from __future__ import annotations

from graph_simulator.common import GraphError

COLORS = ("none", *(f"preset{i}" for i in range(25)))
DEFAULTS = (
    ("Red category", "preset0"),
    ("Orange category", "preset1"),
    ("Yellow category", "preset3"),
    ("Green category", "preset4"),
    ("Blue category", "preset7"),
    ("Purple category", "preset8"),
)
READ_SCOPES = {"mailboxsettings.read", "mailboxsettings.readwrite"}
WRITE_SCOPES = {"mailboxsettings.readwrite"}


def master(sim, mb):
    """The mailbox's master list: id -> category (made with the defaults on first use)."""
    if "categories" not in mb:
        mb["categories"] = {}
        for name, color in DEFAULTS:
            _store(sim, mb, name, color)
    return mb["categories"]


def _store(sim, mb, name, color):
    cid = sim.outlook_id("AAMkAGI2AAEcAAA")
    mb["categories"][cid] = {"id": cid, "displayName": name, "color": color}
    return mb["categories"][cid]


def check_scopes(scopes, write):
    if not scopes & (WRITE_SCOPES if write else READ_SCOPES):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )


def _color(value):
    if value is None:
        return "none"
    if not isinstance(value, str) or value.lower() not in COLORS:
        raise GraphError(
            400,
            "RequestBodyRead",
            f"Requested value '{value}' was not found. (property 'color' of "
            "microsoft.graph.outlookCategory)",
        )
    return value.lower()


def _check_body(body, allowed):
    if not isinstance(body, dict):
        raise GraphError(400, "RequestBodyRead", "Expected a JSON object.")
    for key in body:
        if key not in allowed and not key.startswith("@odata."):
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{key}' does not exist on type 'microsoft.graph.outlookCategory'.",
            )


def create(sim, mb, body):
    _check_body(body, {"displayName", "color"})
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidParameter", "displayName is required.")
    color = _color(body.get("color"))
    if any(c["displayName"].lower() == name.lower() for c in master(sim, mb).values()):
        raise GraphError(
            409, "ErrorAlreadyExists", f"A category with the name '{name}' already exists."
        )
    return dict(_store(sim, mb, name, color))


def get(sim, mb, cid):
    category = master(sim, mb).get(cid)
    if category is None:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return category


def update(sim, mb, cid, body):
    category = get(sim, mb, cid)
    _check_body(body, {"displayName", "color"})
    if "displayName" in body and body["displayName"] != category["displayName"]:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "The displayName of a category cannot be changed once it is created.",
        )
    if "color" in body:
        category["color"] = _color(body["color"])
    return dict(category)


def delete(sim, mb, cid):
    get(sim, mb, cid)
    del mb["categories"][cid]
