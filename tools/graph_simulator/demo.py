"""Deterministic demo data (users, contacts, groups) from the simulator's seeded RNG."""

from __future__ import annotations

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Edsger",
    "Frances",
    "Dennis",
    "Radia",
    "Tim",
    "Katherine",
    "John",
    "Hedy",
    "Niklaus",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Dijkstra",
    "Allen",
    "Ritchie",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "Wirth",
]
COMPANIES = ["Contoso", "Fabrikam", "Northwind", "Tailspin Toys", "Wide World Importers"]
CITIES = [
    ("Brussels", "BE", "1000"),
    ("Paris", "FR", "75001"),
    ("Berlin", "DE", "10115"),
    ("Madrid", "ES", "28001"),
    ("Amsterdam", "NL", "1011"),
]


def fake_contact(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    city, country, postal = rng.choice(CITIES)
    domain = company.lower().replace(" ", "") + ".example.com"
    email = f"{first.lower()}.{last.lower().replace('-', '')}{i}@{domain}"
    return {
        "givenName": first,
        "surname": last,
        "displayName": f"{first} {last}",
        "companyName": company,
        "jobTitle": rng.choice(["Engineer", "Manager", "Sales", "Director", None]),
        "emailAddresses": [{"name": f"{first} {last}", "address": email}],
        "businessPhones": [
            f"+32 2 {rng.randrange(100, 999)} {rng.randrange(10, 99)} {i % 100:02d}"
        ],
        "mobilePhone": f"+32 470 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {i % 100:02d}",
        "businessAddress": {
            "street": f"{rng.randrange(1, 200)} Main Street",
            "city": city,
            "postalCode": postal,
            "countryOrRegion": country,
        },
        "categories": rng.sample(["Customer", "Supplier", "Partner", "VIP"], rng.randrange(0, 2)),
    }


def seed_demo(sim, users=3, contacts_per_user=25, groups=True):
    """Create `users` users (user1@contoso.example.com ...) each with contacts; return a summary."""
    created = []
    for n in range(1, users + 1):
        first, last = FIRST[(n - 1) % len(FIRST)], LAST[(n - 1) % len(LAST)]
        user = sim.add_user(
            f"user{n}@contoso.example.com",
            display_name=f"{first} {last}",
            jobTitle="Account Manager",
            department=["Sales", "Support", "R&D"][n % 3],
            companyName="Contoso",
        )
        with sim._lock:
            data = [fake_contact(sim.rng, i) for i in range(contacts_per_user)]
        sim.seed_contacts(user["id"], data)
        created.append({"id": user["id"], "upn": user["userPrincipalName"]})
    info = {"users": created}
    if groups and created:
        inner = sim.add_group(
            "Sales Team", members=[u["id"] for u in created[: max(1, len(created) // 2)]]
        )
        outer = sim.add_group(
            "All Staff", members=[inner["id"], *[u["id"] for u in created[len(created) // 2 :]]]
        )
        info["groups"] = [
            {"id": inner["id"], "displayName": "Sales Team"},
            {"id": outer["id"], "displayName": "All Staff"},
        ]
    return info
