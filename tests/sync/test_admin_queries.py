"""Query budgets of the sync admin's lists: the count does not grow with the rows shown."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.clients.models import Client
from apps.sync.models import (
    Binding,
    Entity,
    Operation,
    OutboxItem,
    OutboxStatus,
    SyncLog,
    SyncRun,
)
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/sync/connection/",
    "/admin/sync/syncrun/",
    "/admin/sync/synclog/",
    "/admin/sync/binding/",
    "/admin/sync/outboxitem/",
    "/admin/sync/outboxitem/?status__exact=dead",
    "/admin/sync/connection/health/",
]


_made = iter(range(10_000))


def add_rows(count: int) -> None:
    """`count` connections (Zoho and Xero by turns), each with a run, a log, a binding and a
    dead outbox item."""
    for _ in range(count):
        n = next(_made)
        if n % 2:
            connection = make_zoho_books(name=f"Books {n}", org=f"org-{n}")
        else:
            connection = make_xero(name=f"Xero {n}", tenant=f"tenant-{n}")
        SyncRun.objects.create(connection=connection, entity=Entity.CLIENTS, direction="pull")
        SyncLog.objects.create(connection=connection, method="GET", url=f"u{n}", status_code=200)
        Binding.objects.create(
            connection=connection,
            entity=Entity.CLIENTS,
            content_type=ContentType.objects.get_for_model(Client),
            object_id=1000 + n,
            remote_id=f"r{n}",
        )
        OutboxItem.objects.create(
            connection=connection,
            entity=Entity.CLIENTS,
            operation=Operation.CREATE,
            object_id=2000 + n,
            reference=f"SD-C-{n}",
            status=OutboxStatus.DEAD,
            next_attempt_at=timezone.now(),
            last_error="refused",
        )


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(db_connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", PAGES)
def test_list_queries_do_not_grow_with_rows(admin_client_mfa, url):
    add_rows(2)
    few = queries_for(admin_client_mfa, url)
    add_rows(8)
    many = queries_for(admin_client_mfa, url)
    # The health panel reads a fixed handful of figures per connection; everything else is flat.
    limit = few + (8 * 8 if url.endswith("health/") else 0)
    assert many <= limit, (few, many)
