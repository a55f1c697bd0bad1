"""HTTP face of the Xero emulator's Accounting API (identity: identity_views.py; controls:
control_views.py).

Every Accounting call goes through `_serve`, which does what Xero does before and after a handler:
JSON only, bearer token, `xero-tenant-id`, scopes, the tenant's and app's rate limits with their
headers, faults on demand, `Idempotency-Key` replay, and time-out-after-commit.
"""

import hashlib
import uuid

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.sandbox import clock, faults, ratelimit
from apps.sandbox.xero import documents, selectors, serializers, services, wire
from apps.sandbox.xero.models import (
    XeroApp,
    XeroIdempotentAnswer,
    XeroInvoice,
    XeroPayment,
    XeroTenant,
)
from apps.sandbox.xero.responses import (
    authenticate,
    envelope,
    json_answer,
    not_found,
    problem,
    throttled,
    validation_error,
)

VENDOR = "xero"
IDEMPOTENCY_SECONDS = 360
DAY_SECONDS = 86_400

# Scopes that open each collection for reading and for writing (broad and granular names).
READ_SCOPES = {
    "Contacts": {"accounting.contacts", "accounting.contacts.read"},
    "Items": {
        "accounting.settings",
        "accounting.settings.read",
        "accounting.invoices",
        "accounting.invoices.read",
    },
    "Quotes": {
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
    },
    "Invoices": {
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
    },
    "Payments": {
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.payments",
        "accounting.payments.read",
    },
    "Organisation": {"accounting.settings", "accounting.settings.read"},
    "Accounts": {"accounting.settings", "accounting.settings.read"},
    "TaxRates": {"accounting.settings", "accounting.settings.read"},
}
WRITE_SCOPES = {
    "Contacts": {"accounting.contacts"},
    "Items": {"accounting.settings", "accounting.invoices"},
    "Quotes": {"accounting.transactions", "accounting.invoices"},
    "Invoices": {"accounting.transactions", "accounting.invoices"},
    "Payments": {"accounting.transactions", "accounting.payments"},
}
SAVERS = {
    "Contacts": services.contact_save,
    "Items": services.item_save,
    "Quotes": documents.quote_save,
    "Invoices": documents.invoice_save,
}
TO_XERO = {
    "Contacts": serializers.contact_to_xero,
    "Items": serializers.item_to_xero,
    "Quotes": serializers.quote_to_xero,
    "Invoices": serializers.invoice_to_xero,
    "Payments": serializers.payment_to_xero,
    "Accounts": serializers.account_to_xero,
    "TaxRates": serializers.tax_rate_to_xero,
}
# Collections whose POST also takes one bare element (OAS: createPayment, deletePayment).
SINGLE_OBJECT = {"Payments"}
# Read-only here (Xero can create accounts and tax rates; nothing in this project does).
READ_ONLY = {"Accounts", "TaxRates"}
# Which collections answer with the pagination object (those whose OAS schema declares it).
WITH_PAGINATION = {"Contacts", "Invoices", "Payments"}
ERROR_FLAG = {
    "Contacts": "HasValidationErrors",
    "Invoices": "HasErrors",
    "Payments": "HasValidationErrors",
}


# --- the pipeline every Accounting call goes through -------------------------------------------


class _Context:
    def __init__(self, request, grant, tenant, collection_name):
        self.request = request
        self.grant = grant
        self.app = grant.app
        self.tenant = tenant
        self.collection_name = collection_name
        self.moment = services.tenant_now(tenant)


def _accepts_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or ("*/*" in accept and "xml" not in accept)


def _limits(app: XeroApp, tenant: XeroTenant) -> tuple[dict, HttpResponse | None]:
    tenant_key = str(tenant.tenant_id)
    day = ratelimit.rate_hit(
        vendor=VENDOR,
        account=tenant_key,
        bucket="day",
        limit=tenant.day_limit,
        window_seconds=DAY_SECONDS,
    )
    minute = ratelimit.rate_hit(
        vendor=VENDOR,
        account=tenant_key,
        bucket="minute",
        limit=tenant.minute_limit,
        window_seconds=60,
    )
    app_minute = ratelimit.rate_hit(
        vendor=VENDOR,
        account=app.client_id,
        bucket="app-minute",
        limit=app.app_minute_limit,
        window_seconds=60,
    )
    headers = {
        "X-DayLimit-Remaining": str(day.remaining),
        "X-MinLimit-Remaining": str(minute.remaining),
        "X-AppMinLimit-Remaining": str(app_minute.remaining),
    }
    for result, name in ((day, "day"), (minute, "minute"), (app_minute, "appminute")):
        if not result.allowed:
            return headers, throttled(headers, name, result.reset_seconds)
    return headers, None


@clock.request_scoped
def _serve(request: HttpRequest, collection_name: str, handler) -> HttpResponse:
    if not _accepts_json(request):
        return HttpResponse(
            "This sandbox answers JSON only: send Accept: application/json "
            "(Xero answers XML without it).",
            status=406,
            content_type="text/plain; charset=utf-8",
        )
    grant, refused = authenticate(request)
    if refused:
        return refused
    tenant_header = request.headers.get("xero-tenant-id", "").strip()
    try:
        tenant_id = uuid.UUID(tenant_header)
    except ValueError:
        return problem(403, "AuthenticationUnsuccessful")
    tenant = XeroTenant.objects.filter(tenant_id=tenant_id, connections__grant=grant).first()
    if tenant is None:
        return problem(403, "AuthenticationUnsuccessful")
    write = request.method != "GET"
    needed = (WRITE_SCOPES if write else READ_SCOPES).get(collection_name, set())
    if needed and not needed & grant.scopes:
        return problem(401, "AuthorizationUnsuccessful")
    # Counted before serving: nothing is written after a write's answer is due (a stalled
    # time-out-after-commit answer must not write once the client has given up on it).
    ratelimit.count_call(vendor=VENDOR, account=str(tenant.tenant_id))
    response = _serve_tenant(request, grant, tenant, collection_name, handler)
    if response.status_code == 429:  # always answered before any handler runs
        ratelimit.count_throttled(vendor=VENDOR, account=str(tenant.tenant_id))
    return response


def _serve_tenant(request, grant, tenant: XeroTenant, collection_name: str, handler):
    """Limits, faults, the handler (writes once per Idempotency-Key) and the limit headers."""
    write = request.method != "GET"
    tenant_key = str(tenant.tenant_id)
    with ratelimit.concurrency_slot(
        vendor=VENDOR, account=tenant_key, bucket="concurrent", limit=tenant.concurrent_limit
    ) as slot:
        if not slot:
            headers, _ = _limits(grant.app, tenant)
            return throttled(headers, "concurrent", None)
        headers, refusal = _limits(grant.app, tenant)
        if refusal:
            return refusal
        fault = faults.call_fault(VENDOR, tenant_key, write=write)
        if fault is not None:
            if fault.status == 429:
                return throttled(headers, "minute", fault.retry_after)
            response = HttpResponse(
                "Service Unavailable" if fault.status == 503 else "Internal Server Error",
                status=fault.status,
                content_type="text/plain; charset=utf-8",
            )
            for name, value in headers.items():
                response[name] = value
            return response
        context = _Context(request, grant, tenant, collection_name)
        if write:
            status, payload = _write_once(context, handler)
        else:
            status, payload = handler(context)
        if write:
            faults.stall_after_commit(VENDOR, tenant_key)
        if status == 204:
            response = HttpResponse(status=204)
        elif status == 404 and payload is None:
            response = not_found()
        else:
            response = json_answer(payload, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _write_once(context: _Context, handler) -> tuple[int, object]:
    """Run a write in one transaction; with an Idempotency-Key, answer a repeat from the store."""
    key = context.request.headers.get("Idempotency-Key", "")
    if not key:
        with transaction.atomic():
            return handler(context)
    if len(key) > 128:
        return 400, validation_error("The Idempotency-Key must be 128 characters or fewer.")
    fingerprint = _fingerprint(context.request)
    for _ in range(2):
        try:
            with transaction.atomic():
                stored = (
                    XeroIdempotentAnswer.objects.select_for_update()
                    .filter(tenant=context.tenant, key=key)
                    .first()
                )
                if stored is not None and stored.expires_at <= context.moment:
                    stored.delete()
                    stored = None
                if stored is not None:
                    if stored.request_fingerprint != fingerprint:
                        return 400, validation_error(
                            f"The Idempotency-Key {key} is used with a different request."
                        )
                    return stored.status_code, wire.loads(stored.body) if stored.body else None
                row = XeroIdempotentAnswer.objects.create(
                    tenant=context.tenant,
                    key=key,
                    request_fingerprint=fingerprint,
                    created_at=context.moment,
                    expires_at=clock.expires_at(
                        VENDOR, str(context.tenant.tenant_id), IDEMPOTENCY_SECONDS
                    ),
                )
                status, payload = handler(context)
                row.status_code = status
                row.body = wire.dumps(payload) if payload is not None else ""
                row.save(update_fields=["status_code", "body"])
                return status, payload
        except IntegrityError:
            # Another request with this key committed first; the second pass replays its answer.
            continue
    return 409, validation_error(f"The Idempotency-Key {key} is in use by another request.")


# --- handlers ----------------------------------------------------------------------------------


def _list(context: _Context) -> tuple[int, object]:
    collection = selectors.COLLECTIONS[context.collection_name]
    since_header = context.request.headers.get("If-Modified-Since")
    try:
        since = selectors.if_modified_since(since_header) if since_header else None
        page = selectors.record_list(
            tenant=context.tenant,
            collection=collection,
            params=context.request.GET.dict(),
            modified_since=since,
        )
    except selectors.QueryInvalid as error:
        return 400, validation_error(str(error))
    to_xero = TO_XERO[collection.name]
    pagination = page.pagination() if collection.name in WITH_PAGINATION else None
    rows = [to_xero(row) for row in page.rows]
    params = context.request.GET
    if collection.name == "Invoices" and (
        "page" not in params or params.get("summaryOnly", "").lower() == "true"
    ):
        # Xero lists invoices without their lines unless the request pages (or asks for one
        # invoice): "LineItems": [] as in the OAS example. Totals stay.
        for row in rows:
            row["LineItems"] = []
    return 200, envelope(context.app, context.moment, collection.name, rows, pagination)


def _one(context: _Context, identifier: str) -> tuple[int, object]:
    collection = selectors.COLLECTIONS[context.collection_name]
    row = selectors.record_get(tenant=context.tenant, collection=collection, identifier=identifier)
    if row is None:
        return 404, None
    body = TO_XERO[collection.name](row)
    return 200, envelope(context.app, context.moment, collection.name, [body])


def _elements(context: _Context) -> list | None:
    try:
        body = wire.loads(context.request.body or b"{}")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if context.collection_name in SINGLE_OBJECT and context.collection_name not in body:
        # `POST /Payments` (createPayment) and `POST /Payments/{id}` (deletePayment) take one
        # object, not the `{"Payments": [...]}` wrapper.
        return [body] if body else None
    elements = body.get(context.collection_name)
    if isinstance(elements, list) and all(isinstance(e, dict) for e in elements):
        return elements
    return None


def _existing(context: _Context, element: dict, *, create_only: bool, identifier: str | None):
    """The row an element updates, None to create it; ElementInvalid when that is not allowed."""
    collection = selectors.COLLECTIONS[context.collection_name]
    model = collection.model
    tenant = context.tenant
    wanted = identifier or element.get(collection.id_field)
    row = None
    if wanted:
        row = selectors.record_get(tenant=tenant, collection=collection, identifier=str(wanted))
        if row is None:
            raise services.ElementInvalid(
                # The pattern of Xero's "An existing Credit Note with the specified CreditNoteID
                # could not be found" (OAS example); other entities' wording UNCONFIRMED.
                f"An existing {collection.id_field[:-2]} with the specified "
                f"{collection.id_field} could not be found"
            )
    elif context.collection_name == "Items" and element.get("Code") and not create_only:
        row = model.objects.filter(tenant=tenant, code=element["Code"]).first()
    elif context.collection_name == "Invoices" and element.get("InvoiceNumber") and not create_only:
        row = XeroInvoice.objects.filter(
            tenant=tenant, invoice_number=element["InvoiceNumber"]
        ).first()
    if row is not None and create_only:
        raise services.ElementInvalid(
            f"This {collection.id_field[:-2].lower()} already exists; use POST to update it."
        )
    if row is not None:
        row = model.objects.select_for_update().get(pk=row.pk)
    return row


DATE_FIELDS = ("Date", "DueDate", "ExpiryDate", "FullyPaidOnDate")
NUMBER_FIELDS = ("Amount", "CurrencyRate")
LINE_NUMBER_FIELDS = ("Quantity", "UnitAmount", "DiscountRate", "TaxAmount", "LineAmount")


def _number_or_none(value: object):
    try:
        return wire.parse_decimal(value, field="")
    except wire.WireValueError:
        return None


def _line_echo(line: dict) -> dict:
    return {
        key: _number_or_none(value) if key in LINE_NUMBER_FIELDS else value
        for key, value in line.items()
    }


def _echo(name: str, element: dict, messages: list[str]) -> dict:
    """A refused element as Xero hands it back: as submitted, dates in Xero's form, its errors.

    A date or number Xero could not read is left out rather than echoed in a form a client's
    deserializer would choke on (the official SDKs parse every `Date` as `/Date(ms)/`).
    """
    echo = dict(element)
    for field in DATE_FIELDS:
        if field in echo:
            try:
                echo[field] = wire.ms_date(wire.parse_date(echo[field], field=field))
            except wire.WireValueError:
                del echo[field]
    for field in NUMBER_FIELDS:
        if field in echo:
            echo[field] = _number_or_none(echo[field])
    if isinstance(echo.get("LineItems"), list):
        echo["LineItems"] = [
            {key: value for key, value in _line_echo(line).items() if value is not None}
            for line in echo["LineItems"]
            if isinstance(line, dict)
        ]
    echo = {key: value for key, value in echo.items() if value is not None}
    echo["ValidationErrors"] = [{"Message": message} for message in messages]
    if name in ERROR_FLAG:
        echo[ERROR_FLAG[name]] = True
    echo["StatusAttributeString"] = "ERROR"
    return echo


def _save_batch(context: _Context, *, create_only: bool, identifier: str | None = None):
    """Save each element in its own savepoint; answer per element or, summarised, with a 400.

    `summarizeErrors=false`: HTTP 200 with every element, each with `StatusAttributeString`
    (OK / ERROR) and its `ValidationErrors`. Without it (or `true`), Xero's default: one refused
    element makes the answer a 400 ValidationException listing the refused elements, and the
    valid ones ARE saved, their IDs not returned (ecosystem-notes §10(e); the OAS declares
    `default: false`, which is not what Xero does). The whole request is one call against the
    rate limits, however many elements it carries.
    """
    name = context.collection_name
    elements = _elements(context)
    if elements is None:
        return 400, validation_error(f'The request body must be {{"{name}": [ ... ]}}.')
    summarize = context.request.GET.get("summarizeErrors", "true").lower() != "false"
    whole = len(elements) > 1 and faults.refuses_whole_batches(
        VENDOR, str(context.tenant.tenant_id)
    )
    with transaction.atomic():  # a savepoint: a lot refused as a whole saves none of it
        answers, failures = _save_elements(context, elements, create_only, identifier, summarize)
        if failures and whole:
            transaction.set_rollback(True)
    if failures and (summarize or whole):
        return 400, validation_error("A validation exception occurred", failures)
    return 200, envelope(context.app, context.moment, name, answers)


def _save_elements(context: _Context, elements, create_only: bool, identifier, summarize: bool):
    """Each element in its own savepoint: (every answer, the refused ones)."""
    to_xero = TO_XERO[context.collection_name]
    answers, failures = [], []
    for element in elements:
        try:
            with transaction.atomic():
                row = _save_element(
                    context, element, create_only=create_only, identifier=identifier
                )
        except services.ElementInvalid as error:
            echo = _echo(context.collection_name, element, error.messages)
            answers.append(echo)
            failures.append(echo)
            continue
        body = to_xero(row)
        if not summarize:
            body["StatusAttributeString"] = "OK"
        answers.append(body)
    return answers, failures


def _save_element(context: _Context, element: dict, *, create_only: bool, identifier):
    name = context.collection_name
    if name == "Payments":
        if identifier:
            payment = (
                XeroPayment.objects.filter(tenant=context.tenant)
                .select_related("invoice__contact", "account")
                .filter(payment_id=identifier)
                .first()
            )
            if payment is None:
                raise services.ElementInvalid(
                    "An existing Payment with the specified PaymentID could not be found"
                )
            return documents.payment_delete(tenant=context.tenant, payment=payment, data=element)
        return documents.payment_create(tenant=context.tenant, data=element)
    existing = _existing(context, element, create_only=create_only, identifier=identifier)
    if name in ("Quotes", "Invoices"):
        # Unit prices keep 2 places unless the request opts in to 4 (`unitdp=4`).
        places = 4 if context.request.GET.get("unitdp") == "4" else 2
        return SAVERS[name](
            tenant=context.tenant, data=element, existing=existing, unit_places=places
        )
    return SAVERS[name](tenant=context.tenant, data=element, existing=existing)


@csrf_exempt
@require_http_methods(["GET", "PUT", "POST"])
def collection_view(request: HttpRequest, collection: str) -> HttpResponse:
    if collection not in selectors.COLLECTIONS:
        return not_found()
    if request.method == "GET":
        return _serve(request, collection, _list)
    if collection in READ_ONLY:
        return HttpResponse(status=405)
    if (request.method == "POST" and collection == "Payments") or request.method == "PUT":
        return _serve(request, collection, lambda c: _save_batch(c, create_only=True))
    return _serve(request, collection, lambda c: _save_batch(c, create_only=False))


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def record_view(request: HttpRequest, collection: str, identifier: str) -> HttpResponse:
    if collection not in selectors.COLLECTIONS:
        return not_found()
    if request.method == "GET":
        return _serve(request, collection, lambda c: _one(c, identifier))
    if collection in READ_ONLY:
        return HttpResponse(status=405)
    if request.method == "DELETE":
        if collection != "Items":
            return HttpResponse(status=405)
        return _serve(request, collection, lambda c: _delete_item(c, identifier))

    def update(context):
        collection_spec = selectors.COLLECTIONS[collection]
        row = selectors.record_get(
            tenant=context.tenant, collection=collection_spec, identifier=identifier
        )
        if row is None:
            return 404, None
        return _save_batch(
            context, create_only=False, identifier=str(getattr(row, collection_spec.id_attribute))
        )

    return _serve(request, collection, update)


def _delete_item(context: _Context, identifier: str):
    item = selectors.record_get(
        tenant=context.tenant, collection=selectors.COLLECTIONS["Items"], identifier=identifier
    )
    if item is None:
        return 404, None
    try:
        services.item_delete(item=item)
    except services.ElementInvalid as error:
        return 400, validation_error(error.messages[0])
    return 204, None


@csrf_exempt
@require_http_methods(["GET"])
def organisation_view(request: HttpRequest) -> HttpResponse:
    def handler(context):
        body = serializers.organisation_to_xero(context.tenant)
        return 200, envelope(context.app, context.moment, "Organisations", [body])

    return _serve(request, "Organisation", handler)
