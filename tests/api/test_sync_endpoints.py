"""Sync over the API, as an Admin, against the sandbox over real HTTP: a run started (202) and
read back, health, the conflict queue resolved, dead letters requeued. Agents get 403."""

import pytest
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

from apps.api.services import api_token_create
from apps.clients.models import Client
from apps.sync.conflicts.models import Conflict
from apps.sync.models import Binding, Connection, OutboxItem, OutboxStatus
from tests.sync.test_zoho_flows import drain_until_settled, zoho  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _zoho_client(settings):
    # The OAuth client the sandbox knows (as tests/sync/conftest.py sets for the sync suite).
    settings.ZOHO_CLIENT_ID = "zoho-client"
    settings.ZOHO_CLIENT_SECRET = "zoho-client-secret-XYZ"
    settings.SYNC_OUTBOX_BACKOFF_BASE = 0.01
    settings.SYNC_OUTBOX_BACKOFF_CAP = 0.05


@pytest.fixture
def admin_token_api(admin_role_user) -> APIClient:
    _, raw = api_token_create(user=admin_role_user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_runs_status_conflicts_and_dead_letters(zoho, admin_token_api, agent_user):  # noqa: F811
    api = admin_token_api
    books = api.get("/api/v1/sync/status/").json()["connections"]
    assert {c["name"] for c in books} >= {"Books"}
    connection_id = Connection.objects.get(name="Books").pk

    started = api.post(
        "/api/v1/sync/runs/",
        {"connection": connection_id, "entity": "clients", "direction": "pull"},
        format="json",
    )
    assert started.status_code == 202, started.json()
    run = started.json()
    assert run["entity"] == "clients" and run["direction"] == "pull"
    # Tasks run inline in tests: by now the run has finished.
    fetched = api.get(f"/api/v1/sync/runs/{run['id']}/").json()
    assert fetched["status"] == "succeeded" and fetched["finished_at"]
    assert run["id"] in [r["id"] for r in api.get("/api/v1/sync/runs/").json()["results"]]
    refused = api.post(
        "/api/v1/sync/runs/",
        {"connection": connection_id, "entity": "deals", "direction": "pull"},
        format="json",
    )
    assert refused.status_code == 400

    # A conflict held on a client's phone (the sandbox has 011, Syncdesk 099): the Admin takes
    # the remote value.
    client = api.post(
        "/api/v1/clients/",
        {"name": "Musa", "email": "musa@example.co.za", "phone": "011"},
        format="json",
    ).json()
    drain_until_settled()
    binding = Binding.objects.get(
        connection_id=connection_id,
        content_type=ContentType.objects.get_for_model(Client),
        object_id=client["id"],
    )
    Client.objects.filter(pk=client["id"]).update(phone="099")
    conflict = Conflict.objects.create(
        binding=binding,
        connection_id=connection_id,
        entity="clients",
        object_id=client["id"],
        field="phone",
        base_value="011",
        local_value="099",
        remote_value="011",
        policy="manual",
        status="open",
    )
    queue = api.get("/api/v1/sync/conflicts/").json()["results"]
    assert [(c["id"], c["field"], c["record"]) for c in queue] == [(conflict.pk, "phone", "Musa")]
    resolved = api.post(
        f"/api/v1/sync/conflicts/{conflict.pk}/resolve/",
        {"resolution": "take_remote"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["status"] == "resolved"
    assert Client.objects.get(pk=client["id"]).phone == "011"
    again = api.post(
        f"/api/v1/sync/conflicts/{conflict.pk}/resolve/",
        {"resolution": "take_remote"},
        format="json",
    )
    assert again.status_code in (400, 409)
    assert api.get("/api/v1/sync/conflicts/").json()["results"] == []

    # A dead letter, requeued.
    item = OutboxItem.objects.filter(connection_id=connection_id).first()
    OutboxItem.objects.filter(pk=item.pk).update(status=OutboxStatus.DEAD, last_error="boom")
    dead = api.get("/api/v1/sync/dead-letters/").json()["results"]
    assert [(d["id"], d["last_error"]) for d in dead] == [(item.pk, "boom")]
    requeued = api.post("/api/v1/sync/dead-letters/requeue/", {"ids": [item.pk]}, format="json")
    assert requeued.json() == {"requeued": 1}
    assert OutboxItem.objects.get(pk=item.pk).status == OutboxStatus.PENDING

    _, raw = api_token_create(user=agent_user)
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for path in ("runs/", "status/", "conflicts/", "dead-letters/"):
        assert agent.get(f"/api/v1/sync/{path}").status_code == 403
