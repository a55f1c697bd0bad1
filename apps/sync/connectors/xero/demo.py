"""The demo's Xero organisation with documents flowing: one sandbox organisation connected (its
tax rates read, its bank and sales accounts chosen; the other sandbox organisations' connections
switched off), then one new quote by the demo agent, sent, accepted, invoiced and part paid,
pushed to every connected book, so that a newcomer finds the same quote in the sandbox's Zoho
Books and Xero. Idempotent: the quote is made once (its notes say so).

Talks to the sandbox over HTTP through the adapters, like any vendor."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sync.engine import outbox
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.records import VendorError
from apps.sync.models import Binding, Connection, ConnectionStatus, Entity, Priority

from . import options
from .connect import connection_accounts_read
from .connector import XERO

DEMO_NOTE = "Demo: this quote was sent to both books by `make demo`."
DEMO_AGENT = "agent@syncdesk.test"


def _connect_one(report: list[str]) -> Connection | None:
    xero = list(Connection.objects.filter(provider=XERO.key).order_by("name", "pk"))
    if not xero:
        report.append("no Xero connection: nothing to show")
        return None
    connection, others = xero[0], xero[1:]
    for other in others:
        if other.status == ConnectionStatus.CONNECTED:
            other.status = ConnectionStatus.DISABLED
            other.save(update_fields=["status", "updated_at"])
            report.append(f"{other.name}: switched off (the demo shows one Xero organisation)")
    if not (connection.options or {}).get(options.BANK_ACCOUNT):
        accounts = adapter_for(connection, priority=Priority.USER).accounts()
        banks = options.bank_accounts(accounts)
        bank = next((a["Code"] for a in banks if a.get("Type") == "BANK"), "")
        connection_accounts_read(connection=connection, bank_account=bank)
    report.append(f"{connection.name}: {XERO.on_connect(connection)}")
    return connection


def _demo_quote(report: list[str]) -> Quote | None:
    existing = Quote.objects.filter(notes=DEMO_NOTE).first()
    if existing is not None:
        report.append(f"demo quote {existing.number} was made before")
        return existing
    agent = get_user_model().objects.filter(email=DEMO_AGENT).first()
    client = Client.objects.filter(active=True).exclude(email="").order_by("id").first()
    services = list(Service.objects.filter(active=True).exclude(sku=None).order_by("id")[:3])
    if agent is None or client is None or not services:
        report.append("no demo agent, client or services: no demo quote")
        return None
    quote = quote_services.quote_create(created_by=agent, client=client, notes=DEMO_NOTE)
    for number, service in enumerate(services, start=1):
        quote_services.quote_line_add(quote=quote, service=service, quantity=str(number))
    quote_services.quote_update(quote=quote, discount_value="10.00")
    quote = quote_services.quote_send(quote=quote, sent_by=agent)
    outbox.outbox_drain()
    quote = quote_services.quote_accept(quote=quote)
    invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=agent)
    invoice = invoice_services.invoice_send(invoice=invoice, sent_by=agent)
    outbox.outbox_drain()
    invoice_services.payment_record(
        invoice=invoice, amount=(invoice.total / 2).quantize(Decimal("0.01")), reference="Demo"
    )
    outbox.outbox_drain()
    return quote


def demo_xero_documents() -> list[str]:
    """Connect one organisation, push one quote's life to every book; what it did, by line."""
    report: list[str] = []
    try:
        connection = _connect_one(report)
        if connection is None:
            return report
        quote = _demo_quote(report)
    except (ApplicationError, ValidationError, VendorError) as error:
        return [*report, f"the demo documents did not reach the books: {error}"]
    if quote is None:
        return report
    outbox.outbox_drain()
    for binding in Binding.objects.filter(entity=Entity.QUOTES, object_id=quote.pk).select_related(
        "connection"
    ):
        report.append(
            f"quote {quote.number} in {binding.connection.name}: "
            f"{binding.remote_number or binding.remote_id or 'not yet'} ({binding.status})"
        )
    return report
