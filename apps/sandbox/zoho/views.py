"""HTTP faces of the Zoho emulators: Accounts (consent, token, revoke), Books v3 and CRM v6.

Each API call goes through one prelude: the access token, the organisation, the rate limits and
the account's fault plan (the clock and the plan are read once per request, see
`clock.request_scope`); then a write runs in a transaction (a read runs without one); a write
picked by the time-out-after-commit fault answers only after it has committed and stalled.

Books 429 answers (body UNCONFIRMED in the contract) are `{"code": 429, "message": ...}` and add
`Retry-After` (also UNCONFIRMED) to the documented `X-Rate-Limit-Limit/Remaining/Reset`, which
always describe the daily quota.
"""

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox import access, clock, faults, ratelimit
from apps.sandbox.zoho import accounts, books, books_settings, crm
from apps.sandbox.zoho.models import BooksCurrency, BooksTax, ZohoClient, ZohoOrganization

VENDOR = "zoho"
DAY_SECONDS = 86400


def api_domain(request: HttpRequest) -> str:
    """The absolute `/sandbox/zoho/api` URL, as token answers give it (`api_domain`)."""
    books_root = request.build_absolute_uri(
        reverse("sandbox-zoho-books", kwargs={"path": "organizations"})
    )
    return books_root.removesuffix("/books/v3/organizations")


def accounts_server(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("sandbox-zoho-token")).removesuffix("/oauth/v2/token")


# --- Accounts -----------------------------------------------------------------------------------


def _consent_error(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "sandbox/zoho_consent.html", {"error": message}, status=400)


def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page; approving redirects with code, location, accounts-server and state.

    It stands for Zoho's login: only a signed-in staff user of this site may consent (see
    apps.sandbox.access), and the client's redirect URI must be one it registered exactly.
    """
    refusal = access.staff_refusal(request)
    if refusal is not None:
        return refusal
    params = request.GET if request.method == "GET" else request.POST
    client = ZohoClient.objects.filter(client_id=params.get("client_id", "")).first()
    redirect_uri = params.get("redirect_uri", "")
    if client is None:
        return _consent_error(request, "Invalid client: no client with this client_id.")
    if not redirect_uri or not client.allows_redirect(redirect_uri):
        return _consent_error(request, "Invalid redirect URI for this client.")
    if params.get("response_type", "code") != "code":
        return _consent_error(request, "response_type must be code.")
    organizations = ZohoOrganization.objects.order_by("name")
    if request.method == "GET":
        return render(
            request,
            "sandbox/zoho_consent.html",
            {
                "client": client,
                "organizations": organizations,
                "params": params,
                "scopes": [s for s in params.get("scope", "").split(",") if s],
            },
        )
    query = {}
    if request.POST.get("decision") != "approve":
        query["error"] = "access_denied"
    else:
        organization = organizations.filter(
            organization_id=request.POST.get("organization_id", "")
        ).first()
        if organization is None:
            return _consent_error(request, "Pick an organisation to connect.")
        grant = accounts.grant_issue(
            client=client,
            organization=organization,
            redirect_uri=redirect_uri,
            scope=params.get("scope", accounts.DEFAULT_SCOPE),
            access_type=params.get("access_type", "offline"),
        )
        query |= {
            "code": grant.code,
            "location": "us",
            "accounts-server": accounts_server(request),
        }
    if params.get("state"):
        query["state"] = params["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(query)}")


def _token_params(request: HttpRequest) -> dict[str, str]:
    """Query string, then form body; client credentials may come as Basic auth (§1.3)."""
    params = request.GET.dict()
    params |= request.POST.dict()
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            client_id, secret = "", ""
        params.setdefault("client_id", client_id)
        params.setdefault("client_secret", secret)
    return params


@csrf_exempt
def token(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "invalid_request"}, status=405)
    params = _token_params(request)
    try:
        if params.get("grant_type") == "authorization_code":
            body = accounts.token_exchange_code(
                client_id=params.get("client_id", ""),
                client_secret=params.get("client_secret", ""),
                code=params.get("code", ""),
                redirect_uri=params.get("redirect_uri", ""),
                api_domain=api_domain(request),
            )
        elif params.get("grant_type") == "refresh_token":
            body = accounts.token_refresh(
                client_id=params.get("client_id", ""),
                client_secret=params.get("client_secret", ""),
                refresh_token=params.get("refresh_token", ""),
                api_domain=api_domain(request),
            )
        else:
            body = {"error": "unsupported_grant_type"}
    except accounts.TokenError as error:
        body = error.body
    # Zoho answers token errors with HTTP 200 and an `error` key (§1.5).
    return JsonResponse(body, status=200)


@csrf_exempt
def revoke(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "invalid_request"}, status=405)
    value = request.GET.get("token") or request.POST.get("token", "")
    if accounts.token_revoke(token=value):
        return JsonResponse({"status": "success"})
    return JsonResponse({"error": "invalid_token", "status": "failure"}, status=400)


# --- Books --------------------------------------------------------------------------------------


def _books_answer(body: dict, status: int = 200, headers: dict | None = None) -> JsonResponse:
    answer = JsonResponse(body, status=status, json_dumps_params={"separators": (",", ":")})
    for name, value in (headers or {}).items():
        answer[name] = value
    return answer


def _books_error(error: books.BooksError, headers: dict | None = None) -> JsonResponse:
    return _books_answer({"code": error.code, "message": error.message}, error.status, headers)


def _books_limits(organization: ZohoOrganization) -> tuple[dict, JsonResponse | None]:
    """Count the call against the minute and daily windows; headers, and a 429 when over."""
    account = organization.organization_id
    minute = ratelimit.rate_hit(
        vendor=VENDOR,
        account=account,
        bucket="books:minute",
        limit=organization.books_minute_limit,
        window_seconds=60,
    )
    daily_args = {
        "vendor": VENDOR,
        "account": account,
        "bucket": "books:day",
        "limit": organization.books_daily_quota,
        "window_seconds": DAY_SECONDS,
    }
    daily = (
        ratelimit.rate_hit(**daily_args) if minute.allowed else ratelimit.rate_peek(**daily_args)
    )
    headers = {
        "X-Rate-Limit-Limit": str(daily.limit),
        "X-Rate-Limit-Remaining": str(daily.remaining),
        "X-Rate-Limit-Reset": str(daily.reset_seconds),
    }
    if not minute.allowed:
        message = "You have made too many requests per minute. Please try again after some time."
        return headers, _books_answer(
            {"code": 429, "message": message},
            429,
            headers | {"Retry-After": str(minute.reset_seconds)},
        )
    if not daily.allowed:
        message = "You have reached the maximum number of API calls allowed for the day."
        return headers, _books_answer(
            {"code": 429, "message": message},
            429,
            headers | {"Retry-After": str(daily.reset_seconds)},
        )
    return headers, None


def _organization_json(organization: ZohoOrganization) -> dict:
    return {
        "organization_id": organization.organization_id,
        "name": organization.name,
        "contact_name": "Sandbox Owner",
        "email": "owner@sandbox.zoho.test",
        "is_default_org": True,
        "language_code": "en",
        "fiscal_year_start_month": 2,
        "account_created_date": organization.created_at.date().isoformat(),
        "time_zone": organization.time_zone,
        "is_org_active": True,
        "currency_code": organization.currency_code,
        "price_precision": 2,
    }


BooksHandler = Callable[[HttpRequest, ZohoOrganization, dict, re.Match], tuple[int, dict]]


def _resource_for(name: str) -> books.Resource:
    return books.RESOURCES[name]


def _collection(request, organization, data, match):
    resource = _resource_for(match["resource"])
    if request.method == "GET":
        params = request.GET.dict()
        return 200, {
            "code": 0,
            "message": "success",
            **books.records_page(resource, organization, params),
        }
    if request.method != "POST":
        raise books.BooksError(405, 4, "Method not allowed.")
    create, message = CREATORS[match["resource"]]
    record = create(organization=organization, data=data)
    record = books.record_get(resource, organization, getattr(record, resource.id_field))
    return 201, {
        "code": 0,
        "message": message,
        resource.key: resource.serialize(record, organization),
    }


CREATORS = {
    "contacts": (books.contact_create, "The contact has been added."),
    "items": (books.item_create, "The item has been added."),
    "estimates": (books.estimate_create, "Estimate has been created."),
    "invoices": (books.invoice_create, "Invoice has been created."),
    "customerpayments": (books.payment_create, "The payment has been recorded."),
}
UPDATERS = {
    "contacts": (books.contact_update, "contact", "Contact has been updated."),
    "items": (books.item_update, "item", "The item details have been updated."),
    "estimates": (books.estimate_update, "estimate", "Estimate has been updated."),
    "invoices": (books.invoice_update, "invoice", "Invoice information has been updated."),
    "customerpayments": (books.payment_update, "payment", "The payment details have been updated."),
}
DELETERS = {
    "contacts": (books.contact_delete, "contact", "The contact has been deleted."),
    "items": (books.item_delete, "item", "The item has been deleted."),
    "estimates": (books.estimate_delete, "estimate", "The estimate has been deleted."),
    "invoices": (books.invoice_delete, "invoice", "The invoice has been deleted."),
    "customerpayments": (books.payment_delete, "payment", "The payment has been deleted."),
}


def _detail(request, organization, data, match):
    resource = _resource_for(match["resource"])
    record = books.record_get(resource, organization, match["id"])
    if request.method == "GET":
        return 200, {
            "code": 0,
            "message": "success",
            resource.key: resource.serialize(record, organization),
        }
    if request.method == "PUT":
        update, argument, message = UPDATERS[match["resource"]]
        update(**{argument: record, "data": data})
        record = books.record_get(resource, organization, match["id"])
        return 200, {
            "code": 0,
            "message": message,
            resource.key: resource.serialize(record, organization),
        }
    if request.method == "DELETE":
        delete, argument, message = DELETERS[match["resource"]]
        delete(**{argument: record})
        return 200, {"code": 0, "message": message}
    raise books.BooksError(405, 4, "Method not allowed.")


def _status(request, organization, data, match):
    if request.method != "POST":
        raise books.BooksError(405, 4, "Method not allowed.")
    resource = _resource_for(match["resource"])
    record = books.record_get(resource, organization, match["id"])
    action = match["action"]
    if match["resource"] == "contacts":
        books.contact_mark(contact=record, status=action)
        return 200, {"code": 0, "message": f"The contact has been marked as {action}."}
    if match["resource"] == "items":
        books.item_mark(item=record, status=action)
        return 200, {"code": 0, "message": f"The item has been marked as {action}."}
    if match["resource"] == "estimates":
        return 200, {"code": 0, "message": books.estimate_mark(estimate=record, status=action)}
    return 200, {"code": 0, "message": books.invoice_mark(invoice=record, status=action)}


def _webhooks(request, organization, data, match):
    from apps.sandbox.zoho.models import BooksWebhook

    hooks = BooksWebhook.objects.filter(organization=organization).order_by("pk")
    if match["id"]:
        hook = hooks.filter(webhook_id=match["id"]).first()
        if hook is None:
            raise books.missing("Webhook")
        if request.method == "DELETE":
            hook.delete()
            return 200, {"code": 0, "message": "The webhook has been deleted."}
        return 200, {"code": 0, "message": "success", "webhook": books.webhook_json(hook)}
    if request.method == "POST":
        hook = books.webhook_create(organization=organization, data=data)
        return 201, {
            "code": 0,
            "message": "Webhook has been created.",
            "webhook": books.webhook_json(hook),
        }
    return 200, {
        "code": 0,
        "message": "success",
        "webhooks": [books.webhook_json(h) for h in hooks],
    }


def _taxes(request, organization, data, match):
    """`settings/taxes` (list, get, create) and `settings/currencies` (list)."""
    if match["kind"] == "currencies":
        if request.method != "GET" or match["id"]:
            raise books.BooksError(405, 4, "Method not allowed.")
        currencies = BooksCurrency.objects.filter(organization=organization).order_by("pk")
        return 200, {
            "code": 0,
            "message": "success",
            "currencies": [books_settings.currency_json(c) for c in currencies],
        }
    if match["id"]:
        try:
            tax = books_settings.tax_get(organization, match["id"])
        except books_settings.SettingMissing as error:
            raise books.missing(error.label) from None
        return 200, {"code": 0, "message": "success", "tax": books_settings.tax_json(tax)}
    if request.method == "POST":
        name = str(data.get("tax_name") or "").strip()
        if not name:
            raise books.invalid("tax_name")
        percentage = books.money(data.get("tax_percentage"), "tax_percentage")
        if not 0 <= percentage <= 100:
            raise books.invalid("tax_percentage")
        tax = books_settings.tax_create(organization=organization, name=name, percentage=percentage)
        return 201, {
            "code": 0,
            "message": "The record has been saved.",
            "tax": books_settings.tax_json(tax),
        }
    taxes = BooksTax.objects.filter(organization=organization).order_by("pk")
    return 200, {
        "code": 0,
        "message": "success",
        "taxes": [books_settings.tax_json(t) for t in taxes],
    }


BOOKS_ROUTES: list[tuple[re.Pattern, BooksHandler]] = [
    (
        re.compile(r"^(?P<resource>contacts|items|estimates|invoices|customerpayments)/?$"),
        _collection,
    ),
    (
        re.compile(
            r"^(?P<resource>contacts|items|estimates|invoices|customerpayments)/(?P<id>\d+)/?$"
        ),
        _detail,
    ),
    (
        re.compile(r"^(?P<resource>contacts|items)/(?P<id>\d+)/(?P<action>active|inactive)/?$"),
        _status,
    ),
    (
        re.compile(
            r"^(?P<resource>estimates)/(?P<id>\d+)/status/(?P<action>sent|accepted|declined)/?$"
        ),
        _status,
    ),
    (
        re.compile(r"^(?P<resource>invoices)/(?P<id>\d+)/status/(?P<action>sent|void|draft)/?$"),
        _status,
    ),
    (re.compile(r"^settings/webhooks(?:/(?P<id>\d+))?/?$"), _webhooks),
    (re.compile(r"^settings/(?P<kind>taxes|currencies)(?:/(?P<id>\d+))?/?$"), _taxes),
]


BOOKS_SCOPE_NAMES = {
    "organizations": "settings",
    "contacts": "contacts",
    "items": "settings",
    "estimates": "estimates",
    "invoices": "invoices",
    "customerpayments": "customerpayments",
    "settings": "settings",
}


def _books_scope_name(path: str) -> str | None:
    return BOOKS_SCOPE_NAMES.get(path.strip("/").split("/")[0])


@csrf_exempt
@clock.request_scoped
def books_api(request: HttpRequest, path: str) -> HttpResponse:
    check = accounts.access_token_check(request.headers.get("Authorization", ""))
    if check.token is None:
        return _books_error(books.BooksError(401, 14, "Invalid OAuth token"))
    scope_name = _books_scope_name(path)
    if scope_name and not accounts.scope_allows(
        check.token.scope,
        service="ZohoBooks",
        name=scope_name,
        operation=accounts.operation_for(request.method),
    ):
        return _books_error(
            books.BooksError(401, 57, "You are not authorized to perform this operation")
        )
    own = check.token.organization
    if path.strip("/") == "organizations":
        headers, throttled = _books_limits(own)
        if throttled:
            return throttled
        return _books_answer(
            {"code": 0, "message": "success", "organizations": [_organization_json(own)]},
            headers=headers,
        )
    organization_id = request.GET.get("organization_id", "")
    organization = (
        own
        if organization_id == own.organization_id
        else ZohoOrganization.objects.filter(organization_id=organization_id).first()
    )
    if organization is None:
        return _books_error(books.BooksError(400, 1002, "Organization does not exist."))
    if organization.pk != own.pk:
        return _books_error(
            books.BooksError(401, 57, "You are not authorized to perform this operation")
        )
    headers, throttled = _books_limits(organization)
    if throttled:
        return throttled
    write = request.method in ("POST", "PUT", "DELETE")
    fault = faults.call_fault(VENDOR, organization_id, write=write)
    if fault is not None:
        if fault.status == 429:
            return _books_answer(
                {"code": 429, "message": "too many requests"},
                429,
                headers | {"Retry-After": str(fault.retry_after)},
            )
        return _books_answer({"code": 1000, "message": "Internal error"}, fault.status, headers)
    for pattern, handler in BOOKS_ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        try:
            data = (
                books.parse_body(request.body, request.content_type, request.POST)
                if request.method in ("POST", "PUT")
                else {}
            )
            if write:
                with transaction.atomic():
                    status, body = handler(request, organization, data, match)
            else:
                status, body = handler(request, organization, data, match)
        except books.BooksError as error:
            return _books_error(error, headers)
        if write:
            faults.stall_after_commit(VENDOR, organization_id)
        return _books_answer(body, status, headers)
    return _books_answer({"code": 5, "message": "Invalid URL Passed"}, 404, headers)


# --- CRM ----------------------------------------------------------------------------------------


def _crm_error(error: crm.CrmError) -> JsonResponse:
    return JsonResponse(error.body, status=error.status)


def _crm_json(request: HttpRequest) -> object:
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise crm.CrmError(400, "INVALID_DATA", "body is not a valid JSON", {}) from None


def _crm_route(request: HttpRequest, organization: ZohoOrganization, path: str) -> HttpResponse:
    domain = api_domain(request)
    parts = [part for part in path.split("/") if part]
    method = request.method
    if parts == ["actions", "watch"]:
        if method == "GET":
            listed = crm.watch_list(organization=organization, params=request.GET.dict())
            return HttpResponse(status=204) if listed is None else JsonResponse(listed)
        if method in ("POST", "PUT"):
            return JsonResponse(
                crm.watch_enable(
                    organization=organization, body=_crm_json(request), api_domain=domain
                )
            )
        if method == "PATCH":
            return JsonResponse(
                crm.watch_patch(
                    organization=organization, body=_crm_json(request), api_domain=domain
                )
            )
        if method == "DELETE":
            ids = request.GET.get("channel_ids", "").split(",")
            return JsonResponse(crm.watch_disable(organization=organization, channel_ids=ids))
    elif len(parts) == 1:
        module = crm.module_check(parts[0])
        if method == "GET":
            page = crm.records_page(
                organization=organization,
                module=module,
                params=request.GET.dict(),
                if_modified_since=request.headers.get("If-Modified-Since", ""),
            )
            if page is None:
                return HttpResponse(status=204)
            return JsonResponse({"data": page.records, "info": page.info})
        if method == "POST":
            result = crm.records_insert(
                organization=organization, module=module, body=_crm_json(request), api_domain=domain
            )
            return JsonResponse({"data": result.results}, status=result.status)
        if method == "PUT":
            result = crm.records_update(
                organization=organization, module=module, body=_crm_json(request), api_domain=domain
            )
            return JsonResponse({"data": result.results}, status=result.status)
        if method == "DELETE":
            result = crm.records_delete(
                organization=organization,
                module=module,
                ids=request.GET.get("ids", "").split(","),
                api_domain=domain,
            )
            return JsonResponse({"data": result.results}, status=result.status)
    elif len(parts) == 2 and parts[1] == "upsert" and method == "POST":
        result = crm.records_upsert(
            organization=organization, module=parts[0], body=_crm_json(request), api_domain=domain
        )
        return JsonResponse({"data": result.results}, status=result.status)
    elif len(parts) == 2:
        module, record_id = parts
        record = crm.record_get(organization, module, record_id)
        if method == "GET":
            return JsonResponse({"data": [crm.record_json(record, organization, None)]})
        if method == "PUT":
            result = crm.records_update(
                organization=organization,
                module=module,
                body=_crm_json(request),
                api_domain=domain,
                record_id=record_id,
            )
            return JsonResponse({"data": result.results}, status=result.status)
        if method == "DELETE":
            result = crm.records_delete(
                organization=organization, module=module, ids=[record_id], api_domain=domain
            )
            return JsonResponse({"data": result.results}, status=result.status)
    raise crm.CrmError(
        404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", {}
    )


def _crm_scope_allows(granted: str, path: str, method: str) -> bool:
    """`actions/watch` needs a notifications scope; a module call a modules scope (§1.2)."""
    first = next((part for part in path.split("/") if part), "")
    if first == "actions":
        name = "notifications"
    elif first in crm.MANDATORY:
        name = f"modules.{first.lower()}"
    else:
        return True  # an unknown module or URL is refused by the router, with its own error
    return accounts.scope_allows(
        granted, service="ZohoCRM", name=name, operation=accounts.operation_for(method)
    )


@csrf_exempt
@clock.request_scoped
def crm_api(request: HttpRequest, path: str) -> HttpResponse:
    check = accounts.access_token_check(request.headers.get("Authorization", ""))
    if check.problem == "missing":
        return _crm_error(crm.CrmError(401, "AUTHENTICATION_FAILURE", "Authentication failed", {}))
    if check.token is None:
        return _crm_error(crm.CrmError(401, "INVALID_TOKEN", "invalid oauth token", {}))
    if not _crm_scope_allows(check.token.scope, path, request.method):
        return _crm_error(crm.CrmError(401, "OAUTH_SCOPE_MISMATCH", "Unauthorized", {}))
    organization = check.token.organization
    account = organization.organization_id
    credits = ratelimit.rate_hit(
        vendor=VENDOR,
        account=account,
        bucket="crm:credits",
        limit=crm.DAILY_CREDITS,
        window_seconds=DAY_SECONDS,
    )
    too_many = crm.CrmError(429, "TOO_MANY_REQUESTS", "too many requests continuously", {})
    if not credits.allowed:
        return _crm_error(too_many)
    with ratelimit.concurrency_slot(
        vendor=VENDOR, account=account, bucket="crm:concurrency", limit=crm.CONCURRENCY_LIMIT
    ) as slot:
        if not slot:
            return _crm_error(too_many)
        write = request.method in ("POST", "PUT", "PATCH", "DELETE")
        fault = faults.call_fault(VENDOR, account, write=write)
        if fault is not None:
            if fault.status == 429:
                answer = _crm_error(too_many)
                answer["Retry-After"] = str(fault.retry_after)
                return answer
            return _crm_error(
                crm.CrmError(fault.status, "INTERNAL_ERROR", "Internal Server Error", {})
            )
        try:
            if write:
                with transaction.atomic():
                    answer = _crm_route(request, organization, path)
            else:
                answer = _crm_route(request, organization, path)
        except crm.CrmError as error:
            return _crm_error(error)
        if write:
            faults.stall_after_commit(VENDOR, account)
        return answer
