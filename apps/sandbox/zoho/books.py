"""Zoho Books v3 as the sandbox emulates it: record shapes, list filters, writes and actions.

Facts are from vendor-contracts.md §2 (envelope keys, page_context, filters, status values,
action messages, code 1002 "<X> does not exist."). Where the contract is silent the sandbox
chooses, and says so here: validation refusals are HTTP 400 with code 4 ("Invalid value passed
for <field>.") or, for state rules, code 4 with a sentence naming the rule; an unknown URL is
HTTP 404 with code 5 "Invalid URL Passed"; unknown ids are HTTP 404 with code 1002; invoices
read "overdue" when sent or partially paid past their due date; the partially paid status is
spelled `partially_paid` in answers (`Status.PartiallyPaid` / `partiallypaid` as filters).
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils.dateparse import parse_date, parse_datetime

from apps.core.money import ZERO, round_money, to_decimal
from apps.sandbox import clock, webhooks
from apps.sandbox.zoho import books_settings
from apps.sandbox.zoho.models import (
    BooksContact,
    BooksEstimate,
    BooksInvoice,
    BooksItem,
    BooksPayment,
    BooksPaymentApplication,
    BooksWebhook,
    DiscountType,
    ZohoOrganization,
    zoho_id,
)

VENDOR = "zoho"
MAX_PER_PAGE = 200


class BooksError(Exception):
    """A refusal in Books' envelope: HTTP status, Zoho `code` and `message`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(field_name: str) -> BooksError:
    return BooksError(400, 4, f"Invalid value passed for {field_name}.")


def refused(message: str) -> BooksError:
    return BooksError(400, 4, message)


def missing(label: str) -> BooksError:
    return BooksError(404, 1002, f"{label} does not exist.")


# --- Values in and out ------------------------------------------------------------------------


def zoho_time(moment: datetime | None, organization: ZohoOrganization) -> str:
    """`2026-07-01T10:00:00+0530`: the organisation's offset, no colon (as observed)."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(organization.time_zone)).strftime("%Y-%m-%dT%H:%M:%S%z")


def number(value: Decimal | None) -> float:
    """Zoho sends amounts as JSON numbers; two-place Decimals survive the float round trip."""
    return float(value or 0)


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


def money(value: object, field_name: str) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        return to_decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise invalid(field_name) from None


def date_value(value: object, field_name: str, *, required: bool = False) -> date | None:
    if value in (None, ""):
        if required:
            raise invalid(field_name)
        return None
    parsed = parse_date(str(value)) if isinstance(value, str) else None
    if parsed is None:
        raise invalid(field_name)
    return parsed


def parse_body(body: bytes, content_type: str, form: dict) -> dict:
    """JSON body (current docs) or the form field `JSONString` (Zoho's 2015 wrappers)."""
    raw = form.get("JSONString") if "JSONString" in form else body.decode() if body else "{}"
    try:
        data = json.loads(raw or "{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise BooksError(400, 4, "Invalid JSON passed in the request body.") from None
    if not isinstance(data, dict):
        raise BooksError(400, 4, "Invalid JSON passed in the request body.")
    return data


def now_for(organization: ZohoOrganization) -> datetime:
    return clock.now(VENDOR, organization.organization_id)


def today_for(organization: ZohoOrganization) -> date:
    return now_for(organization).astimezone(ZoneInfo(organization.time_zone)).date()


# --- Serialisers --------------------------------------------------------------------------------

ADDRESS_KEYS = (
    "attention",
    "address",
    "street2",
    "city",
    "state",
    "zip",
    "country",
    "fax",
    "phone",
)


def _address(value: dict) -> dict:
    return {key: (value or {}).get(key, "") for key in ADDRESS_KEYS}


def contact_json(contact: BooksContact, organization: ZohoOrganization) -> dict:
    return {
        "contact_id": contact.contact_id,
        "contact_name": contact.contact_name,
        "company_name": contact.company_name,
        "contact_type": contact.contact_type,
        "customer_sub_type": "business" if contact.company_name else "individual",
        "status": contact.status,
        "email": contact.email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "website": contact.website,
        "currency_code": contact.currency_code or organization.currency_code,
        "payment_terms": contact.payment_terms,
        "payment_terms_label": "Due on Receipt"
        if not contact.payment_terms
        else f"Net {contact.payment_terms}",
        "outstanding_receivable_amount": number(contact.outstanding_receivable_amount),
        "unused_credits_receivable_amount": 0.0,
        "source": contact.source,
        "is_linked_with_zohocrm": contact.is_linked_with_zohocrm,
        "is_crm_customer": contact.is_linked_with_zohocrm,
        "primary_contact_id": f"{contact.contact_id}1" if contact.email else "",
        "contact_persons": [
            {
                "contact_person_id": f"{contact.contact_id}1",
                "salutation": "",
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "email": contact.email,
                "phone": contact.phone,
                "mobile": contact.mobile,
                "is_primary_contact": True,
            }
        ]
        if contact.email
        else [],
        "billing_address": _address(contact.billing_address),
        "shipping_address": _address(contact.shipping_address),
        "notes": contact.notes,
        "custom_fields": [],
        "created_time": zoho_time(contact.created_time, organization),
        "last_modified_time": zoho_time(contact.last_modified_time, organization),
    }


def item_json(item: BooksItem, organization: ZohoOrganization) -> dict:
    return {
        "item_id": item.item_id,
        "name": item.name,
        "item_name": item.name,
        "description": item.description,
        "rate": number(item.rate),
        "unit": item.unit,
        "sku": item.sku,
        "status": item.status,
        "item_type": "sales",
        "product_type": item.product_type,
        "tax_id": item.tax_id,
        "tax_name": item.tax_name,
        "tax_percentage": number(item.tax_percentage),
        "is_taxable": bool(item.tax_percentage),
        "source": item.source,
        "is_linked_with_zohocrm": False,
        "created_time": zoho_time(item.created_time, organization),
        "last_modified_time": zoho_time(item.last_modified_time, organization),
    }


def _lines_json(lines: list[dict]) -> list[dict]:
    out = []
    for line in lines:
        shown = {key: value for key, value in line.items() if not key.startswith("_")}
        for key in ("rate", "quantity", "discount_amount", "tax_percentage", "item_total"):
            shown[key] = number(Decimal(line[key]))
        shown["bcy_rate"] = shown["rate"]
        out.append(shown)
    return out


def _taxes_json(lines: list[dict]) -> list[dict]:
    taxes: dict[str, Decimal] = {}
    for line in lines:
        if Decimal(line["_tax_amount"]):
            name = line["tax_name"] or f"Tax ({line['tax_percentage']}%)"
            taxes[name] = taxes.get(name, ZERO) + Decimal(line["_tax_amount"])
    return [{"tax_name": name, "tax_amount": number(amount)} for name, amount in taxes.items()]


def estimate_json(estimate: BooksEstimate, organization: ZohoOrganization) -> dict:
    return {
        "estimate_id": estimate.estimate_id,
        "estimate_number": estimate.estimate_number,
        "reference_number": estimate.reference_number,
        "date": day(estimate.date),
        "expiry_date": day(estimate.expiry_date),
        "status": estimate.status,
        "customer_id": estimate.customer.contact_id,
        "customer_name": estimate.customer.contact_name,
        "currency_id": books_settings.currency_id_for(organization, estimate.currency_code),
        "currency_code": estimate.currency_code,
        "exchange_rate": 1.0,
        "is_inclusive_tax": estimate.is_inclusive_tax,
        # `discount` answers the entity discount in money (whether Zoho echoes "10%" here is
        # UNCONFIRMED); the line shares are not shown.
        "discount": number(estimate.discount),
        "is_discount_before_tax": estimate.is_discount_before_tax,
        "discount_type": estimate.discount_type,
        "line_items": _lines_json(estimate.line_items),
        "sub_total": number(estimate.sub_total),
        "tax_total": number(estimate.tax_total),
        "total": number(estimate.total),
        "price_precision": 2,
        "taxes": _taxes_json(estimate.line_items),
        "notes": estimate.notes,
        "terms": estimate.terms,
        "accepted_date": day(estimate.accepted_date),
        "declined_date": day(estimate.declined_date),
        "zcrm_potential_id": estimate.zcrm_potential_id,
        "created_time": zoho_time(estimate.created_time, organization),
        "last_modified_time": zoho_time(estimate.last_modified_time, organization),
    }


def invoice_status(invoice: BooksInvoice, today: date) -> str:
    open_statuses = (BooksInvoice.Status.SENT, BooksInvoice.Status.PARTIALLY_PAID)
    if invoice.status in open_statuses and invoice.due_date < today and invoice.balance > 0:
        return "overdue"
    return invoice.status


def invoice_json(invoice: BooksInvoice, organization: ZohoOrganization) -> dict:
    return {
        "invoice_id": invoice.invoice_id,
        "invoice_number": invoice.invoice_number,
        "reference_number": invoice.reference_number,
        "date": day(invoice.date),
        "due_date": day(invoice.due_date),
        "status": invoice_status(invoice, today_for(organization)),
        "customer_id": invoice.customer.contact_id,
        "customer_name": invoice.customer.contact_name,
        "estimate_id": invoice.estimate.estimate_id if invoice.estimate else "",
        "currency_id": books_settings.currency_id_for(organization, invoice.currency_code),
        "currency_code": invoice.currency_code,
        "exchange_rate": 1.0,
        "is_inclusive_tax": invoice.is_inclusive_tax,
        "line_items": _lines_json(invoice.line_items),
        "sub_total": number(invoice.sub_total),
        "tax_total": number(invoice.tax_total),
        "discount": number(invoice.discount),
        "is_discount_before_tax": invoice.is_discount_before_tax,
        "discount_type": invoice.discount_type,
        "discount_total": number(invoice.discount),
        "total": number(invoice.total),
        "balance": number(invoice.balance),
        "payment_made": number(invoice.payment_made),
        "write_off_amount": 0.0,
        "credits_applied": 0.0,
        "is_emailed": False,
        "last_payment_date": day(invoice.last_payment_date),
        "taxes": _taxes_json(invoice.line_items),
        "notes": invoice.notes,
        "terms": invoice.terms,
        "zcrm_potential_id": invoice.zcrm_potential_id,
        "created_time": zoho_time(invoice.created_time, organization),
        "last_modified_time": zoho_time(invoice.last_modified_time, organization),
    }


def payment_json(payment: BooksPayment, organization: ZohoOrganization) -> dict:
    return {
        "payment_id": payment.payment_id,
        "payment_number": payment.payment_number,
        "customer_id": payment.customer.contact_id,
        "customer_name": payment.customer.contact_name,
        "payment_mode": payment.payment_mode,
        "amount": number(payment.amount),
        "bcy_amount": number(payment.amount),
        "unused_amount": number(payment.unused_amount),
        "date": day(payment.date),
        "reference_number": payment.reference_number,
        "description": payment.description,
        "account_name": "Undeposited Funds",
        "exchange_rate": 1.0,
        "bank_charges": 0.0,
        "invoices": [
            {
                "invoice_payment_id": applied.invoice_payment_id,
                "invoice_id": applied.invoice.invoice_id,
                "invoice_number": applied.invoice.invoice_number,
                "amount_applied": number(applied.amount_applied),
                "total": number(applied.invoice.total),
                "balance": number(applied.invoice.balance),
                "due_date": day(applied.invoice.due_date),
            }
            for applied in payment.applied.all()
        ],
        "created_time": zoho_time(payment.created_time, organization),
        "last_modified_time": zoho_time(payment.last_modified_time, organization),
    }


def webhook_json(hook: BooksWebhook) -> dict:
    return {
        "webhook_id": hook.webhook_id,
        "webhook_name": hook.webhook_name,
        "entity": hook.entity,
        "url": hook.url,
        "method": hook.method,
        "headers": hook.headers,
        "query_parameters": hook.query_parameters,
        "events": hook.events,
        "secret": hook.secret,
    }


# --- Resources: list filters and sorts ----------------------------------------------------------


@dataclass
class Resource:
    """How one Books collection is keyed, filtered, sorted and shown."""

    model: type
    key: str  # single-object key
    list_key: str
    id_field: str
    label: str  # for "<Label> does not exist."
    entity: str  # webhook entity name
    report_name: str
    serialize: object
    search: dict[str, str]  # query param -> ORM path
    text_search: list[str]
    sorts: dict[str, str]
    default_sort: str
    filter_by: dict[str, Q]
    dates: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)


STATUS_ALL = Q()
RESOURCES: dict[str, Resource] = {
    "contacts": Resource(
        model=BooksContact,
        key="contact",
        list_key="contacts",
        id_field="contact_id",
        label="Contact",
        entity="contact",
        report_name="Contacts",
        serialize=contact_json,
        search={
            "contact_name": "contact_name",
            "company_name": "company_name",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "phone": "phone",
            "address": "billing_address__address",
        },
        text_search=["contact_name", "company_name", "email"],
        sorts={
            "contact_name": "contact_name",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "outstanding_receivable_amount": "outstanding_receivable_amount",
            "outstanding_payable_amount": "id",
            "created_time": "created_time",
            "last_modified_time": "last_modified_time",
        },
        default_sort="contact_name",
        filter_by={
            "Status.All": STATUS_ALL,
            "Status.Active": Q(status="active"),
            "Status.Inactive": Q(status="inactive"),
            "Status.Duplicate": Q(pk__in=[]),
            "Status.Customers": Q(contact_type="customer"),
            "Status.Vendors": Q(contact_type="vendor"),
            "Status.Crm": Q(is_linked_with_zohocrm=True),
        },
    ),
    "items": Resource(
        model=BooksItem,
        key="item",
        list_key="items",
        id_field="item_id",
        label="Item",
        entity="item",
        report_name="Items",
        serialize=item_json,
        search={
            "name": "name",
            "description": "description",
            "sku": "sku",
            "rate": "rate",
            "tax_id": "tax_id",
        },
        text_search=["name", "description", "sku"],
        sorts={"name": "name", "rate": "rate", "tax_name": "tax_name"},
        default_sort="name",
        filter_by={
            "Status.All": STATUS_ALL,
            "Status.Active": Q(status="active"),
            "Status.Inactive": Q(status="inactive"),
        },
    ),
    "estimates": Resource(
        model=BooksEstimate,
        key="estimate",
        list_key="estimates",
        id_field="estimate_id",
        label="Estimate",
        entity="estimate",
        report_name="Estimates",
        serialize=estimate_json,
        search={
            "estimate_number": "estimate_number",
            "reference_number": "reference_number",
            "customer_name": "customer__contact_name",
            "customer_id": "customer__contact_id",
            "total": "total",
            "status": "status",
        },
        text_search=["estimate_number", "reference_number", "customer__contact_name"],
        sorts={
            "customer_name": "customer__contact_name",
            "estimate_number": "estimate_number",
            "date": "date",
            "total": "total",
            "created_time": "created_time",
            "last_modified_time": "last_modified_time",
        },
        default_sort="created_time",
        filter_by={
            "Status.All": STATUS_ALL,
            **{f"Status.{status.label}": Q(status=status.value) for status in BooksEstimate.Status},
        },
        dates=["date", "expiry_date"],
        related=["customer"],
    ),
    "invoices": Resource(
        model=BooksInvoice,
        key="invoice",
        list_key="invoices",
        id_field="invoice_id",
        label="Invoice",
        entity="invoice",
        report_name="Invoices",
        serialize=invoice_json,
        search={
            "invoice_number": "invoice_number",
            "reference_number": "reference_number",
            "customer_name": "customer__contact_name",
            "customer_id": "customer__contact_id",
            "email": "customer__email",
            "total": "total",
            "balance": "balance",
        },
        text_search=["invoice_number", "reference_number", "customer__contact_name"],
        sorts={
            "customer_name": "customer__contact_name",
            "invoice_number": "invoice_number",
            "date": "date",
            "due_date": "due_date",
            "total": "total",
            "balance": "balance",
            "created_time": "created_time",
            "last_modified_time": "last_modified_time",
        },
        default_sort="created_time",
        filter_by={},  # needs today's date: see invoice_status_q
        dates=["date", "due_date"],
        related=["customer", "estimate"],
    ),
    "customerpayments": Resource(
        model=BooksPayment,
        key="payment",
        list_key="customerpayments",
        id_field="payment_id",
        label="Payment",
        entity="customer_payment",
        report_name="Customer Payments",
        serialize=payment_json,
        search={
            "customer_name": "customer__contact_name",
            "customer_id": "customer__contact_id",
            "reference_number": "reference_number",
            "amount": "amount",
            "payment_mode": "payment_mode",
            "notes": "description",
            "invoice_id": "applied__invoice__invoice_id",
        },
        text_search=["reference_number", "customer__contact_name", "payment_number"],
        sorts={
            "customer_name": "customer__contact_name",
            "unused_amount": "unused_amount",
            "amount": "amount",
            "bcy_amount": "amount",
            "date": "date",
            "reference_number": "reference_number",
            "payment_mode": "payment_mode",
            "created_time": "created_time",
            "last_modified_time": "last_modified_time",
        },
        default_sort="date",
        filter_by={"PaymentMode.All": STATUS_ALL},
        dates=["date"],
        related=["customer"],
    ),
}
PAYMENT_MODES = {
    "Check": "check",
    "Cash": "cash",
    "BankTransfer": "banktransfer",
    "Paypal": "paypal",
    "CreditCard": "creditcard",
    "GoogleCheckout": "googlecheckout",
    "Credit": "credit",
    "Authorizenet": "authorizenet",
    "BankRemittance": "bankremittance",
    "Payflowpro": "payflowpro",
    "Stripe": "stripe",
    "TwoCheckout": "twocheckout",
    "Braintree": "braintree",
    "Others": "others",
}
for _mode, _value in PAYMENT_MODES.items():
    RESOURCES["customerpayments"].filter_by[f"PaymentMode.{_mode}"] = Q(payment_mode__iexact=_value)


def invoice_status_q(status: str, today: date) -> Q | None:
    """Invoice statuses as filters; `overdue` and `unpaid` depend on today's date."""
    open_statuses = ["sent", "partially_paid"]
    overdue = Q(status__in=open_statuses, due_date__lt=today, balance__gt=0)
    return {
        "all": Q(),
        "draft": Q(status="draft"),
        "sent": Q(status="sent") & ~overdue,
        "viewed": Q(pk__in=[]),
        "overdue": overdue,
        "paid": Q(status="paid"),
        "void": Q(status="void"),
        "unpaid": Q(status__in=open_statuses, balance__gt=0),
        "partiallypaid": Q(status="partially_paid") & ~overdue,
        "partially_paid": Q(status="partially_paid") & ~overdue,
        "paymentexpecteddate": Q(pk__in=[]),
    }.get(status.lower())


def _moment(value: str, field_name: str) -> datetime:
    text = value.strip().replace(" ", "+")
    # Zoho's own format has no colon in the offset; Python's parser needs one.
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = parse_datetime(text)
    if parsed is None:
        parsed_day = parse_date(text)
        if parsed_day is None:
            raise invalid(field_name)
        parsed = datetime(parsed_day.year, parsed_day.month, parsed_day.day)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo("UTC"))
    return parsed


def records_filter(
    resource: Resource, organization: ZohoOrganization, params: dict[str, str]
) -> QuerySet:
    """The resource's rows in the organisation, filtered and sorted as the query asks."""
    rows = resource.model.objects.filter(organization=organization)
    if resource.related:
        rows = rows.select_related(*resource.related)
    for name, path in resource.search.items():
        if params.get(name):
            if resource is RESOURCES["invoices"] and name == "status":
                continue
            if path in ("total", "balance", "rate", "amount"):
                rows = rows.filter(**{path: money(params[name], name)})
            else:
                rows = rows.filter(**{f"{path}__iexact": params[name]})
        if params.get(f"{name}_startswith"):
            rows = rows.filter(**{f"{path}__istartswith": params[f"{name}_startswith"]})
        if params.get(f"{name}_contains"):
            rows = rows.filter(**{f"{path}__icontains": params[f"{name}_contains"]})
    if params.get("search_text"):
        text = Q()
        for path in resource.text_search:
            text |= Q(**{f"{path}__icontains": params["search_text"]})
        rows = rows.filter(text)
    if params.get("last_modified_time"):
        since = _moment(params["last_modified_time"], "last_modified_time")
        rows = rows.filter(last_modified_time__gte=since)
    for date_field in resource.dates:
        for suffix, lookup in (("start", "gte"), ("end", "lte"), ("before", "lt"), ("after", "gt")):
            value = params.get(f"{date_field}_{suffix}")
            if value:
                rows = rows.filter(
                    **{f"{date_field}__{lookup}": date_value(value, f"{date_field}_{suffix}")}
                )
        if params.get(date_field):
            rows = rows.filter(**{date_field: date_value(params[date_field], date_field)})
    today = today_for(organization)
    if resource is RESOURCES["invoices"]:
        if params.get("status"):
            condition = invoice_status_q(params["status"], today)
            if condition is None:
                raise invalid("status")
            rows = rows.filter(condition)
        if params.get("filter_by"):
            value = params["filter_by"]
            condition = (
                invoice_status_q(value.split(".", 1)[1], today)
                if value.startswith(("Status.", "Date."))
                else None
            )
            if condition is None:
                raise invalid("filter_by")
            rows = rows.filter(condition)
    elif params.get("filter_by"):
        if params["filter_by"] not in resource.filter_by:
            raise invalid("filter_by")
        rows = rows.filter(resource.filter_by[params["filter_by"]])
    if resource is RESOURCES["customerpayments"] and params.get("invoice_id"):
        rows = rows.distinct()
    column = params.get("sort_column") or resource.default_sort
    if column not in resource.sorts:
        raise invalid("sort_column")
    order = params.get("sort_order", "A").upper()
    if order not in ("A", "D"):
        raise invalid("sort_order")
    prefix = "-" if order == "D" else ""
    return rows.order_by(f"{prefix}{resource.sorts[column]}", f"{prefix}id")


def page_numbers(params: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(params.get("page") or 1)
        per_page = int(params.get("per_page") or MAX_PER_PAGE)
    except ValueError:
        raise invalid("page") from None
    if page < 1:
        raise invalid("page")
    if per_page < 1:
        raise invalid("per_page")
    return page, min(per_page, MAX_PER_PAGE)


def records_page(
    resource: Resource, organization: ZohoOrganization, params: dict[str, str]
) -> dict:
    """`{list_key: [...], "page_context": {...}}` for one page of the filtered list."""
    rows = records_filter(resource, organization, params)
    page, per_page = page_numbers(params)
    start = (page - 1) * per_page
    # Deep pages skip many rows: skip them on the ids (an index-only walk), then fetch the page.
    ids = list(rows.values_list("pk", flat=True)[start : start + per_page + 1])
    fetched = resource.model.objects.filter(pk__in=ids)
    if resource.related:
        fetched = fetched.select_related(*resource.related)
    if resource.model is BooksPayment:
        fetched = fetched.prefetch_related("applied__invoice")
    by_id = {row.pk: row for row in fetched}
    chunk = [by_id[pk] for pk in ids]
    has_more = len(chunk) > per_page
    filter_by = params.get("filter_by") or (
        "PaymentMode.All" if resource.model is BooksPayment else "Status.All"
    )
    return {
        resource.list_key: [resource.serialize(row, organization) for row in chunk[:per_page]],
        "page_context": {
            "page": page,
            "per_page": per_page,
            "has_more_page": has_more,
            "report_name": resource.report_name,
            "applied_filter": filter_by,
            "sort_column": params.get("sort_column") or resource.default_sort,
            "sort_order": params.get("sort_order", "A").upper(),
        },
    }


def record_get(resource: Resource, organization: ZohoOrganization, record_id: str):
    rows = resource.model.objects.filter(organization=organization)
    if resource.related:
        rows = rows.select_related(*resource.related)
    record = rows.filter(**{resource.id_field: record_id}).first()
    if record is None:
        raise missing(resource.label)
    return record


# --- Webhooks out -------------------------------------------------------------------------------


def books_webhook_signature(secret: str, query: dict[str, str], body: str) -> str:
    """Zoho Billing's documented scheme (assumed for Books, §2.9): HMAC-SHA256 over the sorted
    key+value pairs of the query string followed by the raw body, hex encoded (encoding
    UNCONFIRMED)."""
    message = "".join(f"{key}{query[key]}" for key in sorted(query)) + body
    return webhooks.hmac_sha256(secret, message, "hex")


def _notify(organization: ZohoOrganization, resource: Resource, event: str, record) -> None:
    hooks = BooksWebhook.objects.filter(organization=organization, entity=resource.entity)
    for hook in hooks:
        if hook.events and event not in hook.events:
            continue
        body = json.dumps(
            {resource.key: resource.serialize(record, organization)}, separators=(",", ":")
        )
        query = {entry["param_name"]: entry["param_value"] for entry in hook.query_parameters or []}
        headers = {entry["param_name"]: entry["param_value"] for entry in hook.headers or []}
        if hook.secret:
            headers["X-Zoho-Webhook-Signature"] = books_webhook_signature(hook.secret, query, body)
        url = hook.url
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
        webhooks.webhook_enqueue(
            vendor=VENDOR,
            account=organization.organization_id,
            kind=f"books.{resource.entity}.{event}",
            url=url,
            method=hook.method,
            body=body,
            headers=headers,
        )


@transaction.atomic
def webhook_create(*, organization: ZohoOrganization, data: dict) -> BooksWebhook:
    for name in ("webhook_name", "entity", "url"):
        if not data.get(name):
            raise invalid(name)
    if data["entity"] not in {resource.entity for resource in RESOURCES.values()}:
        raise invalid("entity")
    if not webhooks.target_url_allowed(data["url"]):
        # The sandbox only calls loopback or its own host (see apps.sandbox.webhooks).
        raise invalid("url")
    secret = data.get("secret") or ""
    if secret and not (12 <= len(secret) <= 50 and secret.isalnum()):
        raise invalid("secret")
    return BooksWebhook.objects.create(
        organization=organization,
        webhook_name=data["webhook_name"][:50],
        entity=data["entity"],
        url=data["url"],
        method=(data.get("method") or "POST").upper(),
        headers=data.get("headers") or [],
        query_parameters=data.get("query_parameters") or [],
        secret=secret,
        events=data.get("events") or [],
    )


# --- Writes: contacts and items -------------------------------------------------------------------

CONTACT_TEXT = [
    "contact_name",
    "company_name",
    "contact_type",
    "email",
    "phone",
    "mobile",
    "first_name",
    "last_name",
    "website",
    "currency_code",
    "notes",
]


def _primary_person(data: dict) -> dict:
    persons = data.get("contact_persons") or []
    primary = next(
        (p for p in persons if p.get("is_primary_contact")), persons[0] if persons else {}
    )
    return {
        key: primary.get(key) for key in ("first_name", "last_name", "email", "phone", "mobile")
    }


def _contact_apply(contact: BooksContact, data: dict, organization: ZohoOrganization) -> None:
    person = _primary_person(data)
    for name in CONTACT_TEXT:
        value = data.get(name, person.get(name))
        if value is not None:
            setattr(contact, name, str(value))
    if not contact.contact_name.strip():
        raise invalid("contact_name")
    if len(contact.contact_name) > 200:
        raise invalid("contact_name")
    if contact.contact_type not in ("customer", "vendor"):
        raise invalid("contact_type")
    for name in ("billing_address", "shipping_address"):
        if isinstance(data.get(name), dict):
            setattr(contact, name, _address(data[name]))
    if data.get("payment_terms") is not None:
        try:
            contact.payment_terms = int(data["payment_terms"])
        except (TypeError, ValueError):
            raise invalid("payment_terms") from None
    contact.last_modified_time = now_for(organization)


@transaction.atomic
def contact_create(*, organization: ZohoOrganization, data: dict) -> BooksContact:
    moment = now_for(organization)
    contact = BooksContact(organization=organization, created_time=moment)
    _contact_apply(contact, data, organization)
    contact.save()
    _notify(organization, RESOURCES["contacts"], "created", contact)
    return contact


@transaction.atomic
def contact_update(*, contact: BooksContact, data: dict) -> BooksContact:
    _contact_apply(contact, data, contact.organization)
    contact.save()
    _notify(contact.organization, RESOURCES["contacts"], "updated", contact)
    return contact


@transaction.atomic
def contact_mark(*, contact: BooksContact, status: str) -> BooksContact:
    contact.status = status
    contact.last_modified_time = now_for(contact.organization)
    contact.save()
    _notify(contact.organization, RESOURCES["contacts"], "updated", contact)
    return contact


@transaction.atomic
def contact_delete(*, contact: BooksContact) -> None:
    if (
        BooksInvoice.objects.filter(customer=contact).exists()
        or BooksEstimate.objects.filter(customer=contact).exists()
        or BooksPayment.objects.filter(customer=contact).exists()
    ):
        raise refused("The contact has transactions and cannot be deleted.")
    _notify(contact.organization, RESOURCES["contacts"], "deleted", contact)
    contact.delete()


def _item_apply(item: BooksItem, data: dict, organization: ZohoOrganization) -> None:
    for name in ("name", "description", "unit", "sku", "product_type"):
        if data.get(name) is not None:
            setattr(item, name, str(data[name]))
    if data.get("rate") is not None:
        item.rate = round_money(money(data["rate"], "rate"))
    try:  # the tax comes from `tax_id` only (books_settings' docstring)
        books_settings.item_tax_apply(item, data)
    except books_settings.SettingMissing as error:
        raise missing(error.label) from None
    if not item.name.strip():
        raise invalid("name")
    if item.sku:
        clash = BooksItem.objects.filter(organization=organization, sku__iexact=item.sku)
        if clash.exclude(pk=item.pk).exists():
            raise refused(f'The SKU "{item.sku}" already exists for another item.')
    item.last_modified_time = now_for(organization)


@transaction.atomic
def item_create(*, organization: ZohoOrganization, data: dict) -> BooksItem:
    if data.get("rate") is None:
        raise invalid("rate")
    item = BooksItem(organization=organization, created_time=now_for(organization))
    _item_apply(item, data, organization)
    item.save()
    _notify(organization, RESOURCES["items"], "created", item)
    return item


@transaction.atomic
def item_update(*, item: BooksItem, data: dict) -> BooksItem:
    _item_apply(item, data, item.organization)
    item.save()
    _notify(item.organization, RESOURCES["items"], "updated", item)
    return item


@transaction.atomic
def item_mark(*, item: BooksItem, status: str) -> BooksItem:
    item.status = status
    item.last_modified_time = now_for(item.organization)
    item.save()
    _notify(item.organization, RESOURCES["items"], "updated", item)
    return item


@transaction.atomic
def item_delete(*, item: BooksItem) -> None:
    _notify(item.organization, RESOURCES["items"], "deleted", item)
    item.delete()


# --- Writes: documents ----------------------------------------------------------------------------


@dataclass
class Totals:
    lines: list[dict]
    sub_total: Decimal
    tax_total: Decimal
    discount: Decimal  # the entity discount in money
    total: Decimal
    discount_input: str = ""
    is_discount_before_tax: bool = True
    discount_type: str = DiscountType.ENTITY_LEVEL
    is_inclusive_tax: bool = False


HUNDRED = Decimal(100)


def _discount_value(raw: object) -> tuple[Decimal, bool]:
    """`"10%"` -> (10, True); `25` or `"25.00"` -> (25, False). Negative or >100 % refused."""
    text = str(raw if raw not in (None, "") else 0).strip()
    percent = text.endswith("%")
    value = money(text.removesuffix("%").strip(), "discount")
    if value < 0 or (percent and value > HUNDRED):
        raise invalid("discount")
    return value, percent


def _flag(value: object, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise invalid(field_name)


def _spread(discount: Decimal, amounts: list[Decimal], currency: str) -> list[Decimal]:
    """Shares of `discount` in proportion to `amounts`, each rounded; the rounding residue goes
    to the largest amount (the first on a tie), so the shares add up to the discount."""
    base = sum(amounts, ZERO)
    if not discount or not base:
        return [ZERO] * len(amounts)
    shares = [round_money(discount * amount / base, currency) for amount in amounts]
    residue = discount - sum(shares, ZERO)
    if residue:
        largest = max(range(len(amounts)), key=lambda index: (amounts[index], -index))
        shares[largest] += residue
    return shares


def document_totals(
    *,
    organization: ZohoOrganization,
    raw_lines: object,
    currency: str,
    discount: object = 0,
    is_discount_before_tax: object = True,
    discount_type: str | None = None,
    is_inclusive_tax: object = False,
) -> Totals:
    """Price a document line by line (half up to the currency's places), then its discount.

    vendor-contracts §2.6 documents the fields (`discount`, `is_discount_before_tax`,
    `discount_type` entity_level|item_level, line `discount`/`discount_amount`) but not the
    arithmetic. The sandbox ASSUMES Zoho's as its help pages describe it:

    * item_level: each line's `discount` ("10%" of the line, or an amount) comes off that line;
      the document `discount` must then be 0.
    * entity_level: the document `discount` ("10%" or an amount); lines carry none. Before tax,
      a percentage is taken of the subtotal (rounded once), the amount is spread over the lines
      in proportion to their amounts (largest remainder to the largest line) and each line is
      taxed on what is left of it. After tax, the lines are taxed in full and the discount (a
      percentage of subtotal + tax) comes off the total.
    * With no `discount_type`, a document whose lines carry a discount is item_level, any
      other entity_level (a sandbox choice). `is_discount_before_tax` defaults to true.

    Everything is rounded per line; tax_total is the sum of the line taxes and
    total = sub_total + tax_total - discount (tax-inclusive: sub_total - discount). A line's tax
    is chosen by books_settings.line_tax (its `tax_id`, else its item's).
    """
    if not isinstance(raw_lines, list) or not raw_lines:
        raise invalid("line_items")
    before_tax = _flag(is_discount_before_tax, "is_discount_before_tax")
    inclusive = _flag(is_inclusive_tax, "is_inclusive_tax")
    items = {
        item.item_id: item
        for item in BooksItem.objects.filter(
            organization=organization,
            item_id__in=[str(raw.get("item_id")) for raw in raw_lines if isinstance(raw, dict)],
        )
    }
    if not all(isinstance(raw, dict) for raw in raw_lines):
        raise invalid("line_items")
    line_discounted = any(_discount_value(raw.get("discount"))[0] for raw in raw_lines)
    if discount_type is None:
        discount_type = DiscountType.ITEM_LEVEL if line_discounted else DiscountType.ENTITY_LEVEL
    if discount_type not in DiscountType.values:
        raise invalid("discount_type")
    entity_value, entity_percent = _discount_value(discount)
    if discount_type == DiscountType.ITEM_LEVEL and entity_value:
        raise invalid("discount")
    if discount_type == DiscountType.ENTITY_LEVEL and line_discounted:
        raise invalid("line_items")

    lines = []
    for position, raw in enumerate(raw_lines, start=1):
        item = None
        if raw.get("item_id"):
            item = items.get(str(raw["item_id"]))
            if item is None:
                raise missing("Item")
        rate = money(raw.get("rate", item.rate if item else None), "rate")
        quantity = money(raw.get("quantity", 1), "quantity")
        gross = round_money(rate * quantity, currency)
        value, percent = _discount_value(raw.get("discount"))
        line_discount = round_money(gross * value / HUNDRED if percent else value, currency)
        if line_discount > gross:
            raise invalid("discount")
        try:
            tax_id, tax_name, tax_percentage = books_settings.line_tax(organization, raw, item)
        except books_settings.SettingMissing as error:
            raise missing(error.label) from None
        name = raw.get("name") or (item.name if item else "")
        if not name and not raw.get("description"):
            raise invalid("line_items")
        lines.append(
            {
                "line_item_id": raw.get("line_item_id") or zoho_id(),
                "item_id": item.item_id if item else "",
                "name": name,
                "description": raw.get("description", item.description if item else ""),
                "item_order": position,
                "rate": str(rate),
                "quantity": str(quantity),
                "unit": raw.get("unit", item.unit if item else ""),
                "discount": str(raw.get("discount", 0) or 0),
                "discount_amount": str(line_discount),
                "tax_id": tax_id,
                "tax_name": tax_name,
                "tax_type": "tax",
                "tax_percentage": str(tax_percentage),
                "item_total": str(gross - line_discount),
            }
        )
    amounts = [Decimal(line["item_total"]) for line in lines]
    sub_total = sum(amounts, ZERO)

    shares = [ZERO] * len(lines)
    entity_discount = ZERO
    if before_tax and entity_value:
        entity_discount = round_money(
            sub_total * entity_value / HUNDRED if entity_percent else entity_value, currency
        )
        if entity_discount > sub_total:
            raise invalid("discount")
        shares = _spread(entity_discount, amounts, currency)
    for line, amount, share in zip(lines, amounts, shares, strict=True):
        percentage = Decimal(line["tax_percentage"])
        divisor = HUNDRED + percentage if inclusive else HUNDRED
        tax = round_money((amount - share) * percentage / divisor, currency)
        line["_entity_discount"] = str(share)
        line["_tax_amount"] = str(tax)
    tax_total = sum((Decimal(line["_tax_amount"]) for line in lines), ZERO)
    added_tax = ZERO if inclusive else tax_total
    if not before_tax and entity_value:
        gross_total = sub_total + added_tax
        entity_discount = round_money(
            gross_total * entity_value / HUNDRED if entity_percent else entity_value, currency
        )
        if entity_discount > gross_total:
            raise invalid("discount")
    return Totals(
        lines=lines,
        sub_total=sub_total,
        tax_total=tax_total,
        discount=entity_discount,
        total=sub_total + added_tax - entity_discount,
        discount_input=f"{entity_value}%" if entity_percent else str(entity_value),
        is_discount_before_tax=before_tax,
        is_inclusive_tax=inclusive,
        discount_type=discount_type,
    )


def _customer(organization: ZohoOrganization, customer_id: object) -> BooksContact:
    if not customer_id:
        raise invalid("customer_id")
    customer = BooksContact.objects.filter(
        organization=organization, contact_id=str(customer_id)
    ).first()
    if customer is None:
        raise missing("Contact")
    return customer


SERIES = {
    BooksEstimate: ("next_estimate_number", "estimate_number", "EST-", 6),
    BooksInvoice: ("next_invoice_number", "invoice_number", "INV-", 6),
    BooksPayment: ("next_payment_number", "payment_number", "", 0),
}


def _next_number(model, organization: ZohoOrganization) -> str:
    """The next number of the organisation's series for `model`, from its counter (F() + 1).

    The counter row is updated in the caller's transaction, so concurrent creates queue on it
    and never share a number; deleted numbers are not reused. A number a client chose by hand
    that the counter later reaches is skipped.
    """
    counter, number_field, prefix, width = SERIES[model]
    rows = ZohoOrganization.objects.filter(pk=organization.pk)
    while True:
        rows.update(**{counter: F(counter) + 1})
        taken = rows.values_list(counter, flat=True).get() - 1
        candidate = f"{prefix}{taken:0{width}d}"
        clash = model.objects.filter(organization=organization, **{number_field: candidate})
        if not clash.exists():
            return candidate


def _document_apply(document, data: dict, organization: ZohoOrganization, *, creating: bool):
    if creating or "customer_id" in data:
        document.customer = _customer(organization, data.get("customer_id"))
    if creating:
        # Books' create takes `currency_id`, not `currency_code` (books_settings' docstring).
        try:
            document.currency_code = books_settings.document_currency(organization, data)
        except books_settings.SettingMissing as error:
            raise missing(error.label) from None
    for name in ("reference_number", "notes", "terms", "zcrm_potential_id"):
        if data.get(name) is not None:
            setattr(document, name, str(data[name]))
    if len(document.reference_number) > 100:
        raise invalid("reference_number")
    if data.get("date") is not None or creating:
        document.date = date_value(data.get("date"), "date") or today_for(organization)
    pricing = (
        "line_items",
        "discount",
        "is_discount_before_tax",
        "discount_type",
        "is_inclusive_tax",
    )
    if creating or any(name in data for name in pricing):
        totals = document_totals(
            organization=organization,
            raw_lines=data.get("line_items", document.line_items if not creating else None),
            currency=document.currency_code,
            discount=data.get("discount", document.discount_input or document.discount),
            is_discount_before_tax=data.get(
                "is_discount_before_tax", True if creating else document.is_discount_before_tax
            ),
            discount_type=data.get(
                "discount_type",
                None if creating or "line_items" in data else document.discount_type,
            ),
            is_inclusive_tax=data.get(
                "is_inclusive_tax", False if creating else document.is_inclusive_tax
            ),
        )
        document.line_items = totals.lines
        document.sub_total = totals.sub_total
        document.tax_total = totals.tax_total
        document.discount = totals.discount
        document.discount_input = totals.discount_input
        document.is_discount_before_tax = totals.is_discount_before_tax
        document.discount_type = totals.discount_type
        document.is_inclusive_tax = totals.is_inclusive_tax
        document.total = totals.total
    document.last_modified_time = now_for(organization)


@transaction.atomic
def estimate_create(*, organization: ZohoOrganization, data: dict) -> BooksEstimate:
    estimate = BooksEstimate(organization=organization, created_time=now_for(organization))
    _document_apply(estimate, data, organization, creating=True)
    estimate.expiry_date = date_value(data.get("expiry_date"), "expiry_date")
    estimate.estimate_number = str(
        data.get("estimate_number") or _next_number(BooksEstimate, organization)
    )
    estimate.save()
    _notify(organization, RESOURCES["estimates"], "created", estimate)
    return estimate


@transaction.atomic
def estimate_update(*, estimate: BooksEstimate, data: dict) -> BooksEstimate:
    if estimate.status == BooksEstimate.Status.INVOICED:
        raise refused("An invoiced estimate cannot be edited.")
    _document_apply(estimate, data, estimate.organization, creating=False)
    if "expiry_date" in data:
        estimate.expiry_date = date_value(data.get("expiry_date"), "expiry_date")
    if data.get("estimate_number"):
        estimate.estimate_number = str(data["estimate_number"])
    estimate.save()
    _notify(estimate.organization, RESOURCES["estimates"], "updated", estimate)
    return estimate


ESTIMATE_MESSAGES = {
    "sent": "Estimate status has been changed to Sent.",
    "accepted": "Estimate status has been changed to Accepted.",
    "declined": "Estimate status has been changed to Declined.",
}


@transaction.atomic
def estimate_mark(*, estimate: BooksEstimate, status: str) -> str:
    """Mark an estimate sent, accepted or declined; invoiced estimates keep their status."""
    if estimate.status == BooksEstimate.Status.INVOICED:
        raise refused("The estimate has already been invoiced; its status cannot be changed.")
    if status == "sent" and estimate.status != BooksEstimate.Status.DRAFT:
        raise refused("Only a draft estimate can be marked as sent.")
    today = today_for(estimate.organization)
    estimate.status = status
    estimate.accepted_date = today if status == "accepted" else None
    estimate.declined_date = today if status == "declined" else None
    estimate.last_modified_time = now_for(estimate.organization)
    estimate.save()
    _notify(estimate.organization, RESOURCES["estimates"], "updated", estimate)
    return ESTIMATE_MESSAGES[status]


@transaction.atomic
def estimate_delete(*, estimate: BooksEstimate) -> None:
    if BooksInvoice.objects.filter(estimate=estimate).exists():
        raise refused("The estimate has been invoiced and cannot be deleted.")
    _notify(estimate.organization, RESOURCES["estimates"], "deleted", estimate)
    estimate.delete()


def _refresh_outstanding(contact: BooksContact) -> None:
    owed = BooksInvoice.objects.filter(customer=contact).exclude(
        status__in=[BooksInvoice.Status.DRAFT, BooksInvoice.Status.VOID]
    )
    contact.outstanding_receivable_amount = owed.aggregate(s=Sum("balance"))["s"] or ZERO
    BooksContact.objects.filter(pk=contact.pk).update(
        outstanding_receivable_amount=contact.outstanding_receivable_amount
    )


@transaction.atomic
def invoice_create(*, organization: ZohoOrganization, data: dict) -> BooksInvoice:
    """Create a draft invoice; with `estimate_id` the estimate is linked and becomes invoiced."""
    invoice = BooksInvoice(organization=organization, created_time=now_for(organization))
    _document_apply(invoice, data, organization, creating=True)
    try:
        terms_days = int(data.get("payment_terms") or 0)
    except (TypeError, ValueError):
        raise invalid("payment_terms") from None
    invoice.due_date = date_value(data.get("due_date"), "due_date") or invoice.date + timedelta(
        days=terms_days
    )
    if invoice.due_date < invoice.date:
        raise invalid("due_date")
    invoice.invoice_number = str(
        data.get("invoice_number") or _next_number(BooksInvoice, organization)
    )
    invoice.balance = invoice.total
    estimate = None
    if data.get("estimate_id"):
        estimate = (
            BooksEstimate.objects.select_for_update()
            .filter(organization=organization, estimate_id=str(data["estimate_id"]))
            .first()
        )
        if estimate is None:
            raise missing("Estimate")
        if estimate.customer_id != invoice.customer.pk:
            raise refused("The estimate belongs to another customer.")
        invoice.estimate = estimate
        if not invoice.zcrm_potential_id:
            invoice.zcrm_potential_id = estimate.zcrm_potential_id
    invoice.save()
    if estimate is not None:
        estimate.status = BooksEstimate.Status.INVOICED
        estimate.last_modified_time = now_for(organization)
        estimate.save()
        _notify(organization, RESOURCES["estimates"], "updated", estimate)
    _notify(organization, RESOURCES["invoices"], "created", invoice)
    return invoice


@transaction.atomic
def invoice_update(*, invoice: BooksInvoice, data: dict) -> BooksInvoice:
    if invoice.status == BooksInvoice.Status.VOID:
        raise refused("A void invoice cannot be edited; mark it as draft first.")
    _document_apply(invoice, data, invoice.organization, creating=False)
    if "due_date" in data:
        invoice.due_date = date_value(data.get("due_date"), "due_date", required=True)
    if invoice.due_date < invoice.date:
        raise invalid("due_date")
    if data.get("invoice_number"):
        invoice.invoice_number = str(data["invoice_number"])
    if invoice.total < invoice.payment_made:
        raise refused("The invoice total cannot be less than the payments made.")
    invoice.balance = invoice.total - invoice.payment_made
    _settle_status(invoice)
    invoice.save()
    _refresh_outstanding(invoice.customer)
    _notify(invoice.organization, RESOURCES["invoices"], "updated", invoice)
    return invoice


def _settle_status(invoice: BooksInvoice) -> None:
    if invoice.status in (BooksInvoice.Status.DRAFT, BooksInvoice.Status.VOID):
        return
    if invoice.balance <= 0:
        invoice.status = BooksInvoice.Status.PAID
    elif invoice.payment_made > 0:
        invoice.status = BooksInvoice.Status.PARTIALLY_PAID
    else:
        invoice.status = BooksInvoice.Status.SENT


INVOICE_MESSAGES = {
    "sent": "Invoice status has been changed to Sent.",
    "void": "Invoice status has been changed to void.",
    "draft": "Status of invoice changed from void to draft.",
}


@transaction.atomic
def invoice_mark(*, invoice: BooksInvoice, status: str) -> str:
    if status == "sent":
        if invoice.status != BooksInvoice.Status.DRAFT:
            raise refused("Only a draft invoice can be marked as sent.")
        invoice.status = BooksInvoice.Status.SENT
        _settle_status(invoice)
    elif status == "void":
        if invoice.status == BooksInvoice.Status.VOID:
            raise refused("The invoice is already void.")
        if invoice.payment_made > 0:
            raise refused("An invoice with payments applied cannot be voided.")
        invoice.status = BooksInvoice.Status.VOID
    else:
        if invoice.status != BooksInvoice.Status.VOID:
            raise refused("Only a void invoice can be marked as draft.")
        invoice.status = BooksInvoice.Status.DRAFT
    invoice.last_modified_time = now_for(invoice.organization)
    invoice.save()
    _refresh_outstanding(invoice.customer)
    _notify(invoice.organization, RESOURCES["invoices"], "updated", invoice)
    return INVOICE_MESSAGES[status]


@transaction.atomic
def invoice_delete(*, invoice: BooksInvoice) -> None:
    if invoice.payment_made > 0:
        raise refused("An invoice with payments applied cannot be deleted.")
    estimate = invoice.estimate
    _notify(invoice.organization, RESOURCES["invoices"], "deleted", invoice)
    invoice.delete()
    _refresh_outstanding(invoice.customer)
    if estimate and not BooksInvoice.objects.filter(estimate=estimate).exists():
        estimate.status = BooksEstimate.Status.ACCEPTED
        estimate.last_modified_time = now_for(estimate.organization)
        estimate.save()


# --- Writes: customer payments --------------------------------------------------------------------


def _unapply(payment: BooksPayment) -> None:
    for applied in payment.applied.select_related("invoice"):
        invoice = BooksInvoice.objects.select_for_update().get(pk=applied.invoice.pk)
        invoice.payment_made -= applied.amount_applied
        invoice.balance += applied.amount_applied
        _settle_status(invoice)
        invoice.last_modified_time = now_for(payment.organization)
        invoice.save()
        applied.delete()


def _apply(payment: BooksPayment, data: dict) -> None:
    organization = payment.organization
    applied_total = ZERO
    for entry in data.get("invoices") or []:
        if not isinstance(entry, dict):
            raise invalid("invoices")
        invoice = (
            BooksInvoice.objects.select_for_update()
            .filter(organization=organization, invoice_id=str(entry.get("invoice_id") or ""))
            .first()
        )
        if invoice is None:
            raise missing("Invoice")
        if invoice.customer_id != payment.customer_id:
            raise refused("The invoice belongs to another customer.")
        if invoice.status == BooksInvoice.Status.VOID:
            raise refused("A payment cannot be applied to a void invoice.")
        amount = round_money(money(entry.get("amount_applied"), "amount_applied"))
        if amount <= 0:
            raise invalid("amount_applied")
        if amount > invoice.balance:
            raise refused(
                f"The amount applied to invoice {invoice.invoice_number} exceeds its balance."
            )
        if invoice.status == BooksInvoice.Status.DRAFT:
            invoice.status = BooksInvoice.Status.SENT
        invoice.payment_made += amount
        invoice.balance -= amount
        invoice.last_payment_date = payment.date
        _settle_status(invoice)
        invoice.last_modified_time = now_for(organization)
        invoice.save()
        BooksPaymentApplication.objects.create(
            payment=payment, invoice=invoice, amount_applied=amount
        )
        applied_total += amount
        _notify(organization, RESOURCES["invoices"], "updated", invoice)
    if applied_total > payment.amount:
        raise refused("The amount applied to invoices exceeds the payment amount.")
    payment.unused_amount = payment.amount - applied_total
    payment.save()
    _refresh_outstanding(payment.customer)


def _payment_fields(payment: BooksPayment, data: dict, *, creating: bool) -> None:
    organization = payment.organization
    required = ("customer_id", "payment_mode", "amount", "date") if creating else ()
    for name in required:
        if data.get(name) in (None, ""):
            raise invalid(name)
    if "customer_id" in data:
        payment.customer = _customer(organization, data["customer_id"])
    if data.get("payment_mode") is not None:
        payment.payment_mode = str(data["payment_mode"])
    if data.get("amount") is not None:
        payment.amount = round_money(money(data["amount"], "amount"))
        if payment.amount <= 0:
            raise invalid("amount")
    if data.get("date") is not None:
        payment.date = date_value(data["date"], "date", required=True)
    for name in ("reference_number", "description"):
        if data.get(name) is not None:
            setattr(payment, name, str(data[name]))
    if len(payment.reference_number) > 100:
        raise invalid("reference_number")
    payment.last_modified_time = now_for(organization)


@transaction.atomic
def payment_create(*, organization: ZohoOrganization, data: dict) -> BooksPayment:
    payment = BooksPayment(organization=organization, created_time=now_for(organization))
    _payment_fields(payment, data, creating=True)
    payment.payment_number = _next_number(BooksPayment, organization)
    payment.unused_amount = payment.amount
    payment.save()
    _apply(payment, data)
    _notify(organization, RESOURCES["customerpayments"], "created", payment)
    return payment


@transaction.atomic
def payment_update(*, payment: BooksPayment, data: dict) -> BooksPayment:
    _payment_fields(payment, data, creating=False)
    if "invoices" in data or "amount" in data:
        previous = [
            {"invoice_id": a.invoice.invoice_id, "amount_applied": str(a.amount_applied)}
            for a in payment.applied.select_related("invoice")
        ]
        _unapply(payment)
        _apply(payment, {"invoices": data.get("invoices", previous)})
    else:
        payment.save()
    _notify(payment.organization, RESOURCES["customerpayments"], "updated", payment)
    return payment


@transaction.atomic
def payment_delete(*, payment: BooksPayment) -> None:
    _notify(payment.organization, RESOURCES["customerpayments"], "deleted", payment)
    _unapply(payment)
    customer = payment.customer
    payment.delete()
    _refresh_outstanding(customer)
