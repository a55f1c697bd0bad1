"""Sandbox controls, not part of Xero's API: webhooks on demand, and what tests and benchmarks need.

Staff of this site only (signed in; CSRF-checked like any other form post), since they make the
server send requests or change an organisation's books.
"""

import uuid
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from apps.sandbox import access, ratelimit
from apps.sandbox.xero import documents, serializers, services, webhooks, wire
from apps.sandbox.xero.models import (
    XeroApp,
    XeroContact,
    XeroInvoice,
    XeroPayment,
    XeroQuote,
    XeroTenant,
)
from apps.sandbox.xero.responses import json_answer, not_found

# --- sandbox controls (not Xero's API): webhooks on demand --------------------------------------
VENDOR = "xero"
REPLAY_MAX_MINUTES = 7 * 24 * 60


def _control_error(field: str, message: str) -> HttpResponse:
    return json_answer({"error": message, "field": field}, status=400)


@require_http_methods(["POST"])
def intent_to_receive_view(request: HttpRequest, client_id: str) -> HttpResponse:
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    app = XeroApp.objects.filter(client_id=client_id).first()
    if app is None:
        return not_found()
    try:
        report = webhooks.intent_to_receive(app=app)
    except ValueError as error:
        return json_answer({"error": str(error)}, status=400)
    return json_answer(
        {
            "passed": report.passed,
            "attempts": [
                {
                    "signed_correctly": a.signed_correctly,
                    "status_code": a.status_code,
                    "passed": a.passed,
                }
                for a in report.attempts
            ],
        }
    )


@require_http_methods(["POST"])
def events_replay_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Send UPDATE events for a tenant's contacts and invoices changed in the last `minutes`
    (a whole number from 1 to a week's minutes; 60 when not given)."""
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    try:
        tenant = XeroTenant.objects.filter(tenant_id=uuid.UUID(tenant_id)).first()
    except ValueError:
        tenant = None
    if tenant is None:
        return not_found()
    raw = (request.POST.get("minutes") or "60").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= REPLAY_MAX_MINUTES:
        return _control_error(
            "minutes", f"minutes must be a whole number from 1 to {REPLAY_MAX_MINUTES}."
        )
    minutes = int(raw)
    since = services.tenant_now(tenant) - timedelta(minutes=minutes)
    with transaction.atomic():
        queued = webhooks.events_replay(
            tenant=tenant,
            category="CONTACT",
            resource_ids=list(tenant_records(tenant, "contacts", since)),
        ) + webhooks.events_replay(
            tenant=tenant,
            category="INVOICE",
            resource_ids=list(tenant_records(tenant, "invoices", since)),
        )
    return json_answer({"queued": queued})


def tenant_records(tenant: XeroTenant, kind: str, since):
    if kind == "contacts":
        return XeroContact.objects.filter(tenant=tenant, updated_at__gte=since).values_list(
            "contact_id", flat=True
        )
    return XeroInvoice.objects.filter(tenant=tenant, updated_at__gte=since).values_list(
        "invoice_id", flat=True
    )


# --- a bookkeeper at work in Xero: payments, deletions, conversions and status changes there ---


def _tenant(tenant_id: str) -> XeroTenant | None:
    try:
        return XeroTenant.objects.filter(tenant_id=uuid.UUID(tenant_id)).first()
    except ValueError:
        return None


def _fields(request: HttpRequest) -> dict | None:
    """The control's fields: a JSON object, or a form post; None when the JSON is not an object."""
    if request.content_type == "application/json":
        try:
            body = wire.loads(request.body or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
    return request.POST.dict()


def _find(model, tenant: XeroTenant, id_attribute: str, number_attribute: str, wanted: str):
    rows = model.objects.filter(tenant=tenant)
    try:
        return rows.filter(**{id_attribute: uuid.UUID(wanted)}).first()
    except ValueError:
        return rows.filter(**{number_attribute: wanted}).first()


@require_http_methods(["POST"])
def payment_made_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Record a payment "made in Xero" by the organisation's bookkeeper (not through an app).

    Fields (form or JSON): `invoice` (InvoiceID or InvoiceNumber), `amount`, optional `account`
    (a payments account's code, 090 by default), `date` (YYYY-MM-DD, today by default) and
    `reference`. Xero's rules apply as to `PUT /Payments`; the invoice's INVOICE UPDATE webhook
    event is queued as for any payment. Answers `{"Payments": [...]}` or 400 naming the field.
    """
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    tenant = _tenant(tenant_id)
    if tenant is None:
        return not_found()
    fields = _fields(request)
    if fields is None:
        return _control_error("body", "The body must be a JSON object or a form.")
    wanted = str(fields.get("invoice") or "").strip()
    if not wanted:
        return _control_error("invoice", "invoice (an InvoiceID or InvoiceNumber) is required.")
    invoice = _find(XeroInvoice, tenant, "invoice_id", "invoice_number", wanted)
    if invoice is None:
        return _control_error("invoice", f"No invoice {wanted} in this organisation.")
    if fields.get("amount") in (None, ""):
        return _control_error("amount", "amount is required.")
    data = {
        "Invoice": {"InvoiceID": str(invoice.invoice_id)},
        "Account": {"Code": str(fields.get("account") or "090")},
        "Amount": fields["amount"],
        "Date": fields.get("date") or None,
        "Reference": str(fields.get("reference") or ""),
    }
    try:
        with transaction.atomic():
            payment = documents.payment_create(tenant=tenant, data=data)
    except services.ElementInvalid as error:
        return _control_error("payment", "; ".join(error.messages))
    payment.refresh_from_db()
    return json_answer({"Payments": [serializers.payment_to_xero(payment)]})


@require_http_methods(["POST"])
def payment_deleted_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Delete a payment "in Xero" (a bookkeeper removing one entered in error or bounced).

    Field (form or JSON): `payment` (its PaymentID). As `POST /Payments/{id}` with Status
    DELETED: the payment stays readable with Status DELETED, its invoice no longer lists it,
    is owed the amount again (PAID goes back to AUTHORISED), and its INVOICE UPDATE event is
    queued. Answers `{"Payments": [...]}` or 400 naming the field.
    """
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    tenant = _tenant(tenant_id)
    if tenant is None:
        return not_found()
    fields = _fields(request)
    if fields is None:
        return _control_error("body", "The body must be a JSON object or a form.")
    wanted = str(fields.get("payment") or "").strip()
    if not wanted:
        return _control_error("payment", "payment (a PaymentID) is required.")
    try:
        payment = XeroPayment.objects.filter(tenant=tenant, payment_id=uuid.UUID(wanted)).first()
    except ValueError:
        payment = None
    if payment is None:
        return _control_error("payment", f"No payment {wanted} in this organisation.")
    try:
        with transaction.atomic():
            locked = XeroPayment.objects.select_for_update().get(pk=payment.pk)
            deleted = documents.payment_delete(
                tenant=tenant, payment=locked, data={"Status": "DELETED"}
            )
    except services.ElementInvalid as error:
        return _control_error("payment", "; ".join(error.messages))
    return json_answer({"Payments": [serializers.payment_to_xero(deleted)]})


@require_http_methods(["POST"])
def quote_converted_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Convert a quote to an invoice "in Xero" (a bookkeeper's Create invoice on it).

    Fields: `quote` (QuoteID or QuoteNumber), optional `status` of the new invoice (DRAFT by
    default, AUTHORISED to approve it at once). The quote becomes INVOICED; the invoice's
    INVOICE CREATE event is queued. Answers `{"Invoices": [...], "Quotes": [...]}` or 400
    naming the field.
    """
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    tenant = _tenant(tenant_id)
    if tenant is None:
        return not_found()
    fields = _fields(request)
    if fields is None:
        return _control_error("body", "The body must be a JSON object or a form.")
    wanted = str(fields.get("quote") or "").strip()
    quote = _find(XeroQuote, tenant, "quote_id", "quote_number", wanted) if wanted else None
    if quote is None:
        return _control_error("quote", f"No quote {wanted or '(none given)'} in this organisation.")
    status = str(fields.get("status") or "DRAFT").strip().upper()
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        return _control_error("status", "status must be DRAFT, SUBMITTED or AUTHORISED.")
    try:
        with transaction.atomic():
            locked = XeroQuote.objects.select_for_update().get(pk=quote.pk)
            invoice = documents.quote_convert(tenant=tenant, quote=locked, status=status)
    except services.ElementInvalid as error:
        return _control_error("quote", "; ".join(error.messages))
    locked.refresh_from_db()
    return json_answer(
        {
            "Invoices": [serializers.invoice_to_xero(invoice)],
            "Quotes": [serializers.quote_to_xero(locked)],
        }
    )


STATUS_KINDS = {
    "invoice": (XeroInvoice, "invoice_id", "invoice_number", "Invoices"),
    "quote": (XeroQuote, "quote_id", "quote_number", "Quotes"),
}


@require_http_methods(["POST"])
def status_change_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Change an invoice's or a quote's status "in Xero" (a bookkeeper approving, voiding,
    marking a quote accepted...). Fields: `kind` (invoice or quote), `id` (its ID or number),
    `status`. Xero's allowed moves apply; an invoice change queues its INVOICE UPDATE event
    (Xero sends none for quotes)."""
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    tenant = _tenant(tenant_id)
    if tenant is None:
        return not_found()
    fields = _fields(request)
    if fields is None:
        return _control_error("body", "The body must be a JSON object or a form.")
    kind = str(fields.get("kind") or "")
    if kind not in STATUS_KINDS:
        return _control_error("kind", "kind must be invoice or quote.")
    model, id_attribute, number_attribute, collection = STATUS_KINDS[kind]
    wanted = str(fields.get("id") or "").strip()
    row = _find(model, tenant, id_attribute, number_attribute, wanted) if wanted else None
    if row is None:
        return _control_error("id", f"No {kind} {wanted or '(none given)'} in this organisation.")
    status = str(fields.get("status") or "").strip().upper()
    if not status:
        return _control_error("status", "status is required.")
    save = documents.invoice_save if kind == "invoice" else documents.quote_save
    try:
        with transaction.atomic():
            locked = model.objects.select_for_update().get(pk=row.pk)
            saved = save(tenant=tenant, data={"Status": status}, existing=locked)
    except services.ElementInvalid as error:
        return _control_error("status", "; ".join(error.messages))
    to_xero = serializers.invoice_to_xero if kind == "invoice" else serializers.quote_to_xero
    return json_answer({collection: [to_xero(saved)]})


@require_http_methods(["GET"])
def calls_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """How many Accounting calls the tenant received since it was made (or its counters were
    reset), how many were refused with 429, and this minute's and day's use: what a benchmark
    compares with the vendor's limits. Also `ratelimit.call_counts` in Python."""
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    tenant = _tenant(tenant_id)
    if tenant is None:
        return not_found()
    return json_answer(call_counts(tenant))


def call_counts(tenant: XeroTenant) -> dict:
    key = str(tenant.tenant_id)
    counts = ratelimit.call_counts(vendor=VENDOR, account=key)
    minute = ratelimit.rate_peek(
        vendor=VENDOR, account=key, bucket="minute", limit=tenant.minute_limit, window_seconds=60
    )
    day = ratelimit.rate_peek(
        vendor=VENDOR, account=key, bucket="day", limit=tenant.day_limit, window_seconds=86_400
    )
    return {
        "tenant_id": key,
        "calls": counts.calls,
        "throttled": counts.throttled,
        "minute": {"used": minute.used, "limit": minute.limit},
        "day": {"used": day.used, "limit": day.limit},
    }
