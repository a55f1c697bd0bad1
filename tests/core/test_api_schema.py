"""The OpenAPI schema and docs are served under /api/v1/, to signed-in staff only."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_requires_login(client):
    assert client.get("/api/v1/schema/").status_code in (401, 403)


def test_schema_and_docs_for_staff(agent_client):
    schema = agent_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Syncdesk API"
    docs = agent_client.get("/api/v1/docs/")
    assert docs.status_code == 200
    # The UI's assets come from our static files: nothing is fetched from a CDN.
    assert b"cdn.jsdelivr" not in docs.content
    assert b"drf_spectacular_sidecar" in docs.content
