"""Tokens (command, hashing, expiry, revocation, last use), 401/429, problem details naming
fields and lines, ETag/If-Match and Idempotency-Key replay."""

import datetime
import io
import threading
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client as DjangoClient
from django.utils import timezone
from rest_framework.test import APIClient

from apps.api.models import ApiToken, IdempotencyKey
from apps.api.services import api_token_create, api_token_revoke, token_hash
from apps.clients.models import Client
from apps.quotes.models import Quote
from tests.api.conftest import token_client
from tests.quotes.factories import DocClientFactory, DocServiceFactory

pytestmark = pytest.mark.django_db


def test_command_prints_the_token_once_as_its_last_line(agent_user):
    out = io.StringIO()
    call_command(
        "api_token",
        "create",
        "--user",
        "AGENT@example.com",
        "--name",
        "n8n",
        "--expires-days",
        "30",
        stdout=out,
    )
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert token.token_hash == token_hash(raw) and raw not in token.token_hash
    assert token.name == "n8n" and token.user == agent_user
    assert abs(
        token.expires_at - timezone.now() - datetime.timedelta(days=30)
    ) < datetime.timedelta(minutes=1)
    api = APIClient()
    assert api.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_command_refuses_an_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "create", "--user", "nobody@example.com")
    assert not ApiToken.objects.exists()


def test_anonymous_revoked_and_expired_tokens_get_401(agent_user):
    api = APIClient()
    anonymous = api.get("/api/v1/clients/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert anonymous["Content-Type"] == "application/problem+json"
    token, raw = api_token_create(user=agent_user)
    api_token_revoke(token=token)
    assert api.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    token, raw = api_token_create(user=agent_user, expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert api.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert api.get("/api/v1/clients/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


def test_session_works_for_the_browser(agent_client):
    assert agent_client.get("/api/v1/clients/").status_code == 200


def test_throttle_per_token_answers_429_with_retry_after(agent_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/min"},
    }
    first, second = token_client(agent_user), token_client(agent_user)
    assert [first.get("/api/v1/clients/").status_code for _ in range(3)] == [200] * 3
    refused = first.get("/api/v1/clients/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["title"] == "Too many requests"
    assert second.get("/api/v1/clients/").status_code == 200  # another token, its own budget


def test_errors_name_each_field_and_line(agent_api):
    client = DocClientFactory()
    response = agent_api.post(
        "/api/v1/quotes/",
        {
            "client": client.pk,
            "lines": [
                {"name": "Fine", "rate": "10"},
                {"name": "Bad", "rate": "10", "quantity": "-1"},
                {"description": "no name"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"lines[1].quantity", "lines[2].name", "lines[2].rate"}
    assert not Quote.objects.exists()


def test_a_service_refusal_is_a_400_with_its_message(agent_api):
    quote = agent_api.post(
        "/api/v1/quotes/", {"client": DocClientFactory().pk}, format="json"
    ).json()
    refused = agent_api.post(f"/api/v1/quotes/{quote['id']}/send/")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {
            "field": "lines",
            "message": f"Quote {quote['number']} has no lines; add one first.",
            "code": "invalid",
        }
    ]
    assert Quote.objects.get().status == "draft"


def test_etag_and_if_match(agent_api):
    created = agent_api.post("/api/v1/clients/", {"name": "Lindiwe"}, format="json")
    url = f"/api/v1/clients/{created.json()['id']}/"
    etag = agent_api.get(url)["ETag"]
    assert etag == created["ETag"]
    changed = agent_api.patch(url, {"phone": "011"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    stale = agent_api.patch(url, {"phone": "012"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Client.objects.get().phone == "011"
    assert agent_api.patch(url, {"phone": "013"}, format="json").status_code == 200


def test_idempotency_key_replays_and_refuses_another_body(agent_api):
    key = str(uuid.uuid4())
    first = agent_api.post(
        "/api/v1/clients/", {"name": "Sipho"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    again = agent_api.post(
        "/api/v1/clients/", {"name": "Sipho"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Client.objects.count() == 1
    other = agent_api.post(
        "/api/v1/clients/", {"name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert other.status_code == 422
    assert Client.objects.count() == 1
    # A refusal is remembered too: the same retry gets the same 400.
    bad_key = str(uuid.uuid4())
    bad = agent_api.post("/api/v1/clients/", {}, format="json", HTTP_IDEMPOTENCY_KEY=bad_key)
    assert bad.status_code == 400
    assert (
        agent_api.post("/api/v1/clients/", {}, format="json", HTTP_IDEMPOTENCY_KEY=bad_key).json()
        == bad.json()
    )


def test_idempotency_keys_are_per_user(agent_api, admin_api):
    key = str(uuid.uuid4())
    agent_api.post("/api/v1/clients/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    admin_api.post("/api/v1/clients/", {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert Client.objects.count() == 2


def test_a_key_whose_first_request_died_is_taken_over_after_its_lease(agent_api, agent_user):
    key = str(uuid.uuid4())
    IdempotencyKey.objects.create(
        user=agent_user,
        key=key,
        method="POST",
        path="/api/v1/clients/",
        request_hash=__import__("apps.api.services", fromlist=["x"]).request_fingerprint(
            b'{"name":"Z"}'
        ),
        locked_until=timezone.now() + datetime.timedelta(seconds=30),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    busy = agent_api.post(
        "/api/v1/clients/", {"name": "Z"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert busy.status_code == 409
    IdempotencyKey.objects.update(locked_until=timezone.now())
    assert (
        agent_api.post(
            "/api/v1/clients/", {"name": "Z"}, format="json", HTTP_IDEMPOTENCY_KEY=key
        ).status_code
        == 201
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_make_one_document(agent_user, monkeypatch):
    """Both requests start together; the first holds the key while it works, the second gets 409
    (or, if it comes after, the replay); there is one quote."""
    from apps.quotes import services as quote_services

    client = DocClientFactory()
    service = DocServiceFactory()
    _, raw = api_token_create(user=agent_user)
    second_done = threading.Event()
    original = quote_services.quote_create

    def slow_create(**kwargs):
        second_done.wait(timeout=20)  # the first request is still running when the second comes
        return original(**kwargs)

    monkeypatch.setattr(quote_services, "quote_create", slow_create)
    body = {"client": client.pk, "lines": [{"service": service.pk, "quantity": "1"}]}
    key = str(uuid.uuid4())
    answers = {}

    def send(name):
        try:
            answers[name] = DjangoClient().post(
                "/api/v1/quotes/",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
                HTTP_IDEMPOTENCY_KEY=key,
            )
        finally:
            if name == "second":
                second_done.set()
            connection.close()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    deadline = timezone.now() + datetime.timedelta(seconds=10)
    while not IdempotencyKey.objects.exists() and timezone.now() < deadline:
        threading.Event().wait(0.05)
    second = threading.Thread(target=send, args=("second",))
    second.start()
    second.join(30)
    first.join(30)
    assert answers["first"].status_code == 201
    assert answers["second"].status_code == 409
    assert Quote.objects.count() == 1
    replay = DjangoClient().post(
        "/api/v1/quotes/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert replay.status_code == 201 and replay.json() == answers["first"].json()
    assert Quote.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_requests_with_one_key_make_one_document(agent_user):
    client = DocClientFactory()
    _, raw = api_token_create(user=agent_user)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(2)
    statuses = []

    def send():
        barrier.wait()
        try:
            statuses.append(
                DjangoClient()
                .post(
                    "/api/v1/quotes/",
                    {"client": client.pk},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {raw}",
                    HTTP_IDEMPOTENCY_KEY=key,
                )
                .status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) in ([201, 201], [201, 409])
    assert Quote.objects.count() == 1


def test_expired_keys_are_pruned_hourly_and_a_stale_key_starts_afresh(agent_api, agent_user):
    from apps.api.services import idempotency_keys_prune
    from apps.core.schedules import declared_schedules

    declared = {spec.name: spec.func for spec in declared_schedules()}
    assert declared["syncdesk:api.prune_idempotency_keys"] == (
        "apps.api.tasks.prune_idempotency_keys_task"
    )
    key = str(uuid.uuid4())
    agent_api.post("/api/v1/clients/", {"name": "Old"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    IdempotencyKey.objects.update(expires_at=timezone.now())
    # Past 24 hours the key is forgotten: the same request runs again.
    again = agent_api.post(
        "/api/v1/clients/", {"name": "Old"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Client.objects.count() == 2
    IdempotencyKey.objects.update(expires_at=timezone.now())
    assert idempotency_keys_prune() == 1
    assert not IdempotencyKey.objects.exists()
