"""The Outlook address book of the demo mailbox: about 200 contacts, the same on every run.

Pure Python (no odoo import): `make demo` (tools/demo.py) seeds these into the Graph simulator,
and a tier-1 test checks them. The contacts look like a salesperson's real address book:
companies from eight countries, phones typed in national and international formats (with
``+``, ``00``, ``(0)`` or without), multi-line streets, job titles, notes, several emails, a few
people Odoo's demo data already holds (same email: the sync links them instead of duplicating),
and a few typed carelessly, as real address books have them.
"""

from __future__ import annotations

import random
import unicodedata

DEFAULT_SEED = 18
DEFAULT_COUNT = 200

# Who signs in at the simulator: Odoo's demo administrator, Mitchell Admin, with his own mailbox.
DEMO_MAILBOX = {
    "upn": "admin@yourcompany.example.com",
    "display_name": "Mitchell Admin",
    "givenName": "Mitchell",
    "surname": "Admin",
    "jobTitle": "Chief Executive Officer",
    "department": "Management",
    "companyName": "YourCompany",
}
# The folder the addon syncs by default (Settings > Default Outlook Folder).
DEMO_FOLDER = "Odoo Contacts"

# People of Odoo's demo data (odoo/addons/base/data/res_partner_demo.xml) who are also in the
# mailbox: (name, email as Odoo holds it, company, job title, Odoo's phone).
ODOO_DEMO_PEOPLE = (
    ("Willie Burke", "willie.burke80@example.com", "Wood Corner", "Service Manager",
     "(846)-523-2111"),
    ("Douglas Fletcher", "douglas.fletcher51@example.com", "Deco Addict",
     "Functional Consultant", "(132)-553-7242"),
    ("Edith Sanchez", "edith.sanchez68@example.com", "Ready Mat", "Analyst", "(938)-175-2048"),
    ("Brandon Freeman", "brandon.freeman55@example.com", "Azure Interior", "Creative Director",
     "(355)-687-3262"),
    ("Colleen Diaz", "colleen.diaz83@example.com", "Azure Interior", "Business Executive",
     "(255)-595-8393"),
    ("Julie Richards", "julie.richards84@example.com", "Ready Mat", "Financial Manager",
     "(225)-148-7811"),
    ("Toni Rhodes", "toni.rhodes11@example.com", "The Jackson Group", "Managing Partner",
     "(198)-539-4948"),
    ("Lorraine Douglas", "lorraine.douglas35@example.com", "Lumber Inc",
     "Functional Consultant", "(443)-648-9155"),
)  # fmt: skip

# Contacts typed carelessly on purpose, by display name: the sync reports them per record and
# goes on.
MESSY = {
    "Pieter de Jong": "email typed with two @",
    "Reception Hoffmann & Koch": "a phone that is text, no person name",
    "Kevin O'Neill": "national phone without any country",
}

# code: (Outlook country text, calling code, trunk prefix, cities, fixed lines, mobiles, people)
# cities: (city, postal code, state or "", streets); phone bodies: "#" = a random digit.
COUNTRIES = {
    "FR": (
        "France", "33", "0",
        (
            ("Paris", "75008", "", ("Rue du Faubourg Saint-Honoré", "Avenue de l'Opéra")),
            ("Lyon", "69002", "", ("Rue de la République", "Quai Saint-Antoine")),
            ("Lille", "59000", "", ("Rue Nationale", "Boulevard de la Liberté")),
            ("Bordeaux", "33000", "", ("Cours de l'Intendance", "Rue Sainte-Catherine")),
        ),
        ("1 99 00 ## ##", "4 72 ## ## ##", "3 20 ## ## ##", "5 56 ## ## ##"),
        ("6 12 ## ## ##", "7 81 ## ## ##"),
        (
            ("Camille", "Julien", "Claire", "Thomas", "Sophie", "Nicolas", "Émilie", "Antoine",
             "Léa", "Mathieu", "Inès", "Olivier", "Chloé", "Guillaume", "Manon", "Pierre"),
            ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Fontaine",
             "Rousseau", "Mercier", "Chevalier", "Garnier", "Faure", "Lambert", "Bonnet",
             "Morel"),
        ),
    ),
    "DE": (
        "Germany", "49", "0",
        (
            ("Berlin", "10117", "", ("Friedrichstraße", "Unter den Linden")),
            ("München", "80331", "", ("Kaufingerstraße", "Sendlinger Straße")),
            ("Hamburg", "20095", "", ("Mönckebergstraße", "Spitalerstraße")),
            ("Köln", "50667", "", ("Hohe Straße", "Schildergasse")),
        ),
        ("30 23125 ###", "89 2### ####", "40 3### ####", "221 9## ####"),
        ("151 ########", "171 #######"),
        (
            ("Lukas", "Anna", "Jonas", "Lea", "Felix", "Hannah", "Maximilian", "Sophie", "Paul",
             "Katharina", "Tobias", "Laura", "Sebastian", "Julia", "Matthias", "Miriam"),
            ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
             "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann"),
        ),
    ),
    "BE": (
        "Belgium", "32", "0",
        (
            ("Bruxelles", "1000", "", ("Rue de la Loi", "Avenue Louise")),
            ("Antwerpen", "2000", "", ("Meir", "Lange Nieuwstraat")),
            ("Gent", "9000", "", ("Veldstraat", "Korenmarkt")),
            ("Liège", "4000", "", ("Boulevard d'Avroy", "Rue Léopold")),
        ),
        ("2 5## ## ##", "3 2## ## ##", "9 2## ## ##", "4 2## ## ##"),
        ("470 ## ## ##", "486 ## ## ##"),
        (
            ("Lucas", "Emma", "Arthur", "Louise", "Noah", "Olivia", "Jules", "Elise", "Victor",
             "Marie", "Thibault", "Charlotte", "Wout", "Lotte", "Maxime", "Hanne"),
            ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
             "Wouters", "De Smet", "Dupont", "Vermeulen", "Van Damme", "Leclercq", "Lemaire",
             "Desmet"),
        ),
    ),
    "US": (
        "United States", "1", "",
        (
            ("San Francisco", "94105", "CA", ("Montgomery St", "Market St")),
            ("New York", "10001", "New York", ("W 34th St", "Broadway")),
            ("Chicago", "60601", "IL", ("N Michigan Ave", "W Lake St")),
            ("Boston", "02110", "Massachusetts", ("Congress St", "Atlantic Ave")),
            ("Austin", "78701", "TX", ("Congress Ave", "W 6th St")),
        ),
        ("415 555 01##", "212 555 01##", "312 555 01##", "617 555 01##"),
        ("512 555 01##", "646 555 01##"),
        (
            ("James", "Jennifer", "Michael", "Jessica", "Robert", "Ashley", "David", "Emily",
             "Daniel", "Sarah", "Christopher", "Megan", "Andrew", "Rachel", "Brian", "Lauren"),
            ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia",
             "Rodriguez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Lee"),
        ),
    ),
    "GB": (
        "United Kingdom", "44", "0",
        (
            ("London", "EC1A 1BB", "", ("Baker Street", "Old Street")),
            ("Manchester", "M1 1AE", "", ("Deansgate", "Portland Street")),
            ("Bristol", "BS1 4DJ", "", ("Queen Square", "Park Street")),
            ("Edinburgh", "EH1 1YZ", "", ("Princes Street", "George Street")),
        ),
        ("20 7946 0###", "161 496 0###", "117 496 0###", "131 496 0###"),
        ("7911 123###", "7700 1#####"),
        (
            ("Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Poppy", "Charlie",
             "Sophie", "William", "Grace", "Henry", "Olivia", "Alfie", "Freya"),
            ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans",
             "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Edwards", "Green", "Hall"),
        ),
    ),
    "NL": (
        "Netherlands", "31", "0",
        (
            ("Amsterdam", "1016 DR", "", ("Herengracht", "Keizersgracht")),
            ("Rotterdam", "3011 AD", "", ("Coolsingel", "Witte de Withstraat")),
            ("Utrecht", "3511 LX", "", ("Oudegracht", "Lange Viestraat")),
            ("Eindhoven", "5611 AZ", "", ("Stratumseind", "Vestdijk")),
        ),
        ("20 5## ####", "10 4## ####", "30 2## ####", "40 2## ####"),
        ("6 1#######", "6 4#######"),
        (
            ("Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Levi", "Tess", "Finn", "Sophie",
             "Jesse", "Zoë", "Bram", "Sanne", "Ruben", "Fleur"),
            ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
             "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
             "Hendriks"),
        ),
    ),
    "ES": (
        "Spain", "34", "",
        (
            ("Madrid", "28013", "", ("Calle de Alcalá", "Gran Vía")),
            ("Barcelona", "08002", "", ("Carrer de Ferran", "Passeig de Gràcia")),
            ("Valencia", "46002", "", ("Calle de Colón", "Carrer de la Pau")),
            ("Sevilla", "41001", "", ("Calle Sierpes", "Avenida de la Constitución")),
        ),
        ("91# ### ###", "93# ### ###", "96# ### ###", "95# ### ###"),
        ("6## ### ###", "6## ## ## ##"),
        (
            ("Alejandro", "Lucía", "Pablo", "María", "Javier", "Carmen", "Daniel", "Laura",
             "Sergio", "Elena", "Adrián", "Paula", "Álvaro", "Marta", "Diego", "Sara"),
            ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
             "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno",
             "Álvarez"),
        ),
    ),
    "IN": (
        "India", "91", "0",
        (
            ("Mumbai", "400001", "Maharashtra", ("Nariman Point", "Linking Road")),
            ("Bengaluru", "560001", "Karnataka", ("MG Road", "Residency Road")),
            ("Pune", "411001", "MH", ("FC Road", "East Street")),
            ("Chennai", "600002", "Tamil Nadu", ("Anna Salai", "Cathedral Road")),
        ),
        ("22 2### ####", "80 4### ####", "20 2### ####", "44 2### ####"),
        ("98### #####", "99### #####"),
        (
            ("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Kavya", "Arjun", "Sneha", "Rahul",
             "Pooja", "Karthik", "Divya", "Aditya", "Neha", "Sanjay", "Meera"),
            ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Rao", "Kulkarni",
             "Desai", "Joshi", "Mehta", "Banerjee", "Krishnan", "Singh", "Verma"),
        ),
    ),
}  # fmt: skip
# How many of the generated contacts live in each country.
COUNTRY_WEIGHTS = {"FR": 28, "DE": 26, "BE": 26, "US": 30, "GB": 24, "NL": 20, "ES": 20, "IN": 18}

COMPANIES = {
    "FR": ("Lefèvre & Fils Menuiserie", "Atelier Moreau Design", "Groupe Fontaine Logistique",
           "Cabinet Rousseau Avocats", "Boulangeries Garnier"),
    "DE": ("Weber Maschinenbau GmbH", "Schneider Logistik AG", "Hoffmann & Koch Architekten",
           "Brauerei Neumann", "Klein Software GmbH"),
    "BE": ("Brasserie Van Damme", "Janssens Bouw NV", "Dupont Consulting SRL",
           "Maes Chocolatiers", "Vermeulen Transport BV"),
    "US": ("Pacific Crest Outfitters", "Hudson Analytics LLC", "Lakeshore Medical Supply",
           "Beacon Street Ventures", "Lone Star Solar Inc."),
    "GB": ("Thames Valley Engineering Ltd", "Pennine Textiles", "Harbourside Marketing Ltd",
           "Caledonian Whisky Traders"),
    "NL": ("Bakker Logistiek BV", "De Vries Tuinbouw", "Grachtenpand Architecten",
           "Mulder ICT Services"),
    "ES": ("Construcciones Martínez SL", "Olivos del Sur SA", "Estudio Ruiz Diseño",
           "Vinos Jiménez"),
    "IN": ("Sahyadri Textiles Pvt Ltd", "Indus Software Labs", "Reddy Pharma Exports",
           "Coastal Spice Traders"),
}  # fmt: skip
_LEGAL_FORMS = {"gmbh", "ag", "nv", "srl", "bv", "llc", "inc", "ltd", "sl", "sa", "pvt"}

JOB_TITLES = (
    "Sales Manager", "Account Manager", "Purchasing Manager", "Managing Director",
    "Chief Financial Officer", "Head of Operations", "Office Manager", "Project Manager",
    "Marketing Director", "IT Manager", "Logistics Coordinator", "Procurement Specialist",
    "Business Development Manager", "Customer Success Manager", "Product Owner",
    "Export Manager", "Legal Counsel", "Controller", "Architect", "Founder & CEO",
    "Directeur commercial", "Geschäftsführer", "Jefe de compras", "Inkoper",
)  # fmt: skip
DEPARTMENTS = ("Sales", "Purchasing", "Finance", "Operations", "Marketing", "IT", "Legal")
NOTES = (
    "Met at VivaTech 2024, interested in connecting their ERP.\nFollow up after the summer.",
    "Prefers phone calls before 10:00 CET.",
    "Assistant: Nadia (ext. 214).\nSend invoices to accounts payable, not to them directly.",
    "Key account: annual review every March.",
    "Speaks French, Dutch and English.",
    "Former colleague, now on the customer side.",
    "Delivery address differs from billing:\nWarehouse B, dock 4\nOpen 7:00-15:00",
    "Do not call on Fridays.",
    "Asked for a quote on 500 units, waiting for their budget approval.",
    "Introduced by the trade fair organisers.\nVery responsive on email.",
)
STREET_EXTRAS = {
    "FR": ("Bâtiment B, 3e étage", "CS 70012", "BP 4021"),
    "DE": ("Hinterhaus, 2. OG", "c/o Regus Business Centre"),
    "BE": ("Bus 3", "Boîte 12"),
    "US": ("Suite 1200", "Floor 5", "Unit 210"),
    "GB": ("Unit 4, Riverside Park", "Second Floor"),
    "NL": ("2e verdieping", "Unit 3.14"),
    "ES": ("3º izquierda", "Planta 2"),
    "IN": ("2nd Floor, Prestige Tower", "Near City Mall"),
}
PERSONAL_DOMAINS = ("outlook.example", "mail.example", "gmx.example")


def ascii_slug(text, sep=""):
    """Lowercase ASCII letters and digits of `text` (accents dropped), words joined by `sep`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in folded).split()
    return sep.join(words)


def company_domain(company):
    words = [w for w in ascii_slug(company, " ").split() if w not in _LEGAL_FORMS]
    return "-".join(words) + ".example"


def _digits(rng, pattern):
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in pattern)


def format_phone(rng, code, body, layout):
    """`body` (national number without trunk prefix, spaced) typed in one of the layouts."""
    _text, calling, trunk = COUNTRIES[code][:3]
    digits = body.replace(" ", "")
    if code == "US":
        area, exchange, line = digits[:3], digits[3:6], digits[6:]
        return {
            "national": f"({area}) {exchange}-{line}",
            "national_dashes": f"{area}-{exchange}-{line}",
            "international": f"+1 {area}-{exchange}-{line}",
            "international_spaces": f"+1 ({area}) {exchange} {line}",
            "idd": f"1-{area}-{exchange}-{line}",  # the long-distance prefix of North America
            "e164": f"+1{digits}",
        }[layout]
    return {
        "national": f"{trunk}{body}",
        "national_dashes": f"{trunk}{body}".replace(" ", "-", 1),
        "international": f"+{calling} {body}",
        "international_spaces": (
            f"+{calling} ({trunk}){body}" if code in TRUNK_IN_BRACKETS else f"+{calling} {body}"
        ),
        "idd": f"00{calling} {body}",
        "e164": f"+{calling}{digits}",
    }[layout]


LAYOUT_WEIGHTS = {
    "national": 34,
    "national_dashes": 6,
    "international": 30,
    "international_spaces": 10,
    "idd": 8,
    "e164": 12,
}
# Without an address, only numbers that carry their country can be read: no "00" (its meaning
# depends on where one dials from), no national layouts.
INTERNATIONAL_LAYOUTS = ("international", "international_spaces", "e164")
# Where business cards write the trunk prefix in brackets: "+44 (0)20 7946 0958".
TRUNK_IN_BRACKETS = {"FR", "BE", "DE", "GB", "NL"}


def _phone(rng, code, kind, international_only=False):
    plans = COUNTRIES[code][4 if kind == "fixed" else 5]
    body = _digits(rng, rng.choice(plans))
    if international_only:
        layout = rng.choice(INTERNATIONAL_LAYOUTS)
    else:
        layout = rng.choices(list(LAYOUT_WEIGHTS), weights=list(LAYOUT_WEIGHTS.values()))[0]
    return format_phone(rng, code, body, layout)


class _Emails:
    """Hands out addresses that no other contact of the book uses."""

    def __init__(self):
        self.used = set()

    def take(self, local, domain):
        candidate, n = f"{local}@{domain}", 1
        while candidate.lower() in self.used:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self.used.add(candidate.lower())
        return candidate


def _person(rng, code, emails):
    country_text, _calling, _trunk, cities, _fixed, _mobiles, (firsts, lasts) = COUNTRIES[code]
    first, last = rng.choice(firsts), rng.choice(lasts)
    first_slug, last_slug = ascii_slug(first), ascii_slug(last)
    contact = {"givenName": first, "surname": last, "displayName": f"{first} {last}"}
    company = rng.choice(COMPANIES[code]) if rng.random() < 0.85 else None
    addresses = []
    if company:
        contact["companyName"] = company
        domain = company_domain(company)
        local = rng.choice(
            (f"{first_slug}.{last_slug}", f"{first_slug[0]}.{last_slug}", first_slug)
        )
        addresses.append(emails.take(local, domain))
        if rng.random() < 0.8:
            contact["jobTitle"] = rng.choice(JOB_TITLES)
        if rng.random() < 0.3:
            contact["department"] = rng.choice(DEPARTMENTS)
        if rng.random() < 0.25:
            contact["businessHomePage"] = rng.choice(
                (f"https://www.{domain}", f"www.{domain}", f"{domain}/contact")
            )
    extra = rng.choices((0, 1, 2), weights=(72, 22, 6))[0]
    if not company:
        extra = max(extra, 1)
    for _ in range(extra):
        addresses.append(emails.take(f"{first_slug}.{last_slug}", rng.choice(PERSONAL_DOMAINS)))
    if company and rng.random() < 0.04:
        addresses = []  # known by phone only
    contact["emailAddresses"] = [{"name": f"{first} {last}", "address": a} for a in addresses]

    has_address = rng.random() < 0.8
    international_only = not has_address
    if company or rng.random() < 0.3:
        count = rng.choices((1, 2), weights=(80, 20))[0]
        contact["businessPhones"] = [
            _phone(rng, code, "fixed", international_only) for _ in range(count)
        ]
    if rng.random() < 0.7 or "businessPhones" not in contact:
        contact["mobilePhone"] = _phone(rng, code, "mobile", international_only)
    if rng.random() < 0.05:
        contact["homePhones"] = [_phone(rng, code, "fixed", international_only)]
    if has_address:
        city, postal, state, streets = rng.choice(cities)
        number = str(rng.randrange(1, 240))
        street_name = rng.choice(streets)
        street = {
            "FR": f"{number} {street_name}",
            "US": f"{number} {street_name}",
            "GB": f"{number} {street_name}",
            "IN": f"{number}, {street_name}",
            "ES": f"{street_name}, {number}",
        }.get(code, f"{street_name} {number}")
        if rng.random() < 0.35:
            street += "\n" + rng.choice(STREET_EXTRAS[code])
        address = {"street": street, "city": city, "postalCode": postal}
        if state:
            address["state"] = state
        address["countryOrRegion"] = code if rng.random() < 0.1 else country_text
        contact["businessAddress"] = address
    if rng.random() < 0.25:
        contact["personalNotes"] = rng.choice(NOTES)
    if rng.random() < 0.08:
        contact["title"] = rng.choice(("Dr.", "Prof.", "Mr.", "Ms."))
    if rng.random() < 0.2:
        contact["categories"] = rng.sample(("Customer", "Supplier", "Prospect", "VIP"), 1)
    return contact


def _odoo_duplicates(rng, emails):
    """Odoo's demo people as the mailbox knows them: same person, some details differ."""
    out = []
    for index, (name, email, company, job, phone) in enumerate(ODOO_DEMO_PEOPLE):
        first, last = name.split(" ", 1)
        # Outlook keeps addresses as typed: case differs for some, a second one for others.
        address = email.title() if index % 3 == 1 else email
        emails.used.add(email.lower())
        addresses = [address]
        if index % 4 == 2:
            addresses.append(emails.take(ascii_slug(name, "."), company_domain(company)))
        contact = {
            "givenName": first,
            "surname": last,
            "displayName": name,
            "companyName": company,
            "jobTitle": "Head of Business Development" if index == 4 else job,
            "emailAddresses": [{"name": name, "address": a} for a in addresses],
            "businessPhones": [phone],
            "mobilePhone": _phone(rng, "US", "mobile", international_only=True),
        }
        if index % 2 == 0:
            contact["personalNotes"] = rng.choice(NOTES)
        out.append(contact)
    return out


def _messy(rng, emails):
    """The careless entries listed in MESSY, one per kind of mistake."""
    return [
        {
            "givenName": "Pieter",
            "surname": "de Jong",
            "displayName": "Pieter de Jong",
            "companyName": "Bakker Logistiek BV",
            "emailAddresses": [
                {"name": "Pieter de Jong", "address": "pieter.dejong@@bakker-logistiek.example"}
            ],
            "mobilePhone": "06 1234 5678",
            "businessAddress": {"city": "Rotterdam", "countryOrRegion": "Netherlands"},
        },
        {
            "displayName": "Reception Hoffmann & Koch",
            "companyName": "Hoffmann & Koch Architekten",
            "businessPhones": ["ask for Mrs Koch, ext. 12"],
            "emailAddresses": [
                {"address": emails.take("empfang", company_domain("Hoffmann & Koch Architekten"))}
            ],
        },
        {
            "givenName": "Kevin",
            "surname": "O'Neill",
            "displayName": "Kevin O'Neill",
            "emailAddresses": [{"address": emails.take("kevin.oneill", "mail.example")}],
            "mobilePhone": "087 123 4567",
            "personalNotes": "Met him in Dublin; number written down from his card.",
        },
    ]


def demo_contacts(seed=DEFAULT_SEED, count=DEFAULT_COUNT):
    """`count` Outlook contacts (Graph JSON bodies), the same for the same seed."""
    rng = random.Random(seed)
    emails = _Emails()
    special = _odoo_duplicates(rng, emails) + _messy(rng, emails)
    codes = list(COUNTRY_WEIGHTS)
    weights = list(COUNTRY_WEIGHTS.values())
    generated = [
        _person(rng, rng.choices(codes, weights=weights)[0], emails)
        for _ in range(max(count - len(special), 0))
    ]
    contacts = generated + special[:count]
    rng.shuffle(contacts)
    return contacts


def country_code(text):
    """The ISO code of an Outlook country text of this book (name or code), else None."""
    for code, spec in COUNTRIES.items():
        if text in (code, spec[0]):
            return code
    return None
