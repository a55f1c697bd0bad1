"""/healthz reports the database, the cache and the task broker."""

import pytest
from django.db import OperationalError, connections

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {name: {"status": "ok"} for name in ("database", "cache", "broker")}


def test_healthz_shows_details_to_staff_only(agent_client):
    body = agent_client.get("/healthz").json()
    assert body["checks"]["broker"]["broker"] == "ORM"
    assert body["checks"]["broker"]["queued"] == 0
    assert body["checks"]["database"]["latency_ms"] >= 0


def test_healthz_answers_head_probes(client):
    assert client.head("/healthz").status_code == 200


def test_healthz_is_503_when_the_database_is_unreachable(client, monkeypatch):
    # The database server cannot be stopped under a running test, so the connection is made to
    # fail the way an unreachable server makes it fail.
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == {"status": "error"}
    assert body["checks"]["cache"]["status"] == "ok"


def test_healthz_rejects_writes(client):
    assert client.post("/healthz").status_code == 405
