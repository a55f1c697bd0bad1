"""Answers in Xero's shapes, shared by the Accounting, identity and control views."""

import uuid

from django.http import HttpRequest, HttpResponse

from apps.sandbox.xero import identity, wire
from apps.sandbox.xero.models import XeroApp

JSON_TYPE = "application/json; charset=utf-8"


def json_answer(payload: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(wire.dumps(payload), status=status, content_type=JSON_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Xero-Correlation-Id"] = str(uuid.uuid4())
    return response


def problem(status: int, detail: str) -> HttpResponse:
    """Xero's 401/403 problem body (PascalCase, vendor-contracts §4.7)."""
    title = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Error")
    return json_answer(
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


def validation_error(message: str, elements: list[dict] | None = None) -> dict:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message,
        "Elements": elements or [],
    }


def not_found() -> HttpResponse:
    # Xero's 404 body is unconfirmed (vendor-contracts §4.7); the SDKs quote this sentence.
    return HttpResponse(
        "The resource you're looking for cannot be found",
        status=404,
        content_type="text/plain; charset=utf-8",
    )


def envelope(app: XeroApp, moment, key: str, rows: list[dict], pagination=None) -> dict:
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


def throttled(headers: dict, problem: str, retry_after: int | None) -> HttpResponse:
    # 429 body unconfirmed: empty, as vendor-contracts §4.8 advises.
    response = HttpResponse(b"", status=429)
    for name, value in headers.items():
        response[name] = value
    response["X-Rate-Limit-Problem"] = problem
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def authenticate(request: HttpRequest):
    check = identity.bearer_authenticate(request.headers.get("Authorization", ""))
    if check.grant is None:
        return None, problem(401, check.problem)
    return check.grant, None
