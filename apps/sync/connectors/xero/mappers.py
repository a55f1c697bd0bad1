"""Clients and services <-> Xero contacts and items: pure functions between canonical snapshots
(apps/sync/engine/entities.py) and Accounting 2.0 payloads."""

from decimal import Decimal

from apps.sync.engine.entities import money_text, percent_text, text
from apps.sync.engine.records import RemoteRecord

# Where the adapter keeps the percentage of an item's sales TaxType (adapter.TAX_PERCENT).
TAX_PERCENT = "SyncdeskTaxPercent"


def _address_lines(parts) -> str:
    return "\n".join(p for p in (text(x) for x in parts) if p)


def contact_from_xero(record: RemoteRecord) -> dict:
    data = record.data
    phones = {p.get("PhoneType"): p for p in data.get("Phones") or []}

    def phone(kind: str) -> str:
        p = phones.get(kind) or {}
        parts = ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")
        return " ".join(x for x in (text(p.get(k)) for k in parts) if x)[:50]

    addresses = {a.get("AddressType"): a for a in data.get("Addresses") or []}
    postal = addresses.get("POBOX") or addresses.get("STREET") or {}
    return {
        "name": text(data.get("Name"))[:200],
        "email": text(data.get("EmailAddress")).lower()[:254],
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
        "tax_number": text(data.get("TaxNumber"))[:50],
        "active": (data.get("ContactStatus") or "ACTIVE") == "ACTIVE",
    }


def contact_to_xero(client: dict, *, reference: str = "") -> dict:
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


def item_from_xero(record: RemoteRecord) -> dict:
    """An item not sold (IsSold false) is not an active service; its sales TaxType comes as the
    percentage the adapter read for it (the local rate of that percentage, made when missing)."""
    data = record.data
    sales = data.get("SalesDetails") or {}
    return {
        "name": text(data.get("Name") or data.get("Code"))[:200],
        "description": text(data.get("Description")),
        "rate": money_text(sales.get("UnitPrice")),
        "sku": text(data.get("Code"))[:64],
        "active": data.get("IsSold") is not False,
        "tax_rate": percent_text(data.get(TAX_PERCENT)) if sales.get("TaxType") else "",
    }


def item_to_xero(service: dict, *, tax_type: str = "", account_code: str = "") -> dict:
    sales: dict = {"UnitPrice": float(Decimal(service["rate"]))}
    if account_code:
        sales["AccountCode"] = account_code
    if tax_type:
        sales["TaxType"] = tax_type
    return {
        "Code": (service.get("sku") or "")[:30],
        "Name": service["name"][:50],
        "Description": service.get("description", ""),
        "IsSold": bool(service.get("active", True)),
        "SalesDetails": sales,
    }
