"""Clients <-> Zoho CRM contacts and quotes -> CRM deals: pure functions."""

from decimal import Decimal

from apps.sync.engine.entities import deal_reference, text
from apps.sync.engine.records import RemoteRecord


def contact_from_crm(record: RemoteRecord) -> dict:
    data = record.data
    account = data.get("Account_Name") or {}
    name = " ".join(x for x in (text(data.get("First_Name")), text(data.get("Last_Name"))) if x)
    return {
        "name": name[:200],
        "email": text(data.get("Email")).lower()[:254],
        "phone": text(data.get("Phone"))[:50],
        "mobile": text(data.get("Mobile"))[:50],
        "company": text(account.get("name") if isinstance(account, dict) else account)[:200],
    }


def contact_to_crm(client: dict) -> dict:
    first, _, last = client["name"].rpartition(" ")
    return {
        "First_Name": first,
        "Last_Name": last or client["name"],
        "Email": client.get("email", ""),
        "Phone": client.get("phone", ""),
        "Mobile": client.get("mobile", ""),
    }


def deal_name(quote) -> str:
    return f"{quote.client.name} \u2013 {quote.issue_date.isoformat()}"[:120]


def deal_payload(quote, *, stage: str, contact_id: str = "") -> dict:
    closing = quote.valid_until or quote.issue_date
    payload = {
        "Deal_Name": deal_name(quote),
        "Amount": float(Decimal(quote.total)),
        "Stage": stage,
        "Closing_Date": closing.isoformat(),
        # Our reference: a retried create is looked up by it (Deals have no reference field).
        "Description": deal_reference(quote),
    }
    if contact_id:
        payload["Contact_Name"] = {"id": contact_id}
    return payload
