"""Services <-> Zoho Books items and Xero items. Rates travel as Decimal strings."""

from decimal import Decimal, InvalidOperation

from apps.core.money import round_money
from apps.sync.adapters.base import RemoteRecord

SERVICE_FIELDS = ("name", "description", "rate", "unit", "sku", "active")


def _s(value) -> str:
    return str(value or "").strip()


def _rate(value) -> str:
    if value in (None, ""):
        return "0.00"
    try:
        # Vendors send numbers as JSON floats; go through str so no binary noise leaks in.
        return str(round_money(Decimal(str(value))))
    except InvalidOperation:
        return "0.00"


def from_zoho_books(record: RemoteRecord) -> dict:
    data = record.data
    return {
        "name": _s(data.get("name") or data.get("item_name"))[:200],
        "description": _s(data.get("description")),
        "rate": _rate(data.get("rate")),
        "unit": _s(data.get("unit"))[:30] or "Each",
        "sku": _s(data.get("sku"))[:64],
        "active": (data.get("status") or "active") == "active",
    }


def to_zoho_books(service: dict) -> dict:
    payload = {
        "name": service["name"],
        "description": service.get("description", ""),
        "rate": float(Decimal(service["rate"])),
        "unit": service.get("unit") or "Each",
        "product_type": "service",
    }
    if service.get("sku"):
        payload["sku"] = service["sku"]
    return payload


def from_xero(record: RemoteRecord) -> dict:
    data = record.data
    sales = data.get("SalesDetails") or {}
    return {
        "name": _s(data.get("Name") or data.get("Code"))[:200],
        "description": _s(data.get("Description")),
        "rate": _rate(sales.get("UnitPrice")),
        "sku": _s(data.get("Code"))[:64],
    }


def to_xero(service: dict) -> dict:
    return {
        "Code": (service.get("sku") or "")[:30],
        "Name": service["name"][:50],
        "Description": service.get("description", ""),
        "IsSold": True,
        "SalesDetails": {"UnitPrice": float(Decimal(service["rate"]))},
    }


def local_snapshot(service) -> dict:
    get = service.get if isinstance(service, dict) else lambda f: getattr(service, f)
    return {
        "name": _s(get("name")),
        "description": _s(get("description")),
        "rate": _rate(get("rate")),
        "unit": _s(get("unit")) or "Each",
        "sku": _s(get("sku")),
        "active": bool(get("active")),
    }
