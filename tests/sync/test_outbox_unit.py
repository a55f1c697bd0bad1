"""The outbox against `responses`: enqueue with the change, claim, send, look up before a retry
of an uncertain create, back off, dead-letter, requeue."""

import json

import pytest
import requests
import responses
from django.db import transaction
from django.utils import timezone

from apps.clients.models import Client
from apps.sync.engine import leases, outbox
from apps.sync.models import Binding, Entity, Operation, OutboxItem, OutboxStatus
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db
XERO_CONTACTS = "https://api.xero.com/api.xro/2.0/Contacts"


def xero_contact(reference, name="Ada"):
    return {
        "ContactID": f"c-{reference}",
        "Name": name,
        "ContactNumber": reference,
        "UpdatedDateUTC": "/Date(1782900000000+0000)/",
    }


def make_due(item):
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())


def test_saving_a_client_enqueues_in_the_same_transaction():
    make_xero()
    with transaction.atomic():
        client = Client.objects.create(name="Ada", email="ada@example.com")
        assert OutboxItem.objects.filter(object_id=client.pk).count() == 1
        transaction.set_rollback(True)
    assert OutboxItem.objects.count() == 0  # rolled back together


def test_a_second_save_before_sending_does_not_queue_twice():
    make_xero()
    client = Client.objects.create(name="Ada")
    client.name = "Ada L."
    client.save()
    assert OutboxItem.objects.count() == 1


@responses.activate
def test_create_binds_and_sends_the_idempotency_key_and_reference():
    make_xero()
    client = Client.objects.create(name="Ada", email="ada@example.com")
    reference = f"SD-C-{client.pk:06d}"
    responses.put(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})

    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}

    item = OutboxItem.objects.get()
    sent = responses.calls[0].request
    assert sent.headers["Idempotency-Key"] == str(item.idempotency_key)
    assert json.loads(sent.body)["Contacts"][0]["ContactNumber"] == reference
    binding = Binding.objects.get(object_id=client.pk)
    assert binding.remote_id == f"c-{reference}" and binding.base_snapshot["name"] == "Ada"


@responses.activate
def test_an_uncertain_create_is_looked_up_before_it_is_sent_again():
    make_xero()
    client = Client.objects.create(name="Ada")
    reference = f"SD-C-{client.pk:06d}"
    responses.put(XERO_CONTACTS, body=requests.ReadTimeout())  # it reached Xero; answer lost
    responses.get(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})

    assert outbox.outbox_drain() == {OutboxStatus.PENDING: 1}
    item = OutboxItem.objects.get()
    assert item.uncertain and item.attempts == 1
    make_due(item)
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}

    methods = [c.request.method for c in responses.calls]
    assert methods == ["PUT", "GET"]  # no second PUT: the lookup found it
    assert f"ContactNumber%3D%3D%22{reference}%22" in responses.calls[1].request.url


@responses.activate
def test_transient_errors_back_off_then_dead_letter(settings):
    settings.SYNC_OUTBOX_MAX_ATTEMPTS = 3
    make_zoho_books()
    Client.objects.create(name="Ada", email="ada@example.com")
    responses.post("https://www.zohoapis.com/books/v3/contacts", status=503, json={})
    responses.get(
        "https://www.zohoapis.com/books/v3/contacts",
        json={"code": 0, "contacts": [], "page_context": {"has_more_page": False}},
    )
    item = OutboxItem.objects.get()
    for attempt in (1, 2):
        outbox.outbox_drain()
        item.refresh_from_db()
        assert (item.status, item.attempts) == (OutboxStatus.PENDING, attempt)
        make_due(item)
    outbox.outbox_drain()
    item.refresh_from_db()
    assert item.status == OutboxStatus.DEAD and "503" in item.last_error


@responses.activate
def test_a_rejection_is_dead_at_once_and_requeue_sends_it_again():
    make_zoho_books()
    Client.objects.create(name="Ada", email="ada@example.com")
    responses.post(
        "https://www.zohoapis.com/books/v3/contacts",
        status=400,
        json={"code": 3062, "message": "Contact name already exists"},
    )
    outbox.outbox_drain()
    item = OutboxItem.objects.get()
    assert item.status == OutboxStatus.DEAD and item.attempts == 1
    assert "already exists" in item.last_error

    assert outbox.outbox_requeue(items=OutboxItem.objects.all()) == 1
    item.refresh_from_db()
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 0)


def test_backoff_is_full_jitter_under_a_growing_cap(settings):
    settings.SYNC_OUTBOX_BACKOFF_BASE = 10
    settings.SYNC_OUTBOX_BACKOFF_CAP = 100
    for attempts, ceiling in ((1, 10), (2, 20), (3, 40), (5, 100), (12, 100)):
        samples = [leases.backoff_seconds(attempts) for _ in range(200)]
        assert min(samples) >= 0 and max(samples) <= ceiling
        assert max(samples) > ceiling * 0.5  # spread out, not a fixed delay


def test_claims_are_leased_and_a_lapsed_lease_is_claimable_again():
    make_xero()
    Client.objects.create(name="Ada")
    first = outbox.outbox_claim(owner="a")
    assert first and outbox.outbox_claim(owner="b") == []
    OutboxItem.objects.update(lease_until=timezone.now() - timezone.timedelta(seconds=1))
    assert outbox.outbox_claim(owner="b") == first


def test_dead_letter_admin_lists_and_requeues(admin_client_mfa):
    connection = make_xero()
    item = OutboxItem.objects.create(
        connection=connection,
        entity=Entity.CLIENTS,
        operation=Operation.CREATE,
        object_id=1,
        reference="SD-C-000001",
        status=OutboxStatus.DEAD,
        attempts=12,
        last_error="ValidationException: name taken",
        next_attempt_at=timezone.now(),
    )
    page = admin_client_mfa.get("/admin/sync/outboxitem/?status__exact=dead")
    assert page.status_code == 200 and "name taken" in page.content.decode()
    admin_client_mfa.post(
        "/admin/sync/outboxitem/", {"action": "requeue", "_selected_action": [item.pk]}
    )
    item.refresh_from_db()
    assert item.status == OutboxStatus.PENDING
