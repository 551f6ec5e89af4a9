"""Entra ID user -> partner values: every refusal comes with a reason, the rest converts."""

import pytest

from sync.directory import (
    DEFAULT_MAPPING,
    NOT_IN_GROUPS,
    Lookups,
    MappingLine,
    TargetField,
    attribute_value,
    convert_user,
    group_scope_changes,
    selected_attributes,
)

FIELDS = {
    "name": TargetField("name", "char", "Name", required=True),
    "email": TargetField("email", "char", "Email"),
    "phone": TargetField("phone", "char", "Phone"),
    "mobile": TargetField("mobile", "char", "Mobile"),
    "function": TargetField("function", "char", "Job Position"),
    "company_name": TargetField("company_name", "char", "Company Name"),
    "street": TargetField("street", "char", "Street"),
    "city": TargetField("city", "char", "City"),
    "zip": TargetField("zip", "char", "Zip"),
    "state_id": TargetField("state_id", "many2one", "State", relation="res.country.state"),
    "country_id": TargetField("country_id", "many2one", "Country", relation="res.country"),
    "x_badge": TargetField("x_badge", "integer", "Badge"),
    "x_rate": TargetField("x_rate", "float", "Rate"),
    "x_remote": TargetField("x_remote", "boolean", "Remote"),
    "x_grade": TargetField("x_grade", "selection", "Grade", selection=("a", "b")),
    "x_code": TargetField("x_code", "char", "Code", size=4),
}
LOOKUPS = Lookups(
    countries={"be": 21, "belgium": 21, "us": 233, "united states": 233},
    states={(233, "wa"): 60, (233, "washington"): 60},
)
DEFAULT_LINES = [MappingLine(a, f, o) for a, f, o in DEFAULT_MAPPING]

ADELE = {
    "id": "u-1",
    "displayName": "Adele Vance",
    "mail": "Adele.Vance@contoso.test",
    "userPrincipalName": "adele@contoso.test",
    "businessPhones": ["", "+1 425 555 0109"],
    "mobilePhone": None,
    "jobTitle": "Retail Manager",
    "companyName": "Contoso",
    "streetAddress": "205 108th Ave NE",
    "city": "Bellevue",
    "postalCode": "98004",
    "state": "WA",
    "country": "United States",
    "employeeId": "1234",
    "onPremisesExtensionAttributes": {"extensionAttribute3": "b"},
}


def test_default_mapping_converts_a_full_user():
    converted = convert_user(ADELE, DEFAULT_LINES, FIELDS, LOOKUPS)
    assert converted.ok, converted.problems
    assert converted.email == "Adele.Vance@contoso.test"
    assert converted.values == {
        "name": "Adele Vance",
        "email": "Adele.Vance@contoso.test",
        "phone": "+1 425 555 0109",
        "mobile": False,
        "function": "Retail Manager",
        "company_name": "Contoso",
        "street": "205 108th Ave NE",
        "city": "Bellevue",
        "zip": "98004",
        "state_id": 60,
        "country_id": 233,
    }


def test_mail_falls_back_to_the_user_principal_name():
    user = {**ADELE, "mail": None}
    assert convert_user(user, DEFAULT_LINES, FIELDS, LOOKUPS).email == "adele@contoso.test"
    assert attribute_value(user, "mail_or_upn") == "adele@contoso.test"


def test_custom_fields_and_extension_attributes():
    lines = [
        MappingLine("displayName", "name"),
        MappingLine("employeeId", "x_badge"),
        MappingLine("onPremisesExtensionAttributes.extensionAttribute3", "x_grade"),
    ]
    converted = convert_user(ADELE, lines, FIELDS, LOOKUPS)
    assert converted.values == {"name": "Adele Vance", "x_badge": 1234, "x_grade": "b"}
    assert selected_attributes(lines) == {
        "displayName",
        "employeeId",
        "onPremisesExtensionAttributes",
    }


@pytest.mark.parametrize(
    "attribute, value, field, reason",
    [
        ("employeeId", "E-17", "x_badge", "Badge: type mismatch: 'E-17' is not a whole number"),
        ("employeeId", "99999999999", "x_badge", "out of range"),
        ("employeeId", "n/a", "x_rate", "Rate: type mismatch"),
        ("employeeId", "inf", "x_rate", "Rate: type mismatch"),
        ("employeeId", "perhaps", "x_remote", "Remote: type mismatch"),
        ("employeeId", "c", "x_grade", "not one of the allowed values (a, b)"),
        ("employeeId", "12345", "x_code", "Code: too long (5 characters, at most 4)"),
        ("jobTitle", "x" * 2000, "function", "Job Position: too long (2000 characters"),
        ("country", "Atlantis", "country_id", "Country: unknown country 'Atlantis'"),
        ("businessPhones", [{"number": 1}], "phone", "Phone: type mismatch"),
        ("jobTitle", ["a", "b"], "function", "type mismatch: a list"),
        ("jobTitle", True, "function", "type mismatch"),
    ],
)
def test_values_that_do_not_fit_fail_the_record_with_a_reason(attribute, value, field, reason):
    user = {**ADELE, attribute: value}
    lines = [MappingLine("displayName", "name"), MappingLine(attribute, field)]
    converted = convert_user(user, lines, FIELDS, LOOKUPS)
    assert not converted.ok
    assert any(reason in problem for problem in converted.problems), converted.problems
    assert field not in converted.values


def test_required_field_empty_and_invalid_email():
    user = {**ADELE, "displayName": "  ", "mail": "not an address"}
    converted = convert_user(user, DEFAULT_LINES, FIELDS, LOOKUPS)
    assert "required field empty: Name" in converted.problems
    assert "invalid email: 'not an address'" in converted.problems


def test_state_needs_its_country():
    user = {**ADELE, "country": None}
    converted = convert_user(user, DEFAULT_LINES, FIELDS, LOOKUPS)
    assert converted.problems == ["State: unknown state 'WA' (no country)"]
    converted = convert_user({**ADELE, "state": None}, DEFAULT_LINES, FIELDS, LOOKUPS)
    assert converted.ok and converted.values["state_id"] is False


def test_unsupported_targets_are_refused_at_configuration():
    assert TargetField("parent_id", "many2one", relation="res.partner").refusal()
    assert TargetField("image_1920", "binary").refusal()
    assert TargetField("country_id", "many2one", relation="res.country").refusal() is None


def test_attributes_absent_from_a_delta_item_are_left_alone():
    partial = {"id": "u-1", "jobTitle": "Director"}
    converted = convert_user(partial, DEFAULT_LINES, FIELDS, LOOKUPS)
    assert converted.values == {"function": "Director"}
    assert converted.ok


# -- an import limited to groups: the users delta filtered by membership -----------------


def _members(*ids):
    return {user_id: {"id": user_id, "displayName": user_id.title()} for user_id in ids}


def test_a_full_group_read_imports_every_member():
    users, gone = group_scope_changes(_members("ann", "bob"), None)
    assert [user["id"] for user in users] == ["ann", "bob"]
    assert gone == {}


def test_an_incremental_group_read_imports_changed_and_joining_members_only():
    users, gone = group_scope_changes(
        _members("ann", "bob", "cid", "dan"),
        previous=["ann", "bob", "cid", "eve"],
        changed=[{"id": "bob"}, {"id": "zed"}],  # zed changed outside the groups
        removed={"fay": "deleted"},
    )
    assert [user["id"] for user in users] == ["bob", "dan"]  # changed, joined
    assert gone == {"eve": NOT_IN_GROUPS, "fay": "deleted"}


def test_a_member_deleted_in_entra_id_is_gone_as_deleted_not_as_a_leaver():
    users, gone = group_scope_changes(
        _members("ann"), previous=["ann", "bob"], removed={"bob": "deleted"}
    )
    assert users == []
    assert gone == {"bob": "deleted"}


def test_nothing_changed_means_nothing_to_do():
    users, gone = group_scope_changes(_members("ann", "bob"), previous=["bob", "ann"])
    assert (users, gone) == ([], {})


def test_the_members_attributes_are_imported_not_the_deltas():
    members = {"ann": {"id": "ann", "jobTitle": "Buyer", "userType": "Member"}}
    users, _gone = group_scope_changes(members, ["ann"], changed=[{"id": "ann"}])
    assert users == [members["ann"]]
