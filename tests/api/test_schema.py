"""The OpenAPI schema: valid, no generator warnings, and on every operation the auth schemes,
the problem-details errors, Idempotency-Key on POST and If-Match on PATCH."""

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def schema() -> dict:
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    return json.loads(out.getvalue())


def test_every_operation_documents_auth_errors_and_headers():
    document = schema()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert "cookieAuth" in schemes
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if path not in ("/api/v1/schema/",)
    ]
    assert len(operations) > 40
    for path, method, operation in operations:
        assert {"bearerAuth": []} in operation["security"], (method, path)
        for code in ("401", "403", "429"):
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], (method, path, code)
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "post":
            assert "Idempotency-Key" in headers and "422" in operation["responses"]
        if method == "patch":
            assert "If-Match" in headers and "412" in operation["responses"]
        if "{id}" in path:
            assert "404" in operation["responses"], (method, path)


def test_creates_link_to_what_they_made():
    links = schema()["paths"]["/api/v1/quotes/"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert {"quotes_send_create", "quotes_accept_create", "quotes_retrieve"} <= targets
