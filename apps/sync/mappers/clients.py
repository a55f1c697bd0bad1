"""Clients <-> Zoho Books contacts, Xero contacts and Zoho CRM contacts.

A canonical snapshot holds only the fields the vendor has, as strings/bools, so that base,
local and remote values compare field by field.
"""

from apps.sync.adapters.base import RemoteRecord

CLIENT_FIELDS = (
    "name",
    "email",
    "phone",
    "mobile",
    "company",
    "billing_address",
    "tax_number",
    "active",
)


def _s(value) -> str:
    return str(value or "").strip()


def _address_lines(parts) -> str:
    return "\n".join(p for p in (_s(x) for x in parts) if p)


def from_zoho_books(record: RemoteRecord) -> dict:
    data = record.data
    address = data.get("billing_address") or {}
    return {
        "name": _s(data.get("contact_name"))[:200],
        "email": _s(data.get("email")).lower()[:254],
        "phone": _s(data.get("phone"))[:50],
        "mobile": _s(data.get("mobile"))[:50],
        "company": _s(data.get("company_name"))[:200],
        "billing_address": _address_lines(
            [address.get(k) for k in ("address", "street2", "city", "state", "zip", "country")]
        ),
        "active": (data.get("status") or "active") == "active",
    }


def to_zoho_books(client: dict) -> dict:
    payload = {
        "contact_name": client["name"],
        "company_name": client.get("company", ""),
        "contact_type": "customer",
        "email": client.get("email", ""),
        "phone": client.get("phone", ""),
        "mobile": client.get("mobile", ""),
    }
    if client.get("billing_address"):
        payload["billing_address"] = {"address": client["billing_address"]}
    return payload


def from_xero(record: RemoteRecord) -> dict:
    data = record.data
    phones = {p.get("PhoneType"): p for p in data.get("Phones") or []}

    def phone(kind: str) -> str:
        p = phones.get(kind) or {}
        return " ".join(
            x
            for x in (
                _s(p.get("PhoneCountryCode")),
                _s(p.get("PhoneAreaCode")),
                _s(p.get("PhoneNumber")),
            )
            if x
        )[:50]

    addresses = {a.get("AddressType"): a for a in data.get("Addresses") or []}
    postal = addresses.get("POBOX") or addresses.get("STREET") or {}
    return {
        "name": _s(data.get("Name"))[:200],
        "email": _s(data.get("EmailAddress")).lower()[:254],
        "phone": phone("DEFAULT"),
        "mobile": phone("MOBILE"),
        "billing_address": _address_lines(
            [
                postal.get(k)
                for k in (
                    "AddressLine1",
                    "AddressLine2",
                    "AddressLine3",
                    "AddressLine4",
                    "City",
                    "Region",
                    "PostalCode",
                    "Country",
                )
            ]
        ),
        "tax_number": _s(data.get("TaxNumber"))[:50],
        "active": (data.get("ContactStatus") or "ACTIVE") == "ACTIVE",
    }


def to_xero(client: dict, *, reference: str = "") -> dict:
    payload: dict = {"Name": client["name"], "EmailAddress": client.get("email", "")}
    if reference:
        payload["ContactNumber"] = reference[:50]
    phones = []
    if client.get("phone"):
        phones.append({"PhoneType": "DEFAULT", "PhoneNumber": client["phone"]})
    if client.get("mobile"):
        phones.append({"PhoneType": "MOBILE", "PhoneNumber": client["mobile"]})
    if phones:
        payload["Phones"] = phones
    if client.get("tax_number"):
        payload["TaxNumber"] = client["tax_number"]
    if client.get("billing_address"):
        lines = client["billing_address"].splitlines()[:4]
        address = {"AddressType": "POBOX"}
        for index, line in enumerate(lines, start=1):
            address[f"AddressLine{index}"] = line
        payload["Addresses"] = [address]
    return payload


def from_zoho_crm(record: RemoteRecord) -> dict:
    data = record.data
    account = data.get("Account_Name") or {}
    name = " ".join(x for x in (_s(data.get("First_Name")), _s(data.get("Last_Name"))) if x)
    return {
        "name": name[:200],
        "email": _s(data.get("Email")).lower()[:254],
        "phone": _s(data.get("Phone"))[:50],
        "mobile": _s(data.get("Mobile"))[:50],
        "company": _s(account.get("name") if isinstance(account, dict) else account)[:200],
    }


def to_zoho_crm(client: dict) -> dict:
    first, _, last = client["name"].rpartition(" ")
    return {
        "First_Name": first,
        "Last_Name": last or client["name"],
        "Email": client.get("email", ""),
        "Phone": client.get("phone", ""),
        "Mobile": client.get("mobile", ""),
    }


def local_snapshot(client) -> dict:
    """The canonical values of a local Client (a model instance or a dict of its fields)."""
    get = client.get if isinstance(client, dict) else lambda f: getattr(client, f)
    snapshot = {field: _s(get(field)) for field in CLIENT_FIELDS if field != "active"}
    snapshot["email"] = snapshot["email"].lower()
    snapshot["active"] = bool(get("active"))
    return snapshot
