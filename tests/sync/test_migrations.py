"""Upgrading a database of the landed release (sync at 0004) to the connector layout keeps every
row, and moves the schedules of relocated tasks to their new paths."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_q.models import Schedule

from apps.sync.models import Binding, Connection, Credential, InboundWebhook, OutboxItem

BEFORE = [("sync", "0004_inbound_webhooks"), ("django_q", "0018_task_success_index")]


@pytest.mark.django_db(transaction=True)
def test_migrating_from_the_landed_schema_keeps_data_and_moves_schedules():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    credential = old.get_model("sync", "Credential").objects.create(
        vendor="zoho", token_ciphertext="ciphertext"
    )
    books = old.get_model("sync", "Connection").objects.create(
        provider="zoho_books", name="Books", remote_account_id="60001", credential=credential
    )
    content_type = old.get_model("contenttypes", "ContentType").objects.get(
        app_label="clients", model="client"
    )
    old.get_model("sync", "Binding").objects.create(
        connection=books,
        entity="clients",
        content_type=content_type,
        object_id=7,
        remote_id="R-7",
        base_snapshot={"name": "Ada"},
        status="synced",
    )
    old.get_model("sync", "OutboxItem").objects.create(
        connection=books,
        entity="quotes",
        operation="create",
        object_id=3,
        reference="Q-000003",
        next_attempt_at="2026-01-01T00:00:00Z",
        uncertain=True,
    )
    old.get_model("sync", "InboundWebhook").objects.create(
        source="zoho_books", connection=books, dedupe_key="k", event="invoice", body="{}"
    )
    schedule = old.get_model("django_q", "Schedule").objects.create(
        name="syncdesk:sync.crm_watch_renew", func="apps.sync.flow_tasks.crm_watch_renew_task"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    books = Connection.objects.get(pk=books.pk)
    assert (books.provider, books.get_provider_display()) == ("zoho_books", "Zoho Books")
    assert Credential.objects.get(pk=credential.pk).vendor == "zoho"
    binding = Binding.objects.get(connection=books)
    assert (binding.remote_id, binding.base_snapshot) == ("R-7", {"name": "Ada"})
    item = OutboxItem.objects.get(connection=books)
    assert (item.reference, item.uncertain) == ("Q-000003", True)
    assert InboundWebhook.objects.get().source == "zoho_books"
    assert Schedule.objects.get(pk=schedule.pk).func == (
        "apps.sync.connectors.zoho.tasks.crm_watch_renew_task"
    )


@pytest.mark.django_db(transaction=True)
def test_upgrading_masks_the_webhook_secret_in_call_logs_already_written():
    """Issue 11, item 2: logs written before the fix held the Books webhook secret in clear."""
    from apps.sync.models import SyncLog

    before = [("sync", "0005_connectors_registry")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old.get_model("sync", "SyncLog").objects.create(
        method="POST",
        url="https://www.zohoapis.com/books/v3/settings/webhooks?organization_id=1",
        request_body='{"entity": "contact", "secret": "BooksSecret0123456789"}',
        response_body='{"webhook": {"secret":"BooksSecret0123456789", "entity": "contact"}}',
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    log = SyncLog.objects.get()
    assert "BooksSecret0123456789" not in log.request_body + log.response_body
    assert '"entity": "contact"' in log.request_body
