"""Documents in the Xero Accounting emulator: line items and totals, quotes, invoices, payments.

Like services.py, one function per element save in Xero's rules, raising `ElementInvalid` with
Xero-style messages; invoice changes and payments queue the invoice's INVOICE webhook event.
"""

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F

from apps.core.money import round_money
from apps.sandbox import clock
from apps.sandbox.xero import webhooks, wire
from apps.sandbox.xero.models import (
    XeroAccount,
    XeroContact,
    XeroInvoice,
    XeroItem,
    XeroPayment,
    XeroQuote,
    XeroTaxRate,
    XeroTenant,
)
from apps.sandbox.xero.services import (
    HUNDRED,
    ElementInvalid,
    bool_value,
    contact_save,
    tenant_now,
    text_value,
    touch,
    uuid_value,
)

# --- line items and totals ---------------------------------------------------------------------


# Xero's words (xero_accounting.yaml, the 400 example of PUT /BankTransactions).
CONTACT_MISSING = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)


def _contact_for(tenant: XeroTenant, data: dict) -> XeroContact:
    reference = data.get("Contact")
    if not isinstance(reference, dict):
        raise ElementInvalid(CONTACT_MISSING)
    if reference.get("ContactID"):
        contact_id = uuid_value(reference["ContactID"], field="ContactID")
        # Remembered for the request: a batch names the same few contacts many times.
        contact = clock.remembered(
            ("xero-contact", tenant.pk, contact_id),
            lambda: XeroContact.objects.filter(tenant=tenant, contact_id=contact_id).first(),
        )
        if contact is None:
            raise ElementInvalid(f"The contact with ContactID {contact_id} could not be found.")
        return contact
    if reference.get("ContactNumber"):
        number = str(reference["ContactNumber"])
        contact = XeroContact.objects.filter(tenant=tenant, contact_number=number).first()
        if contact is None:
            raise ElementInvalid(f"The contact with ContactNumber {number} could not be found.")
        return contact
    if reference.get("Name"):
        # Xero matches a contact by name, and creates one when none has it.
        match = XeroContact.objects.filter(tenant=tenant, name__iexact=reference["Name"]).first()
        return match or contact_save(tenant=tenant, data={"Name": reference["Name"]})
    raise ElementInvalid(CONTACT_MISSING)


def _line_items(
    tenant: XeroTenant, raw: object, *, line_amount_types: str, unit_places: int = 2
) -> list[dict]:
    """Line items priced as Xero prices them (developer.xero.com, "Rounding in Xero"):

    UnitAmount is kept to 2 places unless the request opts in to 4 with `unitdp=4`;
    LineAmount = Quantity x UnitAmount x (100 - DiscountRate) / 100, or
    Quantity x UnitAmount - DiscountAmount, rounded to the cent; the tax is computed and rounded
    per line (Exclusive: LineAmount x rate; Inclusive: LineAmount x rate / (1 + rate)), and the
    document's TotalTax is the sum of the lines' (see `_totals`). Half-cents round away from zero
    (UNCONFIRMED: Xero does not document its tie rule).
    """
    if not isinstance(raw, list):
        raise ElementInvalid("LineItems must be a list.")
    # The chart and the items do not change while a document request runs: read them once.
    rates = clock.remembered(
        ("xero-tax-rates", tenant.pk),
        lambda: {r.tax_type: r.rate for r in XeroTaxRate.objects.filter(tenant=tenant)},
    )
    account_codes = clock.remembered(
        ("xero-account-codes", tenant.pk),
        lambda: set(XeroAccount.objects.filter(tenant=tenant).values_list("code", flat=True)),
    )
    wanted = sorted(
        {line.get("ItemCode") for line in raw if isinstance(line, dict) and line.get("ItemCode")}
    )
    items = (
        clock.remembered(
            ("xero-items", tenant.pk, tuple(wanted)),
            lambda: {i.code: i for i in XeroItem.objects.filter(tenant=tenant, code__in=wanted)},
        )
        if wanted
        else {}
    )
    no_tax = line_amount_types.upper() == "NOTAX"
    inclusive = line_amount_types.upper() == "INCLUSIVE"
    lines = []
    for index, line in enumerate(raw, start=1):
        if not isinstance(line, dict):
            raise ElementInvalid(f"Line item {index} must be an object.")
        item_code = line.get("ItemCode") or ""
        item = items.get(item_code) if item_code else None
        if item_code and item is None:
            raise ElementInvalid(f"Item code '{item_code}' is not valid.")
        try:
            quantity = wire.parse_decimal(line.get("Quantity", 1), field="Quantity")
            default_price = (item.sales_details.get("UnitPrice") if item else None) or 0
            unit_amount = wire.parse_decimal(
                line.get("UnitAmount", default_price), field="UnitAmount"
            ).quantize(Decimal(1).scaleb(-unit_places), rounding=ROUND_HALF_UP)
            discount = line.get("DiscountRate")
            discount_rate = (
                wire.parse_decimal(discount, field="DiscountRate")
                if discount not in (None, "")
                else None
            )
            off = line.get("DiscountAmount")
            discount_amount = (
                round_money(wire.parse_decimal(off, field="DiscountAmount"))
                if off not in (None, "")
                else None
            )
        except wire.WireValueError as error:
            raise ElementInvalid(str(error)) from error
        if discount_rate is not None and discount_amount is not None:
            raise ElementInvalid(
                "A line item can have a DiscountRate or a DiscountAmount, not both."
            )
        if discount_rate is not None and not 0 <= discount_rate <= HUNDRED:
            raise ElementInvalid("DiscountRate must be between 0 and 100.")
        description = line.get("Description") or (item.description if item else "")
        if not description and not item_code:
            raise ElementInvalid("Description needs to be specified for each line item.")
        account_code = line.get("AccountCode") or (
            item.sales_details.get("AccountCode", "") if item else ""
        )
        if account_code and account_code not in account_codes:
            raise ElementInvalid(
                f"Account code '{account_code}' is not a valid code for this document."
            )
        tax_type = "NONE" if no_tax else (line.get("TaxType") or tenant.default_sales_tax_type)
        if tax_type not in rates:
            raise ElementInvalid(
                f"The TaxType code '{tax_type}' does not exist or cannot be used with this type "
                "of transaction."
            )
        gross = quantity * unit_amount
        if discount_rate is not None:
            gross = gross * (HUNDRED - discount_rate) / HUNDRED
        if discount_amount is not None:
            gross -= discount_amount
        line_amount = round_money(gross)
        rate = Decimal(0) if no_tax else rates[tax_type] / HUNDRED
        if inclusive:
            tax_amount = round_money(line_amount * rate / (1 + rate))
        else:
            tax_amount = round_money(line_amount * rate)
        lines.append(
            {
                "LineItemID": str(uuid_value(line["LineItemID"], field="LineItemID"))
                if line.get("LineItemID")
                else str(uuid.uuid4()),
                "Description": description,
                "Quantity": str(quantity),
                "UnitAmount": str(unit_amount),
                "ItemCode": item_code,
                "AccountCode": account_code,
                "TaxType": tax_type,
                "TaxAmount": str(tax_amount),
                "LineAmount": str(line_amount),
                "DiscountRate": str(discount_rate) if discount_rate is not None else None,
                "DiscountAmount": str(discount_amount) if discount_amount is not None else None,
            }
        )
    return lines


def _totals(lines: list[dict], *, inclusive: bool) -> tuple[Decimal, Decimal, Decimal]:
    """(SubTotal, TotalTax, Total): tax is summed per line, as Xero rounds per line."""
    line_total = sum((Decimal(line["LineAmount"]) for line in lines), Decimal(0))
    tax = sum((Decimal(line["TaxAmount"]) for line in lines), Decimal(0))
    sub_total = line_total - tax if inclusive else line_total
    return sub_total, tax, sub_total + tax


def _date(data: dict, field: str, *, required: bool, default: date | None = None) -> date | None:
    if data.get(field) in (None, ""):
        if required and default is None:
            raise ElementInvalid(f"{field} must be specified.")
        return default
    try:
        return wire.parse_date(data[field], field=field)
    except wire.WireValueError as error:
        raise ElementInvalid(str(error)) from error


def _currency(tenant: XeroTenant, data: dict, current: str | None) -> str:
    code = data.get("CurrencyCode") or current or tenant.base_currency
    if code != tenant.base_currency:
        raise ElementInvalid(f"The currency code {code} is not enabled for this organisation.")
    return code


# --- quotes ------------------------------------------------------------------------------------

QUOTE_MOVES = {
    "DRAFT": {"DRAFT", "SENT", "DELETED"},
    "SENT": {"SENT", "DRAFT", "ACCEPTED", "DECLINED", "DELETED"},
    "ACCEPTED": {"ACCEPTED", "SENT", "INVOICED"},
    "DECLINED": {"DECLINED", "SENT"},
    "INVOICED": {"INVOICED"},
    "DELETED": {"DELETED"},
}


def quote_save(
    *, tenant: XeroTenant, data: dict, existing: XeroQuote | None = None, unit_places: int = 2
) -> XeroQuote:
    quote = existing or XeroQuote(tenant=tenant)
    if existing is None or "Contact" in data:
        quote.contact = _contact_for(tenant, data)
    if existing is None or "Date" in data:
        quote.date = _date(data, "Date", required=True, default=tenant_now(tenant).date())
    if "ExpiryDate" in data:
        quote.expiry_date = _date(data, "ExpiryDate", required=False)
    if "Status" in data:
        status = data["Status"]
        if status not in XeroQuote.Status.values:
            raise ElementInvalid(f"Status '{status}' is not a valid quote status.")
        if existing is not None and status not in QUOTE_MOVES[existing.status]:
            raise ElementInvalid(f"A quote cannot move from {existing.status} to {status}.")
        quote.status = status
    for field, attribute, length in (
        ("Reference", "reference", 4000),
        ("Terms", "terms", 4000),
        ("Title", "title", 100),
        ("Summary", "summary", 3000),
    ):
        if field in data:
            setattr(quote, attribute, text_value(data, field, max_length=length))
    quote.currency_code = _currency(tenant, data, quote.currency_code or None)
    if "LineAmountTypes" in data:
        value = str(data["LineAmountTypes"]).upper()
        if value not in ("EXCLUSIVE", "INCLUSIVE", "NOTAX"):
            raise ElementInvalid("LineAmountTypes must be EXCLUSIVE, INCLUSIVE or NOTAX.")
        quote.line_amount_types = value
    if existing is None or "LineItems" in data:
        if existing is not None and existing.status in ("INVOICED", "DELETED"):
            raise ElementInvalid(f"A quote in status {existing.status} cannot be changed.")
        quote.line_items = _line_items(
            tenant,
            data.get("LineItems", []),
            line_amount_types=quote.line_amount_types,
            unit_places=unit_places,
        )
    quote.sub_total, quote.total_tax, quote.total = _totals(
        quote.line_items, inclusive=quote.line_amount_types == "INCLUSIVE"
    )
    if existing is None:
        quote.quote_number = text_value(data, "QuoteNumber", max_length=255) or _next_number(
            tenant, "next_quote_number", "QU-"
        )
    elif "QuoteNumber" in data:
        quote.quote_number = text_value(data, "QuoteNumber", max_length=255) or quote.quote_number
    touch(quote, tenant, created=existing is None)
    quote.save()
    return quote


# A quote's LineAmountTypes (QUOTES spell them in capitals) as an invoice's.
INVOICE_LINE_AMOUNT_TYPES = {"EXCLUSIVE": "Exclusive", "INCLUSIVE": "Inclusive", "NOTAX": "NoTax"}


def quote_convert(*, tenant: XeroTenant, quote: XeroQuote, status: str = "DRAFT") -> XeroInvoice:
    """A bookkeeper's "Create invoice" on a sent or accepted quote: an ACCREC invoice with the
    quote's contact, lines and currency, Xero's next invoice number, the quote's reference (its
    number when it has none) as Reference, DRAFT unless `status` asks for it approved; the
    quote becomes INVOICED. The invoice's CREATE event is queued (Xero sends none for quotes).
    What Xero copies to Reference is UNCONFIRMED (not in the OAS; ours carry our number in both).
    """
    if quote.status not in (XeroQuote.Status.SENT, XeroQuote.Status.ACCEPTED):
        raise ElementInvalid(f"A quote in status {quote.status} cannot be invoiced.")
    invoice = invoice_save(
        tenant=tenant,
        data={
            "Type": "ACCREC",
            "Contact": {"ContactID": str(quote.contact.contact_id)},
            "Reference": quote.reference or quote.quote_number,
            "LineAmountTypes": INVOICE_LINE_AMOUNT_TYPES[quote.line_amount_types],
            "LineItems": [
                {
                    key: line[key]
                    for key in (
                        "Description",
                        "Quantity",
                        "UnitAmount",
                        "ItemCode",
                        "AccountCode",
                        "TaxType",
                        "DiscountRate",
                        "DiscountAmount",
                    )
                    if line.get(key) not in (None, "")
                }
                for line in quote.line_items
            ],
            "CurrencyCode": quote.currency_code,
            "Status": status,
        },
        unit_places=4,
    )
    quote.status = XeroQuote.Status.INVOICED
    touch(quote, tenant, created=False)
    quote.save()
    return invoice


def _next_number(tenant: XeroTenant, field: str, prefix: str) -> str:
    XeroTenant.objects.filter(pk=tenant.pk).update(**{field: F(field) + 1})
    number = XeroTenant.objects.filter(pk=tenant.pk).values_list(field, flat=True).get() - 1
    return f"{prefix}{number:04d}"


# --- invoices ----------------------------------------------------------------------------------

INVOICE_MOVES = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"SUBMITTED", "DRAFT", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
    "VOIDED": {"VOIDED"},
    "DELETED": {"DELETED"},
}


def invoice_save(
    *, tenant: XeroTenant, data: dict, existing: XeroInvoice | None = None, unit_places: int = 2
) -> XeroInvoice:
    invoice = existing or XeroInvoice(tenant=tenant)
    if (
        existing is not None
        and existing.status in ("PAID", "VOIDED", "DELETED")
        and (
            set(data) - {"InvoiceID", "InvoiceNumber", "Status"}
            or data.get("Status", (existing.status)) != existing.status
        )
    ):
        raise ElementInvalid("Invoice not of valid status for modification")
    if existing is None:
        invoice_type = data.get("Type")
        if invoice_type not in ("ACCREC", "ACCPAY"):
            raise ElementInvalid("Invoice Type must be ACCREC or ACCPAY.")
        invoice.type = invoice_type
    if existing is None or "Contact" in data:
        invoice.contact = _contact_for(tenant, data)
    if existing is None or "Date" in data:
        invoice.date = _date(data, "Date", required=False, default=tenant_now(tenant).date())
    if "DueDate" in data:
        invoice.due_date = _date(data, "DueDate", required=False)
    if "Reference" in data:
        invoice.reference = text_value(data, "Reference", max_length=4000)
    if "SentToContact" in data:
        invoice.sent_to_contact = bool_value(data, "SentToContact", invoice.sent_to_contact)
    invoice.currency_code = _currency(tenant, data, invoice.currency_code or None)
    if "LineAmountTypes" in data:
        if data["LineAmountTypes"] not in ("Exclusive", "Inclusive", "NoTax"):
            raise ElementInvalid("LineAmountTypes must be Exclusive, Inclusive or NoTax.")
        invoice.line_amount_types = data["LineAmountTypes"]
    if existing is None or "LineItems" in data:
        if existing is not None and invoice.amount_paid:
            raise ElementInvalid("Line items cannot be changed on an invoice with payments.")
        invoice.line_items = _line_items(
            tenant,
            data.get("LineItems", []),
            line_amount_types=invoice.line_amount_types,
            unit_places=unit_places,
        )
    invoice.sub_total, invoice.total_tax, invoice.total = _totals(
        invoice.line_items, inclusive=invoice.line_amount_types == "Inclusive"
    )
    status = data.get("Status", invoice.status if existing else "DRAFT")
    if status not in INVOICE_MOVES:
        raise ElementInvalid(f"Status '{status}' is not a valid invoice status.")
    if existing is not None and status not in INVOICE_MOVES[existing.status]:
        raise ElementInvalid(f"An invoice cannot move from {existing.status} to {status}.")
    if status == "PAID" and (existing is None or existing.status != "PAID"):
        raise ElementInvalid("An invoice becomes PAID by applying payments to it.")
    if status == "VOIDED" and invoice.amount_paid:
        raise ElementInvalid("Payments must be removed before an invoice can be voided.")
    if status == "AUTHORISED" and not invoice.line_items:
        raise ElementInvalid("An invoice must have at least one line item to be approved.")
    if status == "AUTHORISED":
        # An approved invoice posts each line to a ledger account (its own AccountCode or its
        # item's sales account). Wording UNCONFIRMED.
        unposted = [
            str(number)
            for number, line in enumerate(invoice.line_items, start=1)
            if not line.get("AccountCode") and Decimal(line["LineAmount"]) != 0
        ]
        if unposted:
            raise ElementInvalid(
                f"An Account Code must be specified for line item {', '.join(unposted)} "
                "before the invoice can be approved."
            )
    invoice.status = status
    if existing is None or "InvoiceNumber" in data:
        number = text_value(data, "InvoiceNumber", max_length=255)
        if number and invoice.type == "ACCREC" and number != invoice.invoice_number:
            taken = XeroInvoice.objects.filter(
                tenant=tenant, type="ACCREC", invoice_number__iexact=number
            ).exclude(pk=invoice.pk)
            if taken.exists():
                raise ElementInvalid("Invoice # must be unique.")
        if number:
            invoice.invoice_number = number
        elif existing is None:
            invoice.invoice_number = (
                _next_number(tenant, "next_invoice_number", "INV-")
                if invoice.type == "ACCREC"
                else ""
            )
    touch(invoice, tenant, created=existing is None)
    invoice.save()
    webhooks.event_queue(
        tenant=tenant,
        category="INVOICE",
        event_type="CREATE" if existing is None else "UPDATE",
        resource_id=invoice.invoice_id,
    )
    return invoice


# --- payments ----------------------------------------------------------------------------------


def payment_create(*, tenant: XeroTenant, data: dict) -> XeroPayment:
    """Apply a payment to an AUTHORISED invoice; its AmountDue, AmountPaid and Status follow."""
    reference = data.get("Invoice")
    if not isinstance(reference, dict):
        raise ElementInvalid("An Invoice must be specified for the payment.")
    invoices = XeroInvoice.objects.select_for_update().filter(tenant=tenant)
    if reference.get("InvoiceID"):
        invoice_id = uuid_value(reference["InvoiceID"], field="InvoiceID")
        invoice = invoices.filter(invoice_id=invoice_id).first()
    elif reference.get("InvoiceNumber"):
        invoice = invoices.filter(invoice_number=reference["InvoiceNumber"]).first()
    else:
        invoice = None
    if invoice is None:
        raise ElementInvalid("Invoice could not be found.")
    account_ref = data.get("Account")
    if not isinstance(account_ref, dict):
        raise ElementInvalid("An Account must be specified for the payment.")
    accounts = XeroAccount.objects.filter(tenant=tenant)
    if account_ref.get("AccountID"):
        account = accounts.filter(
            account_id=uuid_value(account_ref["AccountID"], field="AccountID")
        ).first()
    else:
        account = accounts.filter(code=account_ref.get("Code") or "").first()
    if account is None:
        raise ElementInvalid("Account could not be found.")
    if not (account.type == "BANK" or account.enable_payments):
        raise ElementInvalid(f"Payments cannot be made to account {account.code}.")
    if invoice.status != "AUTHORISED":
        raise ElementInvalid("Payments can only be made against Authorised documents")
    try:
        amount = round_money(wire.parse_decimal(data.get("Amount"), field="Amount"))
    except wire.WireValueError as error:
        raise ElementInvalid(str(error)) from error
    if amount <= 0:
        raise ElementInvalid("Payment amount must be greater than zero.")
    if amount > invoice.amount_due:
        raise ElementInvalid("Payment amount exceeds the amount outstanding on this document")
    moment = tenant_now(tenant)
    paid_on = _date(data, "Date", required=False, default=moment.date())
    payment = XeroPayment(
        tenant=tenant,
        invoice=invoice,
        account=account,
        date=paid_on,
        amount=amount,
        reference=text_value(data, "Reference", max_length=255),
    )
    touch(payment, tenant, created=True)
    payment.save()
    invoice.amount_paid += amount
    if invoice.amount_due == 0:
        invoice.status = XeroInvoice.Status.PAID
        invoice.fully_paid_on = paid_on
    touch(invoice, tenant, created=False)
    invoice.save()
    webhooks.event_queue(
        tenant=tenant, category="INVOICE", event_type="UPDATE", resource_id=invoice.invoice_id
    )
    return payment


def payment_delete(*, tenant: XeroTenant, payment: XeroPayment, data: dict) -> XeroPayment:
    """`POST /Payments/{id}` with `{"Status": "DELETED"}`: the invoice is owed again."""
    if data.get("Status") != "DELETED":
        raise ElementInvalid("A payment can only be updated to Status DELETED.")
    if payment.status == XeroPayment.Status.DELETED:
        return payment
    invoice = XeroInvoice.objects.select_for_update().get(pk=payment.invoice_id)
    payment.status = XeroPayment.Status.DELETED
    touch(payment, tenant, created=False)
    payment.save()
    invoice.amount_paid -= payment.amount
    if invoice.status == XeroInvoice.Status.PAID:
        invoice.status = XeroInvoice.Status.AUTHORISED
        invoice.fully_paid_on = None
    touch(invoice, tenant, created=False)
    invoice.save()
    webhooks.event_queue(
        tenant=tenant, category="INVOICE", event_type="UPDATE", resource_id=invoice.invoice_id
    )
    payment.invoice = invoice
    return payment
