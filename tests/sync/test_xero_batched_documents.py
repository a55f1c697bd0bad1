"""Xero quotes and payments many per call, against the sandbox over real HTTP (engine/batch.py,
connectors/xero/exporters.py and batches.py): quotes sent together go in one PUT, created SENT
with no follow-up call; payments go in one PUT and their invoices are read once for all of
them; a bad element is refused alone, naming its field; a batch that timed out after Xero
committed it is looked up many at once, never resent blind; a mixed run (quotes, their invoice,
its payments) keeps every record behind the one it depends on."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.sandbox import faults
from apps.sandbox.xero import documents as xero_documents
from apps.sandbox.xero.models import XeroContact, XeroInvoice, XeroPayment, XeroQuote
from apps.sync.engine import outbox
from apps.sync.models import (
    Binding,
    BindingStatus,
    Entity,
    OutboxBatch,
    OutboxItem,
    OutboxStatus,
    SyncLog,
)
from tests.quotes.factories import DocClientFactory
from tests.sync.test_xero_flows import connect_xero

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def xero(live_server, settings, monkeypatch):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the test drains
    return connect_xero(live_server, settings, webhooks=False)


def last_log_id() -> int:
    return SyncLog.objects.order_by("-id").values_list("id", flat=True).first() or 0


def calls(connection, since_id: int) -> list[tuple[str, str]]:
    return list(
        SyncLog.objects.filter(connection=connection, id__gt=since_id)
        .order_by("id")
        .values_list("method", "url")
    )


def drain(connection) -> dict:
    return outbox.outbox_drain(connection_id=connection.pk)


def clients_in_xero(connection, count: int):
    """Clients already bound to Xero contacts (one batch), so that documents make none."""
    clients = [DocClientFactory() for _ in range(count)]
    assert drain(connection) == {OutboxStatus.DONE: count}
    return clients


def sent_quote(agent, client, n: int):
    quote = quote_services.quote_create(created_by=agent, client=client, terms="30 days")
    quote_services.quote_line_add(
        quote=quote, name=f"Survey {n}", quantity="3", rate="33.333", tax_rate="0"
    )
    return quote_services.quote_send(quote=quote)


def open_invoices(agent, clients, connection):
    """One sent invoice per client, in Xero and AUTHORISED."""
    invoices = []
    for n, client in enumerate(clients):
        lines = [{"name": f"Audit {n}", "quantity": "1", "rate": "300.00", "tax_rate": "0"}]
        invoice = invoice_services.invoice_create(client=client, lines=lines, created_by=agent)
        invoices.append(invoice_services.invoice_send(invoice=invoice))
    drain(connection)
    assert not OutboxItem.objects.exclude(status=OutboxStatus.DONE).exists()
    return invoices


def test_quotes_sent_together_go_in_one_call_and_a_bad_one_is_refused_alone(xero, agent_user):
    connection, tenant = xero
    clients = clients_in_xero(connection, 6)
    # The fourth client's contact is gone from Xero (deleted there): its quote is refused.
    gone = Binding.objects.get(entity=Entity.CLIENTS, object_id=clients[3].pk).remote_id
    XeroContact.objects.filter(contact_id=gone).delete()
    quotes = [sent_quote(agent_user, client, n) for n, client in enumerate(clients)]
    since = last_log_id()

    assert drain(connection) == {OutboxStatus.DONE: 5, OutboxStatus.DEAD: 1}

    [(method, url)] = calls(connection, since)  # no lookup, no status move, no re-read
    assert method == "PUT" and "/Quotes?" in url and "summarizeErrors=false" in url
    refused = OutboxItem.objects.get(entity=Entity.QUOTES, object_id=quotes[3].pk)
    assert refused.status == OutboxStatus.DEAD
    assert refused.last_error.startswith(f"Xero refused quote {quotes[3].number}: ContactID:")
    assert "could not be found" in refused.last_error
    assert not XeroQuote.objects.filter(quote_number=quotes[3].number).exists()
    for quote in quotes[:3] + quotes[4:]:
        remote = XeroQuote.objects.get(tenant=tenant, quote_number=quote.number)
        assert remote.status == "SENT"  # created SENT: nothing left to move
        binding = Binding.objects.get(entity=Entity.QUOTES, object_id=quote.pk)
        assert binding.remote_id == str(remote.quote_id)  # matched by QuoteNumber
        assert binding.status == BindingStatus.SYNCED and binding.totals["differ"] == []
        assert remote.total == quote.total
    [batch] = OutboxBatch.objects.filter(connection=connection, entity=Entity.QUOTES)
    assert [element["QuoteNumber"] for element in batch.body] == [q.number for q in quotes]


def test_payments_go_in_one_call_with_one_read_of_their_invoices(xero, agent_user):
    connection, tenant = xero
    clients = clients_in_xero(connection, 4)
    invoices = open_invoices(agent_user, clients, connection)
    # A bookkeeper paid 250.00 of the third invoice in Xero: our payment of its whole balance
    # is more than Xero says is outstanding, and is refused alone.
    third = XeroInvoice.objects.get(tenant=tenant, invoice_number=invoices[2].number)
    with transaction.atomic():
        xero_documents.payment_create(
            tenant=tenant,
            data={
                "Invoice": {"InvoiceID": str(third.invoice_id)},
                "Account": {"Code": "090"},
                "Amount": "250.00",
            },
        )
    payments = [
        invoice_services.payment_record(invoice=invoices[0], amount=Decimal("100.00")),
        invoice_services.payment_record(invoice=invoices[0], amount=Decimal("200.00")),
        invoice_services.payment_record(invoice=invoices[1], amount=Decimal("50.00")),
        invoice_services.payment_record(invoice=invoices[2], amount=Decimal("300.00")),
        invoice_services.payment_record(
            invoice=invoices[3], amount=Decimal("120.00"), reference="EFT 7"
        ),
    ]
    since = last_log_id()

    assert drain(connection) == {OutboxStatus.DONE: 4, OutboxStatus.DEAD: 1}

    made = calls(connection, since)
    assert [method for method, _ in made] == ["PUT", "GET"]
    assert "/Payments?" in made[0][1] and "summarizeErrors=false" in made[0][1]
    assert "/Invoices?" in made[1][1] and "IDs=" in made[1][1]  # the batch's invoices, once
    refused = OutboxItem.objects.get(entity=Entity.PAYMENTS, object_id=payments[3].pk)
    assert refused.status == OutboxStatus.DEAD
    assert "Amount: Payment amount exceeds the amount outstanding" in refused.last_error
    for payment in payments[:3] + payments[4:]:
        item = OutboxItem.objects.get(entity=Entity.PAYMENTS, object_id=payment.pk)
        remote = XeroPayment.objects.get(payment_id=item.remote_id)
        assert remote.amount == payment.amount
        assert remote.reference.startswith(f"SD-P-{payment.pk:06d}")
    assert XeroPayment.objects.get(amount=Decimal("120.00")).reference.endswith(" EFT 7")
    # Each invoice compared with the read that followed the batch: Xero's balance is ours.
    for invoice in invoices[:2] + invoices[3:]:
        invoice.refresh_from_db()
        remote = XeroInvoice.objects.get(invoice_number=invoice.number)
        assert remote.total - remote.amount_paid == invoice.balance
        binding = Binding.objects.get(entity=Entity.INVOICES, object_id=invoice.pk)
        assert binding.totals["differ"] == []
        assert binding.totals["theirs"]["balance"] == str(invoice.balance)
    assert XeroInvoice.objects.get(pk=third.pk).amount_paid == Decimal("250.00")


def time_out_after_commit(connection, tenant, settings, make) -> list:
    """`make()` queues documents; the drain's writes all reach Xero and answer too late."""
    settings.SYNC_HTTP_TIMEOUT = 0.5
    account = str(tenant.tenant_id)
    faults.fault_plan_set(vendor="xero", account=account, timeout_share=1.0, timeout_seconds=1.5)
    made = make()
    drain(connection)
    faults.fault_plan_clear(vendor="xero", account=account)
    items = OutboxItem.objects.filter(connection=connection, entity__in=["quotes", "payments"])
    assert items.count() == len(made)
    assert all(item.uncertain and item.status == OutboxStatus.PENDING for item in items)
    items.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    return made


def test_quotes_timing_out_after_commit_are_looked_up_and_only_the_missing_resent(
    xero, agent_user, settings
):
    connection, tenant = xero
    clients = clients_in_xero(connection, 4)
    quotes = time_out_after_commit(
        connection,
        tenant,
        settings,
        lambda: [sent_quote(agent_user, client, n) for n, client in enumerate(clients)],
    )
    assert XeroQuote.objects.filter(tenant=tenant).count() == 4  # Xero made them all
    # One quote is gone from Xero meanwhile: that one alone is sent again.
    XeroQuote.objects.filter(quote_number=quotes[1].number).delete()
    since = last_log_id()

    assert drain(connection) == {OutboxStatus.DONE: 4}

    made = calls(connection, since)
    assert [method for method, _ in made] == ["GET", "PUT"]  # four looked up in one call
    assert "/Quotes?" in made[0][1] and "where=" in made[0][1]
    first, resent = OutboxBatch.objects.filter(entity=Entity.QUOTES).order_by("id")
    item = OutboxItem.objects.get(entity=Entity.QUOTES, object_id=quotes[1].pk)
    assert resent.item_ids == [item.pk] and resent.idempotency_key != first.idempotency_key
    for quote in quotes:
        remote = XeroQuote.objects.get(quote_number=quote.number)  # one each, none twice
        binding = Binding.objects.get(entity=Entity.QUOTES, object_id=quote.pk)
        assert binding.remote_id == str(remote.quote_id) and remote.status == "SENT"


def test_payments_timing_out_after_commit_are_found_in_one_call_not_sent_twice(
    xero, agent_user, settings
):
    connection, tenant = xero
    invoices = open_invoices(agent_user, clients_in_xero(connection, 3), connection)
    payments = time_out_after_commit(
        connection,
        tenant,
        settings,
        lambda: [
            invoice_services.payment_record(invoice=invoice, amount=Decimal("75.00"))
            for invoice in invoices
        ],
    )
    assert XeroPayment.objects.filter(tenant=tenant).count() == 3  # Xero made them all
    since = last_log_id()

    assert drain(connection) == {OutboxStatus.DONE: 3}

    made = calls(connection, since)
    assert [method for method, _ in made] == ["GET", "GET"]  # found, then their invoices read
    assert "/Payments?" in made[0][1] and "where=" in made[0][1]
    assert "/Invoices?" in made[1][1] and "IDs=" in made[1][1]
    for payment in payments:
        [remote] = XeroPayment.objects.filter(reference=f"SD-P-{payment.pk:06d}")
        item = OutboxItem.objects.get(entity=Entity.PAYMENTS, object_id=payment.pk)
        assert item.remote_id == str(remote.payment_id)
    for invoice in invoices:
        binding = Binding.objects.get(entity=Entity.INVOICES, object_id=invoice.pk)
        assert binding.totals["theirs"]["balance"] == "225.00"
        assert binding.totals["differ"] == []


def test_a_mixed_run_keeps_quote_before_invoice_before_payments(xero, agent_user):
    """Quotes, the invoice of one of them and that invoice's payments, all queued before one
    drain: each run of one kind goes in one call, and no record overtakes the one it needs."""
    connection, tenant = xero
    clients = clients_in_xero(connection, 3)
    quotes = [sent_quote(agent_user, client, n) for n, client in enumerate(clients)]
    accepted = quote_services.quote_accept(quote=quotes[0])
    invoice = invoice_services.invoice_create_from_quote(quote=accepted, created_by=agent_user)
    invoice = invoice_services.invoice_send(invoice=invoice)
    payments = [
        invoice_services.payment_record(invoice=invoice, amount=Decimal("20.00")),
        invoice_services.payment_record(invoice=invoice, amount=Decimal("30.00")),
    ]
    since = last_log_id()

    for _ in range(5):
        drain(connection)
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}

    made = [
        (method, url.split("/api.xro/2.0/")[1].split("?")[0].split("/")[0])
        for method, url in calls(connection, since)
    ]
    assert made == [
        ("PUT", "Quotes"),  # the three quotes, one call, created SENT
        ("POST", "Quotes"),  # the first accepted
        ("PUT", "Invoices"),  # its invoice, after it
        ("POST", "Quotes"),  # the quote marked INVOICED (the invoice's follow-up)
        ("POST", "Invoices"),  # the invoice sent: AUTHORISED
        ("PUT", "Payments"),  # both payments, one call, after their invoice
        ("GET", "Invoices"),  # the invoice read once for both
    ]
    remote = XeroInvoice.objects.get(tenant=tenant, invoice_number=invoice.number)
    assert remote.amount_paid == Decimal("50.00") and remote.reference == quotes[0].number
    assert XeroQuote.objects.get(quote_number=quotes[0].number).status == "INVOICED"
    assert XeroPayment.objects.filter(invoice=remote).count() == len(payments)
