"""Query budgets: every list endpoint costs the same number of queries for 3 rows as for 13, each
row bound to a connection (its sync state comes in one query per page)."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from apps.catalog.models import TaxRate
from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.sync.models import Binding, BindingStatus, Entity
from apps.tickets import services as ticket_services
from tests.benchmarks.report import count_queries
from tests.catalog.factories import TaxRateFactory
from tests.quotes.factories import DocClientFactory, DocServiceFactory, make_quote
from tests.sync.factories import make_zoho_books

pytestmark = pytest.mark.django_db


def bind(connection, obj, entity) -> None:
    # The outbox's receivers may have made a pending binding already.
    Binding.objects.update_or_create(
        connection=connection,
        entity=entity,
        object_id=obj.pk,
        defaults={
            "content_type": ContentType.objects.get_for_model(obj),
            "remote_id": f"r-{type(obj).__name__}-{obj.pk}",
            "status": BindingStatus.SYNCED,
        },
    )


def add_rows(count: int, *, user, connection, ticket) -> None:
    for _ in range(count):
        client = DocClientFactory()
        bind(connection, client, Entity.CLIENTS)
        DocServiceFactory()
        TaxRateFactory(name=f"Rate {TaxRate.objects.count()}")
        ticket_services.ticket_open(client=client, subject="Help", body="Hello", created_by=user)
        ticket_services.ticket_add_note(ticket=ticket, author=user, body="note")
        quote = make_quote(user=user, client=client)
        bind(connection, quote, Entity.QUOTES)
        quote = quote_services.quote_send(quote=quote)
        quote = quote_services.quote_accept(quote=quote)
        invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=user)
        invoice = invoice_services.invoice_send(invoice=invoice)
        bind(connection, invoice, Entity.INVOICES)
        payment = invoice_services.payment_record(invoice=invoice, amount=Decimal("10.00"))
        bind(connection, payment, Entity.PAYMENTS)


LISTS = [
    "/api/v1/clients/",
    "/api/v1/services/",
    "/api/v1/tax-rates/",
    "/api/v1/tickets/",
    "/api/v1/tickets/{ticket}/messages/",
    "/api/v1/quotes/",
    "/api/v1/invoices/",
    "/api/v1/invoices/{invoice}/payments/",
    "/api/v1/payments/",
]


@pytest.mark.parametrize("path", LISTS)
def test_list_queries_do_not_grow_with_rows(path, admin_api, admin_role_user):
    connection = make_zoho_books()
    client = DocClientFactory()
    ticket = ticket_services.ticket_open(
        client=client, subject="Thread", created_by=admin_role_user
    )
    add_rows(3, user=admin_role_user, connection=connection, ticket=ticket)
    from apps.invoices.models import Invoice

    invoice = Invoice.objects.order_by("id").first()
    url = path.format(ticket=ticket.pk, invoice=invoice.pk) + "?page_size=200"

    def measure() -> tuple[int, int]:
        with count_queries() as queries:
            response = admin_api.get(url)
        assert response.status_code == 200, response.content
        return len(queries), len(response.json()["results"])

    measure()  # the token's first use of the minute writes last_used_at; not a per-row cost
    few_queries, few_rows = measure()
    add_rows(10, user=admin_role_user, connection=connection, ticket=ticket)
    # A second payment on the first invoice, so its payment list grows too.
    invoice_services.payment_record(invoice=invoice, amount=Decimal("1.00"))
    many_queries, many_rows = measure()
    assert many_rows > few_rows
    assert many_queries == few_queries, (few_queries, many_queries)
