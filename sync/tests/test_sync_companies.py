"""Company names from Outlook: which Odoo company they mean, and when a link would lose data."""

from sync.companies import address_key, keeps_own_address, pick_company

COMPANIES = [
    (1, "Acme"),
    (2, "ACME "),
    (3, "Globex Corporation"),
    (4, "Initech"),
    (5, "Initech BE"),
]


def test_the_exact_name_wins_oldest_first_then_the_single_containing_one():
    assert pick_company(" acme", COMPANIES) == 1
    assert pick_company("Globex", COMPANIES) == 3
    assert pick_company("Init", COMPANIES) is None, "two contain it: ambiguous"
    assert pick_company("Initech", COMPANIES) == 4, "exact beats containing"
    assert pick_company("Umbrella", COMPANIES) is None


def test_an_own_address_that_differs_keeps_the_contact_apart():
    own = address_key(["Rue  Haute 1", False, "Brussels", False, "1000", 21])
    same = address_key(["rue haute 1", "", "BRUSSELS", None, "1000", 21])
    assert own == same and not keeps_own_address(own, same)
    other = address_key(["Main Street 5", False, "Gent", False, "9000", 21])
    assert keeps_own_address(own, other)
    assert not keeps_own_address(own, address_key([False] * 6)), "the company has none"
    assert not keeps_own_address(address_key([False] * 6), other), "the contact has none"
