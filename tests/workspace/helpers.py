"""Builders for the staff page tests: documents made through the domain's services."""

from decimal import Decimal

from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.tickets import services as ticket_services
from tests.quotes.factories import DocClientFactory, DocServiceFactory


def make_invoice(*, user, client=None, paid: Decimal | None = None, send: bool = True):
    """An invoice from an accepted quote: two lines of 450.00 + 15% VAT, 1,035.00 in all."""
    client = client or DocClientFactory()
    quote = quote_services.quote_create(created_by=user, client=client)
    for _ in range(2):
        quote_services.quote_line_add(quote=quote, service=DocServiceFactory(), quantity="1")
    quote = quote_services.quote_send(quote=quote)
    quote = quote_services.quote_accept(quote=quote)
    invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=user)
    if send:
        invoice = invoice_services.invoice_send(invoice=invoice)
    if paid:
        invoice_services.payment_record(invoice=invoice, amount=paid, recorded_by=user)
    invoice.refresh_from_db()
    return invoice


def make_ticket(*, user, client=None, messages: int = 1):
    client = client or DocClientFactory()
    ticket = ticket_services.ticket_open(
        client=client,
        subject="Apostille for Spain",
        body="Please quote",
        assignee=user,
        created_by=user,
    )
    for index in range(messages - 1):
        ticket_services.ticket_receive_message(ticket=ticket, body=f"Follow-up {index}")
    return ticket
