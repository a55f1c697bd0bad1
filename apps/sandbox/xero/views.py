"""HTTP face of the Xero emulator: identity (authorize, token, revocation), connections, Accounting.

Every Accounting call goes through `_serve`, which does what Xero does before and after a handler:
JSON only, bearer token, `xero-tenant-id`, scopes, the tenant's and app's rate limits with their
headers, faults on demand, `Idempotency-Key` replay, and time-out-after-commit.
"""

import base64
import hashlib
import secrets
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.core.errors import ApplicationError
from apps.sandbox import access, clock, faults, ratelimit
from apps.sandbox.xero import identity, selectors, serializers, services, webhooks, wire
from apps.sandbox.xero.models import (
    XeroApp,
    XeroIdempotentAnswer,
    XeroInvoice,
    XeroPayment,
    XeroTenant,
)

VENDOR = "xero"
JSON_TYPE = "application/json; charset=utf-8"
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
    "Quotes": services.quote_save,
    "Invoices": services.invoice_save,
}
TO_XERO = {
    "Contacts": serializers.contact_to_xero,
    "Items": serializers.item_to_xero,
    "Quotes": serializers.quote_to_xero,
    "Invoices": serializers.invoice_to_xero,
    "Payments": serializers.payment_to_xero,
}
# Which collections answer with the pagination object (those whose OAS schema declares it).
WITH_PAGINATION = {"Contacts", "Invoices", "Payments"}
ERROR_FLAG = {
    "Contacts": "HasValidationErrors",
    "Invoices": "HasErrors",
    "Payments": "HasValidationErrors",
}


# --- answers -----------------------------------------------------------------------------------


def _json(payload: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(wire.dumps(payload), status=status, content_type=JSON_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Xero-Correlation-Id"] = str(uuid.uuid4())
    return response


def _problem(status: int, detail: str) -> HttpResponse:
    """Xero's 401/403 problem body (PascalCase, vendor-contracts §4.7)."""
    title = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Error")
    return _json(
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
        status=status,
    )


def _validation_error(message: str, elements: list[dict] | None = None) -> dict:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message,
        "Elements": elements or [],
    }


def _not_found() -> HttpResponse:
    # Xero's 404 body is unconfirmed (vendor-contracts §4.7); the SDKs quote this sentence.
    return HttpResponse(
        "The resource you're looking for cannot be found",
        status=404,
        content_type="text/plain; charset=utf-8",
    )


def _envelope(app: XeroApp, moment, key: str, rows: list[dict], pagination=None) -> dict:
    body = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": app.name,
        "DateTimeUTC": wire.ms_datetime(moment, offset=False),
    }
    if pagination is not None:
        body["pagination"] = pagination
    body[key] = rows
    return body


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
    for result, problem in ((day, "day"), (minute, "minute"), (app_minute, "appminute")):
        if not result.allowed:
            return headers, _throttled(headers, problem, result.reset_seconds)
    return headers, None


def _throttled(headers: dict, problem: str, retry_after: int | None) -> HttpResponse:
    # 429 body unconfirmed: empty, as vendor-contracts §4.8 advises.
    response = HttpResponse(b"", status=429)
    for name, value in headers.items():
        response[name] = value
    response["X-Rate-Limit-Problem"] = problem
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _authenticate(request: HttpRequest):
    check = identity.bearer_authenticate(request.headers.get("Authorization", ""))
    if check.grant is None:
        return None, _problem(401, check.problem)
    return check.grant, None


@clock.request_scoped
def _serve(request: HttpRequest, collection_name: str, handler) -> HttpResponse:
    if not _accepts_json(request):
        return HttpResponse(
            "This sandbox answers JSON only: send Accept: application/json "
            "(Xero answers XML without it).",
            status=406,
            content_type="text/plain; charset=utf-8",
        )
    grant, refused = _authenticate(request)
    if refused:
        return refused
    tenant_header = request.headers.get("xero-tenant-id", "").strip()
    try:
        tenant_id = uuid.UUID(tenant_header)
    except ValueError:
        return _problem(403, "AuthenticationUnsuccessful")
    tenant = XeroTenant.objects.filter(tenant_id=tenant_id, connections__grant=grant).first()
    if tenant is None:
        return _problem(403, "AuthenticationUnsuccessful")
    write = request.method != "GET"
    needed = (WRITE_SCOPES if write else READ_SCOPES).get(collection_name, set())
    if needed and not needed & grant.scopes:
        return _problem(401, "AuthorizationUnsuccessful")
    tenant_key = str(tenant.tenant_id)
    with ratelimit.concurrency_slot(
        vendor=VENDOR, account=tenant_key, bucket="concurrent", limit=tenant.concurrent_limit
    ) as slot:
        if not slot:
            headers, _ = _limits(grant.app, tenant)
            return _throttled(headers, "concurrent", None)
        headers, throttled = _limits(grant.app, tenant)
        if throttled:
            return throttled
        fault = faults.call_fault(VENDOR, tenant_key, write=write)
        if fault is not None:
            if fault.status == 429:
                return _throttled(headers, "minute", fault.retry_after)
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
            response = _not_found()
        else:
            response = _json(payload, status=status)
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
        return 400, _validation_error("The Idempotency-Key must be 128 characters or fewer.")
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
                        return 400, _validation_error(
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
    return 409, _validation_error(f"The Idempotency-Key {key} is in use by another request.")


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
        return 400, _validation_error(str(error))
    to_xero = TO_XERO[collection.name]
    pagination = page.pagination() if collection.name in WITH_PAGINATION else None
    rows = [to_xero(row) for row in page.rows]
    return 200, _envelope(context.app, context.moment, collection.name, rows, pagination)


def _one(context: _Context, identifier: str) -> tuple[int, object]:
    collection = selectors.COLLECTIONS[context.collection_name]
    row = selectors.record_get(tenant=context.tenant, collection=collection, identifier=identifier)
    if row is None:
        return 404, None
    body = TO_XERO[collection.name](row)
    return 200, _envelope(context.app, context.moment, collection.name, [body])


def _elements(context: _Context) -> list | None:
    try:
        body = wire.loads(context.request.body or b"{}")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
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
                f"{collection.id_field} {wanted} could not be found in this organisation."
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


class _BatchRefused(Exception):
    """Raised to roll back a batch that is answered with 400 as a whole."""


def _save_batch(context: _Context, *, create_only: bool, identifier: str | None = None):
    name = context.collection_name
    elements = _elements(context)
    if elements is None:
        return 400, _validation_error(f'The request body must be {{"{name}": [ ... ]}}.')
    # The OAS declares `summarizeErrors` with default false: without it, a batch with a bad
    # element answers 200 with every element (and its ValidationErrors); true answers 400.
    summarize = context.request.GET.get("summarizeErrors", "false").lower() == "true"
    to_xero = TO_XERO[name]
    answers, failures = [], []
    try:
        with transaction.atomic():
            for element in elements:
                try:
                    with transaction.atomic():
                        row = _save_element(
                            context, element, create_only=create_only, identifier=identifier
                        )
                except services.ElementInvalid as error:
                    echo = {**element, "ValidationErrors": [{"Message": m} for m in error.messages]}
                    if name in ERROR_FLAG:
                        echo[ERROR_FLAG[name]] = True
                    echo["StatusAttributeString"] = "ERROR"
                    answers.append(echo)
                    failures.append(echo)
                    continue
                body = to_xero(row)
                if not summarize:
                    body["StatusAttributeString"] = "OK"
                answers.append(body)
            if failures and summarize:
                raise _BatchRefused
    except _BatchRefused:
        # Nothing of a refused batch is kept: the elements that did save are rolled back.
        return 400, _validation_error("A validation exception occurred", failures)
    return 200, _envelope(context.app, context.moment, name, answers)


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
                raise services.ElementInvalid(f"PaymentID {identifier} could not be found.")
            return services.payment_delete(tenant=context.tenant, payment=payment, data=element)
        return services.payment_create(tenant=context.tenant, data=element)
    existing = _existing(context, element, create_only=create_only, identifier=identifier)
    return SAVERS[name](tenant=context.tenant, data=element, existing=existing)


@csrf_exempt
@require_http_methods(["GET", "PUT", "POST"])
def collection_view(request: HttpRequest, collection: str) -> HttpResponse:
    if collection not in selectors.COLLECTIONS:
        return _not_found()
    if request.method == "GET":
        return _serve(request, collection, _list)
    if (request.method == "POST" and collection == "Payments") or request.method == "PUT":
        return _serve(request, collection, lambda c: _save_batch(c, create_only=True))
    return _serve(request, collection, lambda c: _save_batch(c, create_only=False))


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def record_view(request: HttpRequest, collection: str, identifier: str) -> HttpResponse:
    if collection not in selectors.COLLECTIONS:
        return _not_found()
    if request.method == "GET":
        return _serve(request, collection, lambda c: _one(c, identifier))
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
        return 400, _validation_error(error.messages[0])
    return 204, None


@csrf_exempt
@require_http_methods(["GET"])
def organisation_view(request: HttpRequest) -> HttpResponse:
    def handler(context):
        body = serializers.organisation_to_xero(context.tenant)
        return 200, _envelope(context.app, context.moment, "Organisations", [body])

    return _serve(request, "Organisation", handler)


# --- connections -------------------------------------------------------------------------------


def _app_minute(app: XeroApp) -> tuple[dict, HttpResponse | None]:
    result = ratelimit.rate_hit(
        vendor=VENDOR,
        account=app.client_id,
        bucket="app-minute",
        limit=app.app_minute_limit,
        window_seconds=60,
    )
    headers = {"X-AppMinLimit-Remaining": str(result.remaining)}
    if not result.allowed:
        return headers, _throttled(headers, "appminute", result.reset_seconds)
    return headers, None


@csrf_exempt
@require_http_methods(["GET"])
def connections_view(request: HttpRequest) -> HttpResponse:
    grant, refused = _authenticate(request)
    if refused:
        return refused
    headers, throttled = _app_minute(grant.app)
    if throttled:
        return throttled
    connections = grant.connections.select_related("tenant").order_by("created_at", "id")
    if request.GET.get("authEventId"):
        try:
            connections = connections.filter(auth_event_id=uuid.UUID(request.GET["authEventId"]))
        except ValueError:
            connections = connections.none()
    return _json([serializers.connection_to_xero(c) for c in connections], headers=headers)


@csrf_exempt
@require_http_methods(["DELETE"])
def connection_delete_view(request: HttpRequest, connection_id: str) -> HttpResponse:
    grant, refused = _authenticate(request)
    if refused:
        return refused
    headers, throttled = _app_minute(grant.app)
    if throttled:
        return throttled
    if not identity.connection_delete(grant=grant, connection_id=connection_id):
        return _not_found()
    response = HttpResponse(status=204)
    response["X-AppMinLimit-Remaining"] = headers["X-AppMinLimit-Remaining"]
    return response


# --- identity: authorize (consent page), token, revocation ------------------------------------


def _redirect_with(redirect_uri: str, params: dict) -> HttpResponseRedirect:
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """Xero's login and consent page: pick organisations, allow or deny.

    It stands for Xero's login: only a signed-in staff user of this site may consent (see
    apps.sandbox.access).
    """
    refusal = access.staff_refusal(request)
    if refusal is not None:
        return refusal
    params = request.GET if request.method == "GET" else request.POST
    app = XeroApp.objects.filter(client_id=params.get("client_id", "")).first()
    redirect_uri = params.get("redirect_uri", "")
    if app is None:
        return render(
            request, "sandbox/xero/error.html", {"message": "Unknown client_id."}, status=400
        )
    if redirect_uri not in app.redirect_uris:
        return render(
            request,
            "sandbox/xero/error.html",
            {"message": "redirect_uri is not registered for this app."},
            status=400,
        )
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return _redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": state})
    scope = " ".join(params.get("scope", "").split())
    if not scope:
        return _redirect_with(redirect_uri, {"error": "invalid_scope", "state": state})
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if challenge and method != "S256":
        return _redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "code_challenge_method must be S256",
                "state": state,
            },
        )
    if not challenge and not app.client_secret:
        return _redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "code_challenge is required",
                "state": state,
            },
        )
    tenants = list(XeroTenant.objects.order_by("name"))
    if request.method == "GET":
        return render(
            request,
            "sandbox/xero/consent.html",
            {"app": app, "tenants": tenants, "scopes": scope.split(), "params": params.dict()},
        )
    if params.get("decision") != "allow":
        return _redirect_with(redirect_uri, {"error": "access_denied", "state": state})
    chosen = [t for t in tenants if str(t.tenant_id) in params.getlist("tenant")]
    try:
        grant = identity.grant_create(app=app, tenants=chosen, scope=scope)
    except ApplicationError as error:
        return render(
            request,
            "sandbox/xero/consent.html",
            {
                "app": app,
                "tenants": tenants,
                "scopes": scope.split(),
                "params": params.dict(),
                "error": error.message,
            },
            status=400,
        )
    code = identity.authorization_code_issue(
        grant=grant,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        code_challenge_method=method,
    )
    return _redirect_with(
        redirect_uri,
        {"code": code, "scope": scope, "state": state, "session_state": secrets.token_hex(16)},
    )


def _client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """The client's id and secret: HTTP Basic only (§4.1), as Xero's identity server wants.

    A public PKCE app (registered without a secret) names itself with `client_id` in the body
    and sends no secret. A secret in the body, or a confidential app's id there, is refused with
    401 `invalid_client` rather than quietly accepted: a client that misreads the contract must
    find out here, not at Xero.
    """
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as error:
            raise identity.OAuthError("invalid_client", status=401) from error
        return client_id, secret
    client_id = request.POST.get("client_id", "")
    public = XeroApp.objects.filter(client_id=client_id, client_secret="").exists()
    if "client_secret" in request.POST or not public:
        raise identity.OAuthError(
            "invalid_client",
            "client credentials must be sent with HTTP Basic authentication",
            status=401,
        )
    return client_id, None


def _oauth_json(body: dict, status: int = 200) -> HttpResponse:
    response = _json(body, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="identity.xero.com"'  # RFC 6749 §5.2
    return response


@csrf_exempt
@require_http_methods(["POST"])
def token_view(request: HttpRequest) -> HttpResponse:
    try:
        client_id, secret = _client_credentials(request)
        app = identity.app_authenticate(client_id=client_id, client_secret=secret)
        grant_type = request.POST.get("grant_type", "")
        if grant_type == "authorization_code":
            tokens = identity.token_exchange_code(
                app=app,
                code=request.POST.get("code", ""),
                redirect_uri=request.POST.get("redirect_uri", ""),
                code_verifier=request.POST.get("code_verifier", ""),
            )
        elif grant_type == "refresh_token":
            tokens = identity.token_refresh(
                app=app, refresh_token=request.POST.get("refresh_token", "")
            )
        else:
            raise identity.OAuthError("unsupported_grant_type")
    except identity.OAuthError as error:
        return _oauth_json(error.body(), status=error.status)
    return _oauth_json(tokens.body())


@csrf_exempt
@require_http_methods(["POST"])
def revocation_view(request: HttpRequest) -> HttpResponse:
    try:
        client_id, secret = _client_credentials(request)
        app = identity.app_authenticate(client_id=client_id, client_secret=secret)
    except identity.OAuthError as error:
        return _oauth_json(error.body(), status=error.status)
    # Like RFC 7009: an unknown token is not an error; the answer is an empty 200.
    identity.token_revoke(app=app, token=request.POST.get("token", ""))
    return HttpResponse(status=200)


# --- sandbox controls (not Xero's API): webhooks on demand --------------------------------------
# Staff of this site only (signed in; CSRF-checked like any other form post), since they make
# the server send requests.

REPLAY_MAX_MINUTES = 7 * 24 * 60


def _control_error(field: str, message: str) -> HttpResponse:
    return _json({"error": message, "field": field}, status=400)


@require_http_methods(["POST"])
def intent_to_receive_view(request: HttpRequest, client_id: str) -> HttpResponse:
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    app = XeroApp.objects.filter(client_id=client_id).first()
    if app is None:
        return _not_found()
    try:
        report = webhooks.intent_to_receive(app=app)
    except ValueError as error:
        return _json({"error": str(error)}, status=400)
    return _json(
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
        return _not_found()
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
    return _json({"queued": queued})


def tenant_records(tenant: XeroTenant, kind: str, since):
    from apps.sandbox.xero.models import XeroContact

    if kind == "contacts":
        return XeroContact.objects.filter(tenant=tenant, updated_at__gte=since).values_list(
            "contact_id", flat=True
        )
    return XeroInvoice.objects.filter(tenant=tenant, updated_at__gte=since).values_list(
        "invoice_id", flat=True
    )
