"""OpenAPI details drf-spectacular cannot infer: the Bearer scheme, and on every operation the
problem-details errors, the Idempotency-Key and If-Match headers, Location and ETag."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from apps.api.errors import PROBLEM_MEDIA_TYPE


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A per-user token: `manage.py api_token create --user EMAIL`.",
        }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "nullable": True},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "The field as a path, e.g. `lines[2].quantity`.",
                    },
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["field", "message", "code"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "errors"],
    "example": {
        "type": "/api/v1/problems/invalid-request",
        "title": "Invalid request",
        "status": 400,
        "detail": "lines[1].quantity: Ensure this value is greater than or equal to 0.001.",
        "errors": [
            {
                "field": "lines[1].quantity",
                "message": "Ensure this value is greater than or equal to 0.001.",
                "code": "min_value",
            }
        ],
    },
}

ERROR_DESCRIPTIONS = {
    400: "The request is malformed or a service refused it; each field is named.",
    401: "No valid session or Bearer token.",
    403: "Your role does not allow this.",
    404: "No such record.",
    409: "The record's state refuses this, or the Idempotency-Key's first request still runs.",
    412: "If-Match does not match the record's ETag: it changed since you read it.",
    415: "The body's media type is not accepted.",
    422: "The Idempotency-Key was already used with a different body.",
    429: "Too many requests for this token; see Retry-After.",
}


def _problem(code: int) -> dict:
    response = {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def postprocess(result, generator, request, public):
    """Add what every operation shares (DRF views cannot declare it one by one)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            codes = [401, 403, 429]
            if "{" in path:
                codes.append(404)
            if method in ("get",):
                codes.append(400)  # a bad filter, cursor or page size
            if method in ("post", "patch"):
                codes += [400, 409, 415]
            if method == "post":
                codes.append(422)
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                        "description": "Retry safely: the same key and body replay the first "
                        "answer for 24 hours; another body gets 422; 409 while the first runs.",
                    }
                )
            if method == "patch":
                codes.append(412)
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": "If-Match",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "The ETag you read; 412 when the record changed since.",
                    }
                )
            for code in sorted(set(codes)):
                responses.setdefault(str(code), _problem(code))
            for code, response in responses.items():
                if code == "201" and "{" not in path.rstrip("/").rsplit("/", 1)[-1]:
                    response.setdefault("headers", {})["Location"] = {
                        "schema": {"type": "string"},
                        "description": "Where the new record lives.",
                    }
                if code in ("200", "201") and method in ("get", "patch") and "{" in path:
                    response.setdefault("headers", {})["ETag"] = {"schema": {"type": "string"}}
    _strict_decimals(result)
    _add_links(result)
    return result


def _strict_decimals(result) -> None:
    """drf-spectacular's decimal pattern accepts "", "-" and "."; every decimal the API takes is a
    non-negative number with at least one digit, so say exactly that."""
    for name, component in result["components"]["schemas"].items():
        if not name.endswith("Request"):
            continue
        for field in component.get("properties", {}).values():
            items = field.get("items", field)
            if items.get("format") == "decimal" and "pattern" in items:
                whole = items["pattern"].split("{0,", 1)[1].split("}", 1)[0]
                places = items["pattern"].rsplit("{0,", 1)[1].split("}", 1)[0]
                items["pattern"] = rf"^\d{{1,{whole}}}(?:\.\d{{1,{places}}})?$"


# A created record's component -> the collection whose {id} operations can follow it.
RECORD_COLLECTIONS = {
    "Client": "/api/v1/clients/",
    "Service": "/api/v1/services/",
    "TaxRate": "/api/v1/tax-rates/",
    "Ticket": "/api/v1/tickets/",
    "QuoteDetail": "/api/v1/quotes/",
    "InvoiceDetail": "/api/v1/invoices/",
    "Payment": "/api/v1/payments/",
}


def _add_links(result) -> None:
    """OpenAPI links from each create to the operations on what it created (`$response.body#/id`),
    so stateful tests and readers see the lifecycle: quote -> send -> accept -> invoice."""
    paths = result.get("paths", {})
    for operations in paths.values():
        for operation in operations.values():
            created = operation.get("responses", {}).get("201")
            if not created:
                continue
            schema = created.get("content", {}).get("application/json", {}).get("schema", {})
            component = schema.get("$ref", "").rsplit("/", 1)[-1]
            collection = RECORD_COLLECTIONS.get(component)
            if collection is None:
                continue
            links = created.setdefault("links", {})
            for target, target_operations in paths.items():
                if not target.startswith(collection + "{id}/"):
                    continue
                for target_operation in target_operations.values():
                    name = target_operation.get("operationId")
                    if name:
                        links[name] = {
                            "operationId": name,
                            "parameters": {"id": "$response.body#/id"},
                        }
