"""The journal on the admin change pages and the staff pages, by role: Admins see bodies, links
and the Replay button; Agents see the story without them and cannot replay; a replay requeues
the dead item once, whatever is clicked again; an invoice's journal holds its payments' pushes."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connections
from django.utils import timezone

from apps.clients.models import Client
from apps.clients.services import client_update
from apps.invoices import services as invoice_services
from apps.sync.journal.selectors import PAGE, record_journal
from apps.sync.journal.services import AlreadyReplayed, journal_replay
from apps.sync.models import OutboxItem, OutboxStatus, SyncLog
from tests.sync.factories import make_zoho_books
from tests.workspace.helpers import make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_invoice_push(agent_user):
    """An invoice whose create died at Books (a refused call logged for it)."""
    books = make_zoho_books()
    invoice = make_invoice(user=agent_user, send=False)
    item = OutboxItem.objects.get(connection=books, entity="invoices", object_id=invoice.pk)
    died = timezone.now() - timedelta(minutes=3)
    OutboxItem.objects.filter(pk=item.pk).update(
        status=OutboxStatus.DEAD,
        attempts=1,
        finished_at=died,
        last_error="Invalid value passed for customer_id.",
        last_http_status=400,
    )
    SyncLog.objects.create(
        connection=books,
        method="POST",
        url="https://www.zohoapis.com/books/v3/invoices?organization_id=60001",
        status_code=400,
        latency_ms=120,
        request_body=json.dumps({"customer_id": "", "reference_number": invoice.number}),
        response_body='{"code": 4, "message": "Invalid value passed for customer_id."}',
        correlation_id=item.correlation_id,
        entity="invoices",
        object_id=invoice.pk,
    )
    item.refresh_from_db()
    return invoice, item


def test_admin_change_pages_show_the_journal_with_bodies_and_replay(
    admin_client_mfa, dead_invoice_push
):
    invoice, item = dead_invoice_push
    page = admin_client_mfa.get(f"/admin/invoices/invoice/{invoice.pk}/change/").content.decode()
    assert 'id="sync-journal"' in page and "Push to Zoho Books: create the invoice" in page
    assert "Create invoices: refused (HTTP 400)" in page
    assert "&quot;code&quot;: 4" in page  # the answer, indented, for Admins
    assert f'name="item_id" value="{item.pk}"' in page
    for url in (
        f"/admin/clients/client/{invoice.client_id}/change/",
        f"/admin/quotes/quote/{invoice.quote_id}/change/",
    ):
        assert 'id="sync-journal"' in admin_client_mfa.get(url).content.decode()


def test_agents_see_the_story_without_bodies_and_cannot_replay(agent_client, dead_invoice_push):
    invoice, item = dead_invoice_push
    for url in (f"/admin/invoices/invoice/{invoice.pk}/change/", f"/invoices/{invoice.pk}/"):
        page = agent_client.get(url).content.decode()
        assert "Push to Zoho Books: create the invoice" in page, url
        assert "Create invoices: refused (HTTP 400)" in page
        assert "Invalid value passed for customer_id." in page  # the reason, in words
        assert "&quot;code&quot;" not in page and "Request and answer" not in page
        assert 'name="item_id"' not in page and "/admin/sync/" not in page
    data = {"item_id": item.pk, "token": item.finished_at.isoformat()}
    assert agent_client.post("/sync/journal/replay/", data).status_code == 403
    admin_url = f"/admin/invoices/invoice/{invoice.pk}/journal/replay/"
    assert agent_client.post(admin_url, data).status_code == 403
    item.refresh_from_db()
    assert item.status == OutboxStatus.DEAD


def test_replay_from_the_admin_requeues_the_dead_item_once(
    admin_client_mfa, admin_with_mfa, dead_invoice_push
):
    invoice, item = dead_invoice_push
    queued = OutboxItem.objects.count()
    url = f"/admin/invoices/invoice/{invoice.pk}/journal/replay/"
    data = {"item_id": item.pk, "token": item.finished_at.isoformat(), "next": "https://evil.test/"}
    first = admin_client_mfa.post(url, data)
    assert first.status_code == 302
    assert first["Location"] == f"/admin/invoices/invoice/{invoice.pk}/change/#sync-journal"
    key = item.idempotency_key
    item.refresh_from_db()
    assert (item.status, item.attempts, item.idempotency_key) == (OutboxStatus.PENDING, 0, key)
    again = admin_client_mfa.post(url, data, follow=True).content.decode()
    assert "already replayed" in again
    # The item dies again: the old button (the first death's token) still replays nothing.
    OutboxItem.objects.filter(pk=item.pk).update(
        status=OutboxStatus.DEAD, finished_at=timezone.now()
    )
    admin_client_mfa.post(url, data)
    assert OutboxItem.objects.get(pk=item.pk).status == OutboxStatus.DEAD
    assert OutboxItem.objects.count() == queued  # no new item: the same row went back
    logged = LogEntry.objects.get()
    assert logged.user == admin_with_mfa and "customer_id" in logged.change_message


def test_an_invoice_journal_holds_its_payments_pushes(agent_user, admin_with_mfa):
    books = make_zoho_books()
    invoice = make_invoice(user=agent_user)
    payment = invoice_services.payment_record(
        invoice=invoice, amount=Decimal("100.00"), recorded_by=agent_user
    )
    assert OutboxItem.objects.filter(connection=books, entity="payments", object_id=payment.pk)
    titles = [e.title for e in record_journal(obj=invoice, user=admin_with_mfa).entries]
    assert f"Push to Zoho Books: create the payment #{payment.pk}" in titles
    assert "Push to Zoho Books: create the invoice" in titles
    assert any(t.startswith("Push to Zoho Books: mark sent") for t in titles), titles


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_admins_replaying_at_once_requeue_the_dead_item_once(
    admin_with_mfa, dead_invoice_push, monkeypatch
):
    # The drain a replay kicks after commit would send the item here: only the replay counts.
    monkeypatch.setattr("apps.sync.journal.services._drain_soon", lambda: None)
    _invoice, item = dead_invoice_push
    token = item.finished_at.isoformat()
    barrier = threading.Barrier(8)
    done, refused, errors = [], [], []

    def admin_clicks():
        try:
            barrier.wait()
            journal_replay(item_id=item.pk, token=token, actor=admin_with_mfa)
            done.append(1)
        except AlreadyReplayed:
            refused.append(1)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=admin_clicks) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (len(done), len(refused)) == (1, 7)
    assert OutboxItem.objects.get(pk=item.pk).status == OutboxStatus.PENDING
    assert LogEntry.objects.count() == 1


def test_a_long_journal_pages_back_without_gaps_or_repeats(agent_user, agent_client):
    client = Client.objects.create(name="Ada", email="ada@example.com")
    for n in range(PAGE + 20):
        client_update(client=client, data={"phone": f"021 555 {n:04d}"}, actor=agent_user)
    first = record_journal(obj=client, user=agent_user)
    older = record_journal(obj=client, user=agent_user, page=first.older_page)
    assert (len(first.entries), first.has_older, first.newer_page) == (PAGE, True, None)
    assert (len(older.entries), older.has_older, older.newer_page) == (21, False, 0)
    phones = [e.changes[0][2] for e in first.entries + older.entries if e.changes]
    assert phones == [f"021 555 {n:04d}" for n in reversed(range(PAGE + 20))]
    page = agent_client.get(f"/clients/{client.pk}/?journal=1").content.decode()
    page = page.split('id="sync-journal"')[1]
    assert "021 555 0000" in page and "021 555 0069" not in page
    assert 'href="?journal=0#sync-journal">Newer entries' in page
