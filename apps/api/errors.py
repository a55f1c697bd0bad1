"""Every API error as RFC 9457 problem details (`application/problem+json`), naming each field.

One handler turns DRF's errors, the services' ValidationError and ApplicationError, and the API's
own refusals into {"type", "title", "status", "detail", "errors": [{"field", "message", "code"}]}.
Nested serializer errors are flattened to paths such as `lines[2].quantity`.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.api.services import IdempotencyConflict, IdempotencyMismatch
from apps.core.errors import ApplicationError

PROBLEM_MEDIA_TYPE = "application/problem+json"
NON_FIELD = "non_field_errors"


class Conflict(exceptions.APIException):
    """The record's state refuses the request (a sent quote edited, a paid invoice paid)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record's state does not allow this."
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def flatten(detail, prefix: str = "") -> list[dict]:
    """DRF's nested error detail as a flat list of {field, message, code}."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            if isinstance(key, int):  # a list's items, keyed by index
                found += flatten(value, f"{prefix}[{key}]")
                continue
            name = "" if key in (NON_FIELD, "__all__") else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            found += flatten(value, path)
        return found
    if isinstance(detail, list):
        # A list of dicts (or lists) is a list of items; a list of strings is one field's messages.
        if any(isinstance(item, dict | list) for item in detail):
            found = []
            for index, item in enumerate(detail):
                if item:
                    found += flatten(item, f"{prefix}[{index}]")
            return found
        return [item for entry in detail for item in flatten(entry, prefix)]
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": prefix or None, "message": str(detail), "code": code}]


def django_errors(error: DjangoValidationError) -> list[dict]:
    if hasattr(error, "error_dict"):
        return [
            {
                "field": None if field == "__all__" else field,
                "message": message,
                "code": "invalid",
            }
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"field": None, "message": message, "code": "invalid"} for message in error.messages]


def problem(
    *, status_code: int, title: str, detail: str, errors: list[dict] | None = None, headers=None
) -> Response:
    slug = title.lower().replace(" ", "-")
    body = {
        "type": f"/api/v1/problems/{slug}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "errors": errors or [],
    }
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_MEDIA_TYPE)


TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
}


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: any known error becomes problem details; others propagate (500)."""
    if isinstance(exc, IdempotencyConflict):
        exc = Conflict(exc.message)
    elif isinstance(exc, IdempotencyMismatch):
        return problem(
            status_code=422,
            title=TITLES[422],
            detail=exc.message,
            errors=[
                {
                    "field": "Idempotency-Key",
                    "message": exc.extra["idempotency_key"],
                    "code": "reused",
                }
            ],
        )
    if isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        return problem(
            status_code=400, title=TITLES[400], detail=errors[0]["message"], errors=errors
        )
    if isinstance(exc, ApplicationError):
        errors = [
            {"field": field, "message": str(message), "code": "refused"}
            for field, message in exc.extra.items()
        ] or [{"field": None, "message": exc.message, "code": "refused"}]
        return problem(status_code=400, title=TITLES[400], detail=exc.message, errors=errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = response.status_code
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
        detail = (
            f"{errors[0]['field']}: {errors[0]['message']}"
            if errors and errors[0]["field"]
            else (errors[0]["message"] if errors else "Invalid request.")
        )
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else TITLES.get(code)
        errors = []
    headers = {
        name: value
        for name, value in response.items()
        if name in ("Retry-After", "WWW-Authenticate", "Allow")
    }
    return problem(
        status_code=code,
        title=TITLES.get(code, "Error"),
        detail=detail,
        errors=errors,
        headers=headers,
    )
