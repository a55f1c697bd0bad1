"""journal: a client's staff page with a long sync journal — 1,000 history rows, 1,000 pushes each
with 3 logged calls (1.5 kB bodies), 100 conflicts — against the same page for a client with no
sync activity: median milliseconds, queries, and the ratio, for an Admin (bodies) and an Agent.

Rows are bulk-inserted (only the page is measured); the journal shows the newest 200 of each
source, so its cost must not follow the record's age.
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client as DjangoClient
from django.utils import timezone

from apps.clients.models import Client
from apps.sync.conflicts.models import Conflict
from apps.sync.models import Binding, OutboxItem, OutboxStatus, SyncLog
from tests.benchmarks.report import count_queries, emit, median_ms
from tests.sync.factories import make_zoho_books

HISTORY = 1_000
PUSHES = 1_000
CALLS_PER_PUSH = 3
CONFLICTS = 100
BODY = json.dumps({"contact": {"contact_name": "Ada", "notes": "x" * 1_400}})


def long_story(client: Client) -> None:
    books = make_zoho_books()
    start = timezone.now() - timedelta(days=400)
    history = Client.history.model
    history.objects.bulk_create(
        history(
            id=client.pk,
            name=client.name,
            email=client.email,
            phone=f"021 555 {n:04d}",
            active=True,
            created_at=client.created_at,
            updated_at=start + timedelta(hours=n),
            history_date=start + timedelta(hours=n),
            history_type="~",
            history_change_reason="sync pull · run 1" if n % 2 else "",
        )
        for n in range(HISTORY)
    )
    binding = Binding.objects.create(
        connection=books,
        entity="clients",
        content_type=ContentType.objects.get_for_model(Client),
        object_id=client.pk,
        remote_id="460000000001",
        remote_number="Ada",
    )
    items = OutboxItem.objects.bulk_create(
        OutboxItem(
            connection=books,
            entity="clients",
            operation="update",
            object_id=client.pk,
            reference=client.email,
            status=OutboxStatus.DONE,
            next_attempt_at=start,
            finished_at=start + timedelta(hours=n, seconds=2),
            correlation_id=uuid.uuid4(),
        )
        for n in range(PUSHES)
    )
    SyncLog.objects.bulk_create(
        SyncLog(
            connection=books,
            method="PUT" if k else "GET",
            url=f"https://www.zohoapis.com/books/v3/contacts/460000000001?organization_id=1&n={k}",
            status_code=200,
            latency_ms=120,
            request_body=BODY if k else "",
            response_body=BODY,
            correlation_id=item.correlation_id,
            entity="clients",
            object_id=client.pk,
        )
        for item in items
        for k in range(CALLS_PER_PUSH)
    )
    Conflict.objects.bulk_create(
        Conflict(
            binding=binding,
            connection=books,
            entity="clients",
            object_id=client.pk,
            field="phone",
            local_value="021 000 0001",
            remote_value="021 000 0002",
            base_value="021 000 0000",
            policy="remote_wins",
            status="auto_resolved",
            resolution="policy",
        )
        for _ in range(CONFLICTS)
    )


@pytest.mark.django_db
def test_bench_journal(admin_with_mfa, agent_user):
    quiet = Client.objects.create(name="Bea", email="bea@example.com")
    busy = Client.objects.create(name="Ada", email="ada@example.com")
    long_story(busy)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (SyncLog, OutboxItem, Client.history.model, Conflict):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    figures = {}
    for role, user in (("admin", admin_with_mfa), ("agent", agent_user)):
        browser = DjangoClient()
        browser.force_login(user)

        def open_page(client_id, browser=browser):
            response = browser.get(f"/clients/{client_id}/")
            assert response.status_code == 200

        with count_queries() as queries:
            open_page(busy.pk)
        busy_ms = median_ms(lambda: open_page(busy.pk), repeat=15)
        quiet_ms = median_ms(lambda: open_page(quiet.pk), repeat=15)
        figures[f"{role}_median_ms"] = busy_ms
        figures[f"{role}_empty_median_ms"] = quiet_ms
        figures[f"{role}_ratio"] = round(busy_ms / quiet_ms, 2)
        figures[f"{role}_queries"] = len(queries)
    emit(
        "journal",
        history_rows=HISTORY,
        pushes=PUSHES,
        calls=PUSHES * CALLS_PER_PUSH,
        conflicts=CONFLICTS,
        **figures,
        database=connection.vendor,
    )
