"""Quotes, invoices and payments -> Xero Quotes, ACCREC Invoices and Payments. Pure: the caller
passes the remote ids it has bound and, per line, its item code, TaxType and AccountCode.

Totals must come out equal on both sides, to the cent:

- our rates exclude tax, so a taxed document goes `Exclusive` (Quotes spell it `EXCLUSIVE`)
  with every line naming its TaxType (a zero-rate type for an untaxed line); a document with no
  tax anywhere goes `NoTax`;
- Xero rounds each line's tax, as we do (apps/quotes/totals.py);
- rates and quantities have three places here: the adapter asks for `unitdp=4`, or Xero would
  round UnitAmount to two;
- Syncdesk spreads a document discount over the lines before tax (largest remainder, in cents).
  Xero has no document discount: each line's share goes as its `DiscountRate`, the percentage
  with the fewest places (two to four) for which Xero's line amount, round(Q x U x (1 - DR/100)),
  is exactly our line's net. When no such rate exists, the line goes at its net unit price
  (four places), or as one unit of its net amount when even that cannot reproduce it.
"""

from decimal import Decimal

from apps.core.money import round_money
from apps.sync.engine.entities import payment_reference
from apps.sync.engine.totals import money

ZERO = Decimal("0")
HUNDRED = Decimal("100")
UNIT_PLACES = Decimal("0.0001")

# Our lifecycle move -> the Xero status (receivers.QUOTE_STATUSES, INVOICE_STATUSES).
QUOTE_STATUS = {"sent": "SENT", "accepted": "ACCEPTED", "rejected": "DECLINED"}
INVOICE_STATUS = {"sent": "AUTHORISED", "void": "VOIDED"}
# Invoices that are still drafts here go as DRAFT; once sent, AUTHORISED.
LOCAL_DRAFTS = ("draft",)


def _number(value: Decimal) -> float | int:
    # Xero takes JSON numbers; three- and four-place values survive the float round trip.
    return int(value) if value == value.to_integral_value() else float(value)


def line_discount_rate(quantity: Decimal, unit: Decimal, net: Decimal) -> Decimal | None:
    """The DiscountRate (fewest places, two to four) with which Xero's line amount,
    round(quantity x unit x (100 - rate) / 100), is `net`; None when there is none."""
    gross = quantity * unit
    if gross <= 0 or net < 0 or net > round_money(gross):
        return None
    exact = (gross - net) * HUNDRED / gross
    for places in (2, 3, 4):
        step = Decimal(1).scaleb(-places)
        rate = exact.quantize(step)
        for candidate in (rate, rate + step, rate - step):
            if ZERO <= candidate <= HUNDRED and (
                round_money(gross * (HUNDRED - candidate) / HUNDRED) == net
            ):
                return candidate.normalize() if candidate else ZERO
    return None


def _description(line) -> str:
    return "\n".join(part for part in (line.name, line.description) if part) or line.name


def document_lines(
    lines,
    *,
    item_codes: dict[int, str],
    tax_types: dict[int, str],
    account_codes: dict[int, str],
) -> tuple[list[dict], bool]:
    """Xero line items of a quote or invoice, and whether any line carries tax (the document
    is then Exclusive, and every line names its TaxType)."""
    lines = list(lines)
    taxed = any(line.tax_rate for line in lines)
    rows = []
    for line in lines:
        row: dict = {
            "Description": _description(line),
            "Quantity": _number(line.quantity),
            "UnitAmount": _number(line.rate),
        }
        if item_codes.get(line.pk):
            row["ItemCode"] = item_codes[line.pk]
        if account_codes.get(line.pk):
            row["AccountCode"] = account_codes[line.pk]
        if taxed:
            row["TaxType"] = tax_types[line.pk]
        if line.discount_amount:
            net = line.amount - line.discount_amount
            rate = line_discount_rate(line.quantity, line.rate, net)
            if rate is not None:
                row["DiscountRate"] = _number(rate)
            elif (
                line.quantity
                and round_money(line.quantity * (net / line.quantity).quantize(UNIT_PLACES)) == net
            ):
                row["UnitAmount"] = _number((net / line.quantity).quantize(UNIT_PLACES))
            else:
                row["Quantity"], row["UnitAmount"] = 1, _number(net)
        rows.append(row)
    return rows, taxed


def quote_document(
    quote,
    lines,
    *,
    contact_id: str,
    item_codes: dict[int, str],
    tax_types: dict[int, str],
    account_codes: dict[int, str],
    currency_code: str = "",
    status: str = "SENT",
) -> dict:
    """A Xero Quote: our number as QuoteNumber and Reference (looked up by it on a retry)."""
    line_items, taxed = document_lines(
        lines, item_codes=item_codes, tax_types=tax_types, account_codes=account_codes
    )
    payload = {
        "QuoteNumber": quote.number,
        "Reference": quote.number,
        "Contact": {"ContactID": contact_id},
        "Date": quote.issue_date.isoformat(),
        "Status": status,
        "LineAmountTypes": "EXCLUSIVE" if taxed else "NOTAX",
        "LineItems": line_items,
        "Terms": quote.terms[:4000],
        "Summary": quote.notes[:3000],
    }
    if quote.valid_until:
        payload["ExpiryDate"] = quote.valid_until.isoformat()
    if currency_code:
        payload["CurrencyCode"] = currency_code
    return payload


def quote_status(quote, *, contact_id: str, status: str) -> dict:
    """A quote's status move; Xero wants the contact and date on every quote update."""
    return {
        "Contact": {"ContactID": contact_id},
        "Date": quote.issue_date.isoformat(),
        "Status": status,
    }


def invoice_document(
    invoice,
    lines,
    *,
    contact_id: str,
    item_codes: dict[int, str],
    tax_types: dict[int, str],
    account_codes: dict[int, str],
    currency_code: str = "",
) -> dict:
    """An ACCREC invoice: InvoiceNumber ours, its quote's number as Reference, AUTHORISED
    once sent here (a draft stays DRAFT until it is)."""
    line_items, taxed = document_lines(
        lines, item_codes=item_codes, tax_types=tax_types, account_codes=account_codes
    )
    payload = {
        "Type": "ACCREC",
        "InvoiceNumber": invoice.number,
        "Reference": invoice.quote.number if invoice.quote_id else "",
        "Contact": {"ContactID": contact_id},
        "Date": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "LineAmountTypes": "Exclusive" if taxed else "NoTax",
        "LineItems": line_items,
        "Status": "DRAFT" if invoice.status in LOCAL_DRAFTS else "AUTHORISED",
    }
    if currency_code:
        payload["CurrencyCode"] = currency_code
    return payload


def payment_document(payment, *, invoice_id: str, account_code: str) -> dict:
    """A payment against the invoice into the bank account; our reference first in Reference
    (the payer's after it), so a retry finds it."""
    reference = payment_reference(payment)
    if payment.reference:
        reference = f"{reference} {payment.reference}"
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": account_code},
        "Date": payment.date.isoformat(),
        "Amount": _number(payment.amount),
        "Reference": reference[:255],
    }


def xero_totals(data: dict) -> dict:
    """A Xero quote's or invoice's figures as engine/totals.py compares them: SubTotal is net
    of line discounts; an invoice's AmountDue is its balance."""
    return {
        "sub_total": money(data.get("SubTotal")),
        "tax": money(data.get("TotalTax")),
        "total": money(data.get("Total")),
        "balance": money(data.get("AmountDue")),
    }
