"""Outlook contact model: validation (like Graph), create / update / delete, rendering.

Validation errors (raised as GraphError, status 400):
- unknown property, or a value of the wrong JSON type -> code ``RequestBodyRead`` naming the
  property (as Graph's OData reader does);
- collection limits (emailAddresses <= 3, businessPhones <= 2, homePhones <= 2) -> code
  ``ErrorInvalidProperty`` with Exchange's message "The multi value property BusinessPhones has
  3 entries, that exceeds the max allowed value of 2" (the code is our pick: the message is the
  one reported in microsoft-graph-docs-contrib#560, the code was not).

Contact photos (``.../contacts/{id}/photo`` and ``/photo/$value``): stored as the bytes sent,
one per contact; a PUT or DELETE of the photo changes the contact (change key, delta) as Outlook
does. A PUT whose body is larger than ``photo_max_bytes`` (Graph: 4 MB) -> 413
``RequestEntityTooLarge``; a body that is not a JPEG, PNG, GIF or BMP -> 400
``ErrorInvalidImage``; a Content-Type that is not an image -> 400 ``BadRequest`` (the codes are
our pick).
"""

from __future__ import annotations

import copy
import re
import struct

from graph_simulator.common import GraphError
from graph_simulator.odata import ODataError, ext_prop_key

STRING_PROPS = (
    "givenName",
    "middleName",
    "surname",
    "displayName",
    "title",
    "jobTitle",
    "companyName",
    "department",
    "mobilePhone",
    "businessHomePage",
    "personalNotes",
    "fileAs",
    "nickName",
    "initials",
    "generation",
    "spouseName",
    "manager",
    "assistantName",
    "officeLocation",
    "profession",
    "yomiGivenName",
    "yomiSurname",
    "yomiCompanyName",
    "birthday",
)
LIST_PROPS = ("businessPhones", "homePhones", "categories", "imAddresses", "children")
ADDRESS_PROPS = ("businessAddress", "homeAddress", "otherAddress")
ADDRESS_KEYS = ("street", "city", "state", "postalCode", "countryOrRegion")
READ_ONLY = ("id", "changeKey", "createdDateTime", "lastModifiedDateTime", "parentFolderId")
LIMITS = {"emailAddresses": 3, "businessPhones": 2, "homePhones": 2}
ALL_PROPS = (
    *READ_ONLY,
    *STRING_PROPS,
    *LIST_PROPS,
    *ADDRESS_PROPS,
    "emailAddresses",
)
_LOWER = {p.lower(): p for p in ALL_PROPS}


def _err(code, message, status=400):
    return GraphError(status, code, message)


def _type_error(prop, expected):
    return _err(
        "RequestBodyRead",
        f"Cannot convert the literal to the expected type '{expected}' for property '{prop}'.",
    )


def validate(body, partial=False):
    """Validate a contact JSON body; return (fields, ext_props) or raise GraphError."""
    if not isinstance(body, dict):
        raise _err(
            "RequestBodyRead", "The request body must be a JSON object (microsoft.graph.contact)."
        )
    fields, ext = {}, []
    for prop, value in body.items():
        if prop.startswith("@odata.") or prop in READ_ONLY:
            continue
        if prop == "singleValueExtendedProperties":
            if not isinstance(value, list):
                raise _type_error(
                    prop, "Collection(microsoft.graph.singleValueLegacyExtendedProperty)"
                )
            for entry in value:
                if (
                    not isinstance(entry, dict)
                    or not isinstance(entry.get("id"), str)
                    or not isinstance(entry.get("value"), str | None)
                    or set(entry) - {"id", "value"}
                ):
                    raise _type_error(prop, "microsoft.graph.singleValueLegacyExtendedProperty")
                try:
                    key = ext_prop_key(entry["id"])
                except ODataError as exc:
                    raise _err("ErrorInvalidExtendedPropertyValue", str(exc)) from exc
                ext.append((key, entry["id"], entry["value"]))
            continue
        if prop in STRING_PROPS:
            if value is not None and not isinstance(value, str):
                raise _type_error(prop, "Edm.String")
            if prop == "birthday" and value and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
                raise _type_error(prop, "Edm.DateTimeOffset")
            fields[prop] = value
        elif prop in LIST_PROPS:
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _type_error(prop, "Collection(Edm.String)")
            fields[prop] = list(value)
        elif prop in ADDRESS_PROPS:
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise _type_error(prop, "microsoft.graph.physicalAddress")
            for k, v in value.items():
                if k.startswith("@odata."):
                    continue
                if k not in ADDRESS_KEYS:
                    raise _err(
                        "RequestBodyRead",
                        f"The property '{k}' does not exist on type "
                        f"'microsoft.graph.physicalAddress' (in property '{prop}').",
                    )
                if v is not None and not isinstance(v, str):
                    raise _type_error(f"{prop}/{k}", "Edm.String")
            fields[prop] = {k: v for k, v in value.items() if k in ADDRESS_KEYS}
        elif prop == "emailAddresses":
            if value is None:
                value = []
            if not isinstance(value, list):
                raise _type_error(prop, "Collection(microsoft.graph.emailAddress)")
            clean = []
            for entry in value:
                if not isinstance(entry, dict):
                    raise _type_error(prop, "microsoft.graph.emailAddress")
                for k, v in entry.items():
                    if k not in ("name", "address"):
                        raise _err(
                            "RequestBodyRead",
                            f"The property '{k}' does not exist on type "
                            "'microsoft.graph.emailAddress' (in property 'emailAddresses').",
                        )
                    if v is not None and not isinstance(v, str):
                        raise _type_error(f"emailAddresses/{k}", "Edm.String")
                clean.append({"name": entry.get("name"), "address": entry.get("address")})
            fields[prop] = clean
        else:
            raise _err(
                "RequestBodyRead",
                f"The property '{prop}' does not exist on type 'microsoft.graph.contact'. Make "
                "sure to only use property names that are defined by the type or mark the type "
                "as open type.",
            )
    for prop, limit in LIMITS.items():
        if prop in fields and len(fields[prop]) > limit:
            name = prop[0].upper() + prop[1:]
            raise _err(
                "ErrorInvalidProperty",
                f"The multi value property {name} has {len(fields[prop])} entries, that exceeds "
                f"the max allowed value of {limit}",
            )
    return fields, ext


def _empty():
    c = {p: None for p in STRING_PROPS}
    c.update({p: [] for p in LIST_PROPS})
    c.update({p: {} for p in ADDRESS_PROPS})
    c["emailAddresses"] = []
    return c


def _display_name(c):
    return " ".join(p for p in (c.get("givenName"), c.get("middleName"), c.get("surname")) if p)


def touch(sim, mb, c):
    change = "created" if "_seq" not in c else "updated"
    mb["seq"] += 1
    c["_seq"] = mb["seq"]
    c["changeKey"] = sim.change_key()
    c["lastModifiedDateTime"] = sim.iso()
    sim._contact_changed(mb, c, change)  # change notifications (subscriptions.py)


def _apply(c, fields, ext, creating):
    c.update(copy.deepcopy(fields))
    names_sent = any(k in fields for k in ("givenName", "middleName", "surname"))
    if "displayName" not in fields and (creating or names_sent):
        generated = _display_name(c)
        if generated or creating:
            c["displayName"] = generated or (
                c["emailAddresses"][0]["address"] if c["emailAddresses"] else ""
            )
    for key, raw_id, value in ext:
        if value is None:
            c["_ext"].pop(key, None)
        else:
            c["_ext"][key] = (raw_id, value)


def create_contact(sim, mb, fid, body):
    fields, ext = validate(body)
    c = _empty()
    c["_ext"] = {}
    c["id"] = sim.outlook_id("AAMkAGI2AAEGAAA")
    c["createdDateTime"] = sim.iso()
    c["parentFolderId"] = fid
    c["_folder"] = fid
    _apply(c, fields, ext, creating=True)
    touch(sim, mb, c)
    mb["contacts"][c["id"]] = c
    return c


def update_contact(sim, mb, c, body):
    fields, ext = validate(body, partial=True)
    _apply(c, fields, ext, creating=False)
    touch(sim, mb, c)
    return c


def delete_contact(sim, mb, cid):
    c = mb["contacts"].pop(cid)
    mb["seq"] += 1
    mb["tombstones"].setdefault(c["_folder"], {})[cid] = mb["seq"]
    sim._contact_changed(mb, c, "deleted")  # change notifications (subscriptions.py)


def render(c, select=None, expand=None):
    """Public JSON of a stored contact.

    select: list of property names (id and @odata.etag always included).
    expand: None (no extended properties), True (all), or a list of normalised ids.
    """
    out = {"@odata.etag": f'W/"{c["changeKey"]}"'}
    props = ALL_PROPS if not select else ["id", *[_LOWER.get(s.lower(), s) for s in select]]
    for p in props:
        if p in c:
            out[p] = copy.deepcopy(c[p])
    if expand is not None:
        wanted = (
            c["_ext"].items()
            if expand is True
            else [(k, c["_ext"][k]) for k in expand if k in c["_ext"]]
        )
        items = [{"id": raw, "value": val} for _, (raw, val) in wanted]
        if items:
            out["singleValueExtendedProperties"] = items
    return out


def check_select(select):
    for s in select or ():
        if s.lower() not in _LOWER and s != "singleValueExtendedProperties":
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{s}' on type 'microsoft.graph.contact'.",
            )


# ---------------------------------------------------------------- folders
def render_folder(f):
    return {
        "id": f["id"],
        "displayName": f["displayName"],
        "parentFolderId": f["parentFolderId"],
    }


def create_folder(sim, mb, display_name):
    if not isinstance(display_name, str) or not display_name.strip():
        raise GraphError(400, "ErrorInvalidRequest", "displayName is required.")
    for f in mb["folders"].values():
        if f["displayName"].lower() == display_name.lower() and not f.get("_default"):
            raise GraphError(
                409, "ErrorFolderExists", "A folder with the specified name already exists."
            )
    fid = sim.outlook_id("AAMkAGI2AAEuAAC")
    mb["folders"][fid] = {"id": fid, "displayName": display_name, "parentFolderId": mb["default"]}
    mb["tombstones"][fid] = {}
    mb["tokens"][fid] = []
    mb["epoch"][fid] = 0
    return render_folder(mb["folders"][fid])


def delete_folder(sim, mb, fid):
    if fid not in mb["folders"]:
        raise KeyError(f"no folder {fid!r}")
    if mb["folders"][fid].get("_default"):
        raise GraphError(
            400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."
        )
    for cid in [cid for cid, c in mb["contacts"].items() if c["_folder"] == fid]:
        del mb["contacts"][cid]
    del mb["folders"][fid]
    for tok in mb["tokens"].pop(fid, []):
        sim._delta_tokens.pop(tok, None)
    mb["tombstones"].pop(fid, None)
    mb["epoch"][fid] = mb["epoch"].get(fid, 0) + 1


# ---------------------------------------------------------------- photos
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def image_kind(data):
    """The content type of an image Outlook takes, by its first bytes; None otherwise."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def image_size(data):
    """(width, height) read from a PNG, GIF or JPEG header; (0, 0) when unknown."""
    try:
        if data.startswith(b"\x89PNG") and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"GIF") and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if data.startswith(b"\xff\xd8"):
            at = 2
            while at + 9 < len(data):
                if data[at] != 0xFF:
                    break
                marker = data[at + 1]
                length = struct.unpack(">H", data[at + 2 : at + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[at + 5 : at + 9])
                    return width, height
                at += 2 + length
    except struct.error:
        pass
    return 0, 0


def check_photo(sim, data, content_type):
    """Refuse what Graph refuses: a body too large, not an image, or not said to be one."""
    limit = int(sim.config["photo_max_bytes"])
    if len(data) > limit:
        raise _err(
            "RequestEntityTooLarge",
            f"The request body of {len(data)} bytes is larger than the limit of {limit} bytes.",
            413,
        )
    if not (content_type or "").lower().startswith("image/"):
        raise _err("BadRequest", "The Content-Type of a photo must be an image type.")
    if not data or image_kind(data) is None:
        raise _err("ErrorInvalidImage", "The photo is not a valid image.")


def set_photo(sim, mb, c, data, content_type):
    c["_photo"] = (bytes(data), content_type or image_kind(data) or "application/octet-stream")
    touch(sim, mb, c)


def delete_photo(sim, mb, c):
    if c.pop("_photo", None) is None:
        raise _err("ErrorItemNotFound", "The photo wasn't found.", 404)
    touch(sim, mb, c)


def photo(c):
    """(bytes, content type) of the contact's photo; GraphError 404 when it has none."""
    stored = c.get("_photo")
    if stored is None:
        raise _err("ErrorItemNotFound", "The photo wasn't found.", 404)
    return stored


def render_photo(sim, c):
    data, content_type = photo(c)
    width, height = image_size(data)
    return {
        "@odata.context": f"{sim.base_url}/v1.0/$metadata#contactPhoto",
        "@odata.mediaContentType": content_type,
        "@odata.mediaEtag": f'W/"{c["changeKey"]}"',
        "id": f"{width}X{height}" if width else "default",
        "width": width,
        "height": height,
    }
