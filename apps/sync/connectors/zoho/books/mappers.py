"""Clients and services <-> Zoho Books contacts and items: pure functions between canonical
snapshots (apps/sync/engine/entities.py) and Books payloads."""

from decimal import Decimal

from apps.sync.engine.entities import money_text, percent_text, text
from apps.sync.engine.records import RemoteRecord
from apps.sync.engine.taxes import VendorCurrency, VendorSettings, VendorTax


def _address_lines(parts) -> str:
    return "\n".join(p for p in (text(x) for x in parts) if p)


def contact_from_books(record: RemoteRecord) -> dict:
    data = record.data
    address = data.get("billing_address") or {}
    return {
        "name": text(data.get("contact_name"))[:200],
        "email": text(data.get("email")).lower()[:254],
        "phone": text(data.get("phone"))[:50],
        "mobile": text(data.get("mobile"))[:50],
        "company": text(data.get("company_name"))[:200],
        "billing_address": _address_lines(
            [address.get(k) for k in ("address", "street2", "city", "state", "zip", "country")]
        ),
        "active": (data.get("status") or "active") == "active",
    }


# The contact's tax registration number: its name depends on the organisation's edition (UK and
# EU `vat_reg_no`, GCC and others `tax_reg_no`, India `gst_no`; zoho.com/books/api/v3/contacts).
TAX_NUMBER_FIELDS = ("vat_reg_no", "tax_reg_no", "gst_no")


def contact_match_keys_books(record: RemoteRecord) -> dict:
    """What the matching review may match a Books contact on besides its mapped values."""
    data = record.data
    number = next((text(data.get(name)) for name in TAX_NUMBER_FIELDS if text(data.get(name))), "")
    return {"tax_number": number[:50]} if number else {}


def contact_to_books(client: dict) -> dict:
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


def item_from_books(record: RemoteRecord) -> dict:
    data = record.data
    return {
        "name": text(data.get("name") or data.get("item_name"))[:200],
        "description": text(data.get("description")),
        "rate": money_text(data.get("rate")),
        "unit": text(data.get("unit"))[:30] or "Each",
        "sku": text(data.get("sku"))[:64],
        "active": (data.get("status") or "active") == "active",
        # An item's tax is named by its tax_id; its percentage is what the local rate matches.
        "tax_rate": percent_text(data.get("tax_percentage"))
        if data.get("tax_id") or data.get("tax_percentage")
        else "",
    }


def item_to_books(service: dict, *, tax_id: str = "") -> dict:
    """`tax_id` names the item's Books tax; "" is Books' explicit no tax."""
    payload = {
        "name": service["name"],
        "description": service.get("description", ""),
        "rate": float(Decimal(service["rate"])),
        "unit": service.get("unit") or "Each",
        "product_type": "service",
        "tax_id": tax_id,
    }
    if service.get("sku"):
        payload["sku"] = service["sku"]
    return payload


def settings_from_books(*, taxes: list[dict], currencies: list[dict]) -> VendorSettings:
    """`settings/taxes` and `settings/currencies` answers as the engine keeps them (tax groups
    included: a group's percentage is what a line pays)."""
    return VendorSettings(
        taxes=[
            VendorTax(
                remote_id=str(tax["tax_id"]),
                name=text(tax.get("tax_name"))[:200],
                rate=Decimal(percent_text(tax.get("tax_percentage")) or "0"),
            )
            for tax in taxes
            if isinstance(tax, dict) and tax.get("tax_id")
        ],
        currencies=[
            VendorCurrency(
                remote_id=str(currency["currency_id"]),
                code=text(currency.get("currency_code")).upper()[:3],
                is_base=bool(currency.get("is_base_currency")),
            )
            for currency in currencies
            if isinstance(currency, dict)
            and currency.get("currency_id")
            and currency.get("currency_code")
        ],
    )
