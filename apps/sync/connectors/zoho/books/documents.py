"""Quotes, invoices and payments -> Zoho Books estimates, invoices and customer payments. Pure:
the caller passes the remote ids it has bound and the Books ids of each line's tax and of the
document's currency (engine/taxes.py maps them).

Every line names its tax: the mapped `tax_id`, or "" (Books' explicit no tax) for an untaxed
line, so Books never fills in an item's own tax; `is_inclusive_tax` is false (our rates exclude
tax); a document not in the organisation's base currency names it by `currency_id` (Books'
create takes no `currency_code`).

Totals must come out equal on both sides. Syncdesk spreads a document discount over the lines
before tax (apps/quotes/totals.py); Books' entity-level discount is taken after tax. So when any
line carries tax, each line's share goes as that line's `discount` (an amount) and the entity
discount is zero; with no tax anywhere the two are the same and the entity discount is sent.
"""

from decimal import Decimal

from apps.sync.engine.entities import payment_reference
from apps.sync.engine.totals import money

ZERO = Decimal("0")

ESTIMATE_STATUS = {
    "sent": "status/sent",
    "accepted": "status/accepted",
    "rejected": "status/declined",
}
INVOICE_STATUS = {"sent": "status/sent", "void": "status/void"}
PAYMENT_MODES = {
    "cash": "cash",
    "bank_transfer": "banktransfer",
    "card": "creditcard",
    "credit_card": "creditcard",
    "cheque": "check",
    "check": "check",
}


def _number(value: Decimal) -> float:
    # Books takes JSON numbers; three-place quantities and rates survive the float round trip.
    return float(value)


def document_lines(
    lines, *, item_ids: dict[int, str], tax_ids: dict[int, str], account_id: str = ""
) -> tuple[list[dict], Decimal]:
    """Vendor line items of a quote or invoice and the entity-level discount to send;
    `tax_ids` holds each line's Books tax id by line id ("" for an untaxed line). A line with
    an item takes the item's sales account in Books; one without goes to `account_id` (the
    connection's default sales account) when there is one."""
    lines = list(lines)
    taxed = any(line.tax_rate for line in lines)
    payload = []
    discount = ZERO
    for line in lines:
        row = {
            "name": line.name,
            "description": line.description,
            "rate": _number(line.rate),
            "quantity": _number(line.quantity),
            "tax_id": tax_ids[line.pk],
        }
        if line.service_id and line.service_id in item_ids:
            row["item_id"] = item_ids[line.service_id]
        elif account_id:
            row["account_id"] = account_id
        if taxed and line.discount_amount:
            row["discount"] = _number(line.discount_amount)
        elif line.discount_amount:
            discount += line.discount_amount
        payload.append(row)
    return payload, discount


def _header(payload: dict, currency_id: str) -> dict:
    payload["is_inclusive_tax"] = False
    if currency_id:
        payload["currency_id"] = currency_id
    return payload


def estimate_payload(
    quote,
    lines,
    *,
    customer_id: str,
    item_ids: dict[int, str],
    tax_ids: dict[int, str],
    currency_id: str = "",
    account_id: str = "",
) -> dict:
    line_items, discount = document_lines(
        lines, item_ids=item_ids, tax_ids=tax_ids, account_id=account_id
    )
    payload = {
        "customer_id": customer_id,
        "reference_number": quote.number,
        "date": quote.issue_date.isoformat(),
        "line_items": line_items,
        "discount": _number(discount),
        "notes": quote.notes,
        "terms": quote.terms,
    }
    if quote.valid_until:
        payload["expiry_date"] = quote.valid_until.isoformat()
    return _header(payload, currency_id)


def invoice_payload(
    invoice,
    lines,
    *,
    customer_id: str,
    item_ids: dict[int, str],
    tax_ids: dict[int, str],
    currency_id: str = "",
    estimate_id: str = "",
    account_id: str = "",
) -> dict:
    line_items, discount = document_lines(
        lines, item_ids=item_ids, tax_ids=tax_ids, account_id=account_id
    )
    payload = {
        "customer_id": customer_id,
        "reference_number": invoice.number,
        "date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "line_items": line_items,
        "discount": _number(discount),
        "notes": invoice.notes,
        "terms": invoice.terms,
    }
    if estimate_id:
        payload["estimate_id"] = estimate_id
    return _header(payload, currency_id)


def books_totals(data: dict) -> dict:
    """The figures of a Books estimate or invoice as engine/totals.py compares them: net of the
    entity discount (a money amount in answers), tax, total and an invoice's balance."""
    sub_total, discount = money(data.get("sub_total")), money(data.get("discount")) or ZERO
    return {
        "sub_total": sub_total - discount if sub_total is not None else None,
        "tax": money(data.get("tax_total")),
        "total": money(data.get("total")),
        "balance": money(data.get("balance")),
    }


def payment_payload(payment, *, customer_id: str, invoice_id: str) -> dict:
    description = f"Syncdesk payment on {payment.invoice.number}"
    if payment.reference:
        description += f" (reference {payment.reference})"
    return {
        "customer_id": customer_id,
        "payment_mode": PAYMENT_MODES.get(payment.mode, "others"),
        "amount": _number(payment.amount),
        "date": payment.date.isoformat(),
        "reference_number": payment_reference(payment),
        "description": description,
        "invoices": [{"invoice_id": invoice_id, "amount_applied": _number(payment.amount)}],
    }
