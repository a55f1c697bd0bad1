"""The Zoho document loop against the sandbox over real HTTP: quote -> estimate and deal,
acceptance -> invoice from the estimate and "Closed Won", payments -> the Books invoice paid;
the sandbox down while quotes are sent; invoices paid or voided in Books come back."""

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.sandbox import faults
from apps.sandbox.zoho.models import BooksEstimate, BooksInvoice, CrmRecord
from apps.sync.engine import outbox
from apps.sync.models import Binding, BindingStatus, Connection, OutboxItem, OutboxStatus
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.sandbox import books_connect, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def zoho(live_server, settings):
    return books_connect(settings, live_server.url, crm=True)


def drain_until_settled(rounds: int = 50) -> None:
    """Drain until nothing is pending; a retry's backoff is skipped (made due now), not slept."""
    for _ in range(rounds):
        outbox.outbox_drain()
        waiting = OutboxItem.objects.filter(status__in=["pending", "in_flight"])
        if not waiting.exists():
            return
        waiting.filter(status="pending").update(next_attempt_at=timezone.now())
    raise AssertionError(list(OutboxItem.objects.values("id", "status", "last_error")))


def make_quote(agent, *, lines=2, discount="50.00"):
    client = DocClientFactory(name="Thandi Mokoena", email="Thandi@Example.co.za")
    quote = quote_services.quote_create(
        created_by=agent,
        client=client,
        notes="Collected in person",
        terms="Payable within 30 days",
    )
    for _ in range(lines):
        quote_services.quote_line_add(quote=quote, service=DocServiceFactory(), quantity="2")
    quote_services.quote_update(quote=quote, discount_value=discount)
    quote.refresh_from_db()
    return quote


def test_quote_estimate_deal_invoice_payments(zoho, agent_user):
    quote = make_quote(agent_user)
    quote = quote_services.quote_send(quote=quote)
    drain_until_settled()

    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    assert estimate.status == "sent"
    assert (estimate.total, estimate.tax_total) == (quote.total, quote.tax_total)
    assert estimate.notes == quote.notes and estimate.terms == quote.terms
    assert len(estimate.line_items) == 2 and all(line["item_id"] for line in estimate.line_items)
    deal = CrmRecord.objects.get(module="Deals")
    assert deal.data["Stage"] == "Quote Sent"
    assert Decimal(str(deal.data["Amount"])) == quote.total
    assert deal.data["Deal_Name"] == f"Thandi Mokoena \u2013 {quote.issue_date.isoformat()}"
    contact = CrmRecord.objects.get(module="Contacts")
    assert deal.data["Contact_Name"]["id"] == contact.record_id

    quote = quote_services.quote_accept(quote=quote)
    invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=agent_user)
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    estimate.refresh_from_db()
    deal.refresh_from_db()
    assert deal.data["Stage"] == "Closed Won"
    books_invoice = BooksInvoice.objects.get(reference_number=invoice.number)
    assert books_invoice.estimate_id == estimate.pk
    assert estimate.status == "invoiced"  # accepted, then invoiced by the linked invoice
    assert books_invoice.status == "sent"
    assert books_invoice.total == invoice.total

    invoice_services.payment_record(invoice=invoice, amount=Decimal("100.00"))
    drain_until_settled()
    books_invoice.refresh_from_db()
    assert books_invoice.status == "partially_paid"
    invoice.refresh_from_db()
    invoice_services.payment_record(invoice=invoice, amount=invoice.balance)
    drain_until_settled()
    books_invoice.refresh_from_db()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and books_invoice.status == "paid"
    assert (books_invoice.total, books_invoice.payment_made, books_invoice.balance) == (
        invoice.total,
        invoice.amount_paid,
        invoice.balance,
    )
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}


def test_rejected_quote_declines_estimate_and_loses_deal(zoho, agent_user):
    quote = quote_services.quote_send(quote=make_quote(agent_user, lines=1, discount="0"))
    quote_services.quote_reject(quote=quote)
    drain_until_settled()
    assert BooksEstimate.objects.get(reference_number=quote.number).status == "declined"
    assert CrmRecord.objects.get(module="Deals").data["Stage"] == "Closed Lost"


def test_sandbox_down_twenty_quotes_nothing_lost_in_order(zoho, agent_user, settings):
    # Production backoff (30 s base): a failed item is not retried while the agent works on.
    settings.SYNC_OUTBOX_BACKOFF_BASE = 30.0
    settings.SYNC_OUTBOX_BACKOFF_CAP = 6 * 3600.0
    org = zoho["organization_id"]
    client = DocClientFactory()
    service = DocServiceFactory()
    drain_until_settled()
    faults.fault_plan_set(vendor="zoho", account=org, error_share=1.0, error_status=503)
    quotes = []
    for _ in range(20):
        quote = quote_services.quote_create(created_by=agent_user, client=client)
        quote_services.quote_line_add(quote=quote, service=service, quantity="3")
        quotes.append(quote_services.quote_send(quote=quote))  # staff keep working
    outbox.outbox_drain()
    assert BooksEstimate.objects.count() == 0
    assert not OutboxItem.objects.filter(status__in=["dead", "discarded"]).exists()
    pending = Binding.objects.filter(entity="quotes", status=BindingStatus.PENDING).count()
    assert pending == 20

    faults.fault_plan_clear(vendor="zoho", account=org)
    # The sandbox is back and the backoff has run out: every waiting item is due again.
    OutboxItem.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    drain_until_settled()
    estimates = list(
        BooksEstimate.objects.order_by("id").values_list("reference_number", flat=True)
    )
    assert estimates == [quote.number for quote in quotes]
    assert CrmRecord.objects.filter(module="Deals").count() == 20


def test_invoice_paid_and_voided_in_books_come_back(zoho, agent_user):
    client = DocClientFactory()
    lines = [{"name": "Translation", "quantity": "1", "rate": "300.00"}]
    paid = invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    paid = invoice_services.invoice_send(invoice=paid)
    voided = invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    drain_until_settled()
    from apps.sandbox.zoho import books

    remote_paid = BooksInvoice.objects.get(reference_number=paid.number)
    assert remote_paid.estimate_id is None
    books.payment_create(
        organization=remote_paid.organization,
        data={
            "customer_id": remote_paid.customer.contact_id,
            "payment_mode": "cash",
            "amount": "300.00",
            "date": remote_paid.date.isoformat(),
            "invoices": [{"invoice_id": remote_paid.invoice_id, "amount_applied": "300.00"}],
        },
    )
    remote_void = BooksInvoice.objects.get(reference_number=voided.number)
    books.invoice_mark(invoice=remote_void, status="void")

    books_connection = Connection.objects.get(provider="zoho_books")
    summary = sync(
        "run", "--connection", books_connection.name, "--entity", "invoices", "--direction", "pull"
    )
    assert summary["ok"] and summary["runs"][0]["updated"] == 2
    paid.refresh_from_db()
    voided.refresh_from_db()
    assert paid.status == Invoice.Status.PAID and voided.status == Invoice.Status.VOID
    # Applied from Books: nothing echoed back as a new push.
    assert not OutboxItem.objects.filter(entity="payments").exists()
