"""Demo clients: fifty South African people and companies, loaded through the client services.

`load_demo_clients()` is idempotent: a client whose e-mail is already on file is not created again.
"""

from django.db import transaction

from apps.clients.selectors import client_find_by_email
from apps.clients.services import client_create

# (name, company, street, suburb, city, postal code); company clients carry a VAT number.
PEOPLE = [
    ("Thandeka Dlamini", "", "14 Glenhove Road", "Melrose Estate", "Johannesburg", "2196"),
    ("Sipho Ndlovu", "", "7 Protea Street", "Soweto", "Johannesburg", "1804"),
    ("Lerato Mokoena", "", "22 Jan Smuts Avenue", "Parktown North", "Johannesburg", "2193"),
    ("Pieter van der Merwe", "", "3 Kloof Nek Road", "Tamboerskloof", "Cape Town", "8001"),
    ("Aisha Patel", "", "45 Florida Road", "Morningside", "Durban", "4001"),
    ("Bongani Khumalo", "", "118 Church Street", "Hatfield", "Pretoria", "0083"),
    ("Naledi Mahlangu", "", "9 Brooklyn Road", "Brooklyn", "Pretoria", "0181"),
    ("Johan Botha", "", "31 Dorp Street", "Stellenbosch Central", "Stellenbosch", "7600"),
    ("Zanele Mthembu", "", "66 Musgrave Road", "Berea", "Durban", "4001"),
    ("Kagiso Molefe", "", "12 Beyers Naude Drive", "Northcliff", "Johannesburg", "2195"),
    ("Priya Naidoo", "", "5 Umhlanga Rocks Drive", "Umhlanga", "Durban", "4319"),
    ("Andile Nkosi", "", "230 Main Road", "Observatory", "Cape Town", "7925"),
    ("Refilwe Sithole", "", "17 Rivonia Road", "Sandhurst", "Johannesburg", "2196"),
    ("Marius du Plessis", "", "4 Voortrekker Road", "Bellville", "Cape Town", "7530"),
    ("Nomvula Zulu", "", "83 Chris Hani Road", "Orlando East", "Johannesburg", "1804"),
    ("Charlene Adams", "", "11 Station Road", "Rondebosch", "Cape Town", "7700"),
    ("Tshepo Mabena", "", "27 Lynnwood Road", "Lynnwood", "Pretoria", "0081"),
    ("Ayanda Cele", "", "150 Anton Lembede Street", "Durban Central", "Durban", "4001"),
    ("Francois Joubert", "", "8 Paul Kruger Street", "Paarl", "Paarl", "7646"),
    ("Lindiwe Shabalala", "", "2 Oxford Road", "Illovo", "Johannesburg", "2196"),
    ("Mohammed Essop", "", "36 Bree Street", "Cape Town City Centre", "Cape Town", "8001"),
    ("Karabo Letsoalo", "", "19 Hans Strijdom Drive", "Polokwane Central", "Polokwane", "0699"),
    ("Elize Steyn", "", "62 Nelson Mandela Drive", "Brandwag", "Bloemfontein", "9301"),
    ("Vusi Mkhize", "", "5 Sutton Crescent", "Morningside", "Durban", "4001"),
    ("Palesa Motaung", "", "40 Louis Botha Avenue", "Houghton Estate", "Johannesburg", "2198"),
    ("Grant Williams", "", "9 Beach Road", "Sea Point", "Cape Town", "8005"),
    (
        "Nokuthula Ntuli",
        "",
        "21 Pietermaritz Street",
        "Pietermaritzburg Central",
        "Pietermaritzburg",
        "3201",
    ),
    ("Ruan Pretorius", "", "14 Steve Biko Road", "Arcadia", "Pretoria", "0083"),
    ("Fatima Davids", "", "3 Wale Street", "Bo-Kaap", "Cape Town", "8001"),
    ("Mandla Zwane", "", "77 Samora Machel Street", "Mbombela Central", "Mbombela", "1201"),
    ("Jessica Naicker", "", "120 Kingsway Road", "Amanzimtoti", "Amanzimtoti", "4126"),
    ("Themba Hadebe", "", "6 Cape Road", "Newton Park", "Gqeberha", "6045"),
    ("Annelie Swanepoel", "", "25 Langenhoven Street", "Oudtshoorn", "Oudtshoorn", "6625"),
    ("Siyabonga Gumede", "", "8 Main Street", "Ballito", "Ballito", "4420"),
    ("Keabetswe Phiri", "", "55 Nelson Mandela Drive", "Rustenburg Central", "Rustenburg", "0299"),
    ("Liam O'Connor", "", "18 Kildare Road", "Newlands", "Cape Town", "7700"),
    ("Dineo Ramaphosa", "", "3 Jan Shoba Street", "Brooklyn", "Pretoria", "0181"),
    ("Hendrik Coetzee", "", "90 Bosman Street", "Potchefstroom", "Potchefstroom", "2531"),
]

COMPANIES = [
    (
        "Mpho Mokoena",
        "Mokoena Attorneys Inc.",
        "Office 4, 21 Fricker Road",
        "Illovo",
        "Johannesburg",
        "2196",
    ),
    (
        "Sarah Jacobs",
        "Table Bay Relocations (Pty) Ltd",
        "2nd Floor, 80 Strand Street",
        "Cape Town City Centre",
        "Cape Town",
        "8001",
    ),
    (
        "Rajesh Govender",
        "Govender & Associates Chartered Accountants",
        "12 Ridge Road",
        "Musgrave",
        "Durban",
        "4001",
    ),
    (
        "Nadia Fourie",
        "Fourie Immigration Consultants CC",
        "15 Dely Road",
        "Hazelwood",
        "Pretoria",
        "0081",
    ),
    (
        "Kabelo Seleke",
        "Seleke Mining Services (Pty) Ltd",
        "1 Sandton Drive",
        "Sandown",
        "Johannesburg",
        "2196",
    ),
    ("Megan Pillay", "Ubuntu Au Pairs", "33 Greyville Avenue", "Greyville", "Durban", "4001"),
    (
        "Willem de Villiers",
        "De Villiers Wine Exports",
        "Farm 412, R44",
        "Stellenbosch",
        "Stellenbosch",
        "7600",
    ),
    (
        "Zodwa Masondo",
        "Masondo Medical Recruitment (Pty) Ltd",
        "50 Mandela Drive",
        "Silverton",
        "Pretoria",
        "0184",
    ),
    (
        "David Cohen",
        "Cohen & Partners Notaries",
        "3 Sturdee Avenue",
        "Rosebank",
        "Johannesburg",
        "2196",
    ),
    (
        "Ntombi Dube",
        "Khaya Education Agency",
        "18 Tyrwhitt Avenue",
        "Rosebank",
        "Johannesburg",
        "2196",
    ),
    ("Yusuf Moosa", "Moosa Freight & Logistics", "7 Bluff Road", "Fynnland", "Durban", "4052"),
    (
        "Carla Meyer",
        "Karoo Heritage Tours",
        "12 Church Street",
        "Graaff-Reinet",
        "Graaff-Reinet",
        "6280",
    ),
]

MOBILE_PREFIXES = ["82", "83", "72", "71", "60", "79", "84", "73", "76", "81"]


def _slug(text: str) -> str:
    keep = "".join(ch.lower() if ch.isalnum() else " " for ch in text)
    return "-".join(word for word in keep.split() if word not in {"pty", "ltd", "inc", "cc"})


def demo_client_rows() -> list[dict[str, str]]:
    """The fifty clients as service arguments, deterministic from their position."""
    rows = []
    for index, (name, company, street, suburb, city, code) in enumerate(PEOPLE + COMPANIES):
        first, last = name.split(" ", 1)
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
        middle, end = 200 + (index * 37) % 700, 1000 + (index * 389) % 9000
        mobile = f"+27 {prefix} {middle:03d} {end:04d}"
        row = {
            "name": name,
            "company": company,
            "email": f"accounts@{_slug(company)}.example.co.za"
            if company
            else f"{local}@example.com",
            "mobile": mobile,
            "whatsapp_id": mobile.replace("+", "").replace(" ", "") if index % 3 else "",
            "phone": f"+27 {10 + index % 5}1 555 {1000 + index:04d}" if company else "",
            "billing_address": f"{street}\n{suburb}\n{city}\n{code}",
            "tax_number": f"4{(170000000 + index * 7919) % 1000000000:09d}" if company else "",
            "notes": "Prefers WhatsApp for updates." if index % 7 == 3 else "",
        }
        rows.append(row)
    return rows


@transaction.atomic
def load_demo_clients(*, actor=None) -> dict[str, int]:
    """Create the demo clients not already on file (matched by e-mail); returns how many."""
    created = 0
    for row in demo_client_rows():
        if client_find_by_email(email=row["email"]) is not None:
            continue
        client_create(**row, actor=actor)
        created += 1
    return {"clients": created}
