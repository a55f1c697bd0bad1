"""The reads that the apps above sync (API, staff pages) rely on."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.sync.models import Binding, BindingStatus, OutboxItem, OutboxStatus
from apps.sync.selectors import dead_letters_list, record_sync_states
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db


def test_record_sync_states_per_connection_in_one_query(django_assert_num_queries):
    books, xero = make_zoho_books(), make_xero()
    first = Client.objects.create(name="Ada", email="ada@example.com")
    second = Client.objects.create(name="Bob", email="bob@example.com")
    content_type = ContentType.objects.get_for_model(Client)
    Binding.objects.create(
        connection=books,
        entity="clients",
        content_type=content_type,
        object_id=first.pk,
        remote_id="B-1",
        status=BindingStatus.SYNCED,
    )
    Binding.objects.create(
        connection=xero,
        entity="clients",
        content_type=content_type,
        object_id=first.pk,
        remote_id=None,
        status=BindingStatus.FAILED,
        last_error="Email is invalid",
    )

    with django_assert_num_queries(1):
        states = record_sync_states(model=Client, object_ids=[first.pk, second.pk])

    assert states[second.pk] == []
    assert [(s["connection"], s["status"], s["remote_id"]) for s in states[first.pk]] == [
        ("Books", "synced", "B-1"),
        ("Xero", "failed", ""),
    ]
    assert states[first.pk][1]["last_error"] == "Email is invalid"


def test_dead_letters_list_holds_only_dead_items():
    books = make_zoho_books()
    for status in (OutboxStatus.DEAD, OutboxStatus.PENDING):
        OutboxItem.objects.create(
            connection=books,
            entity="clients",
            operation="create",
            object_id=1,
            reference="C-1",
            status=status,
            next_attempt_at=timezone.now(),
        )
    assert [item.status for item in dead_letters_list()] == [OutboxStatus.DEAD]


def test_bulk_saved_clients_are_queued_once_per_connection(django_assert_max_num_queries):
    from apps.clients.signals import clients_saved_in_bulk
    from apps.sync.models import Binding

    books, xero = make_zoho_books(), make_xero()
    clients = Client.objects.bulk_create(
        [Client(name=f"C{i}", email=f"c{i}@example.com") for i in range(50)]
    )
    Binding.objects.create(
        connection=books,
        entity="clients",
        content_type=ContentType.objects.get_for_model(Client),
        object_id=clients[0].pk,
        remote_id="B-1",
        status=BindingStatus.SYNCED,
    )

    with django_assert_max_num_queries(12):
        clients_saved_in_bulk.send(sender=Client, instances=clients)
    clients_saved_in_bulk.send(sender=Client, instances=clients)  # still waiting: not queued twice

    for connection in (books, xero):
        items = OutboxItem.objects.filter(connection=connection, entity="clients")
        assert items.count() == 50
    assert OutboxItem.objects.get(connection=books, object_id=clients[0].pk).operation == "update"
    keys = OutboxItem.objects.values_list("idempotency_key", flat=True)
    assert len(set(keys)) == 100  # each item its own key (written by plain INSERTs)
    assert set(OutboxItem.objects.filter(connection=xero).values_list("operation", flat=True)) == {
        "create"
    }


def test_conflicts_list_labels_each_row_in_one_query(django_assert_num_queries):
    from apps.sync.conflicts.models import Conflict
    from apps.sync.selectors import conflicts_list

    books = make_zoho_books()
    client = Client.objects.create(name="Ada", email="ada@example.com")
    binding = Binding.objects.create(
        connection=books,
        entity="clients",
        content_type=ContentType.objects.get_for_model(Client),
        object_id=client.pk,
        remote_id="B-1",
        status=BindingStatus.CONFLICT,
    )
    for field, status in (("phone", "open"), ("name", "resolved")):
        Conflict.objects.create(
            binding=binding, connection=books, entity="clients", object_id=client.pk,
            field=field, policy="manual", status=status,
        )  # fmt: skip
    with django_assert_num_queries(1):
        rows = [(c.field, c.record_label, c.connection.name) for c in conflicts_list()]
    assert rows == [("phone", "Ada", "Books")]


def test_a_requested_push_run_is_queued_then_filled_in(django_capture_on_commit_callbacks):
    from apps.sync.models import ConnectionStatus, RunStatus, SyncRun
    from apps.sync.services import sync_run_request

    books = make_zoho_books()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = sync_run_request(connection=books, entity="quotes", direction="push")
    assert (run.status, run.direction) == (RunStatus.QUEUED, "push")
    for callback in callbacks:
        callback()  # the task (tests run django-q2 tasks synchronously)
    run = SyncRun.objects.get(pk=run.pk)
    assert (run.status, run.records, run.errors) == (RunStatus.SUCCEEDED, 0, 0)
    assert run.finished_at is not None

    books.status = ConnectionStatus.NEEDS_REAUTH
    books.save()
    with pytest.raises(ApplicationError) as refused:
        sync_run_request(connection=books, entity="clients")
    assert "reconnect it first" in refused.value.message
    books.status = ConnectionStatus.CONNECTED
    books.save()
    with pytest.raises(ApplicationError) as refused:
        sync_run_request(connection=books, entity="deals", direction="pull")
    assert refused.value.extra == {"entity": ["one of clients, services, invoices"]}
