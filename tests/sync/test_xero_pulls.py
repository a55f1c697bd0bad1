"""What changes in Xero comes back by the pull (If-Modified-Since, the largest page): a quote
accepted or declined there, a payment made or an invoice voided there; items not sold are not
active services, and an item's sales TaxType becomes the local tax rate of its percentage, made
from /TaxRates when there is none. Against the sandbox over real HTTP."""

from decimal import Decimal

import pytest
from django.db import transaction

from apps.catalog.models import Service, TaxRate
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sandbox.xero import documents as xero_documents
from apps.sandbox.xero import services as xero_services
from apps.sandbox.xero.models import XeroInvoice, XeroQuote, XeroTaxRate
from apps.sync.models import OutboxItem, SyncLog
from tests.quotes.factories import DocClientFactory
from tests.sync.sandbox import sync
from tests.sync.test_xero_flows import connect_xero, drain_until_settled, three_line_quote

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def xero(live_server, settings):
    # Webhooks off: what comes back here comes by the pull alone.
    return connect_xero(live_server, settings, webhooks=False)


def pull(connection, entity: str) -> dict:
    summary = sync(
        "run", "--connection", connection.name, "--entity", entity, "--direction", "pull"
    )
    assert summary["ok"], summary
    return summary["runs"][0]


def test_quote_statuses_and_invoice_payments_and_voids_come_back(xero, agent_user):
    connection, tenant = xero
    TaxRate.objects.get_or_create(name="VAT", defaults={"rate": Decimal("15.000")})
    accepted = quote_services.quote_send(quote=three_line_quote(agent_user))
    declined = quote_services.quote_send(quote=three_line_quote(agent_user, discount="0"))
    invoiced = quote_services.quote_send(quote=three_line_quote(agent_user, discount="1.00"))
    client = DocClientFactory()
    lines = [{"name": "Translation", "quantity": "2", "rate": "150.00", "tax_rate": "15"}]
    paid = invoice_services.invoice_send(
        invoice=invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    )
    voided = invoice_services.invoice_send(
        invoice=invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    )
    drain_until_settled()
    pull(connection, "quotes")
    pull(connection, "invoices")  # the cursor is now past everything we made

    with transaction.atomic():
        # The third is accepted, then converted to an invoice, in Xero.
        moves = [
            (accepted, ["ACCEPTED"]),
            (declined, ["DECLINED"]),
            (invoiced, ["ACCEPTED", "INVOICED"]),
        ]
        for quote, statuses in moves:
            remote = XeroQuote.objects.get(tenant=tenant, quote_number=quote.number)
            for status in statuses:
                remote = xero_documents.quote_save(
                    tenant=tenant, data={"Status": status}, existing=remote
                )
        remote_paid = XeroInvoice.objects.get(tenant=tenant, invoice_number=paid.number)
        xero_documents.payment_create(
            tenant=tenant,
            data={
                "Invoice": {"InvoiceID": str(remote_paid.invoice_id)},
                "Account": {"Code": "090"},
                "Amount": str(paid.total),
            },
        )
        remote_void = XeroInvoice.objects.get(tenant=tenant, invoice_number=voided.number)
        xero_documents.invoice_save(tenant=tenant, data={"Status": "VOIDED"}, existing=remote_void)

    quotes_run = pull(connection, "quotes")
    invoices_run = pull(connection, "invoices")
    assert (quotes_run["updated"], invoices_run["updated"]) == (3, 2)
    for document in (accepted, declined, invoiced, paid, voided):
        document.refresh_from_db()
    assert (accepted.status, declined.status) == (Quote.Status.ACCEPTED, Quote.Status.REJECTED)
    assert invoiced.status == Quote.Status.ACCEPTED
    assert (paid.status, voided.status) == (Invoice.Status.PAID, Invoice.Status.VOID)
    # Applied from Xero: nothing goes back.
    assert not OutboxItem.objects.filter(status="pending").exists()
    assert not OutboxItem.objects.filter(entity="payments").exists()
    # Asked by If-Modified-Since, a thousand at a time.
    call = SyncLog.objects.filter(url__contains="/Invoices?", method="GET").order_by("-id")[0]
    assert "pageSize=1000" in call.url
    again = pull(connection, "invoices")
    assert again["updated"] == 0


def test_items_not_sold_inactive_and_their_tax_type_a_local_rate(xero):
    connection, tenant = xero
    with transaction.atomic():
        XeroTaxRate.objects.create(
            tenant=tenant, tax_type="TOURISM", name="Tourism levy", rate=Decimal("9.0000")
        )
        xero_services.item_save(
            tenant=tenant,
            data={
                "Code": "LEVY-1",
                "Name": "Guided tour",
                "IsSold": True,
                "SalesDetails": {"UnitPrice": 200, "AccountCode": "200", "TaxType": "TOURISM"},
            },
        )
        xero_services.item_save(
            tenant=tenant,
            data={"Code": "BUY-ONLY", "Name": "Paper", "IsSold": False, "IsPurchased": True},
        )
    assert not TaxRate.objects.filter(rate=Decimal("9")).exists()
    pull(connection, "services")
    tour = Service.objects.get(sku="LEVY-1")
    assert tour.tax_rate.rate == Decimal("9.000") and tour.tax_rate.name == "Tourism levy"
    assert not Service.objects.filter(sku="BUY-ONLY").exists()
