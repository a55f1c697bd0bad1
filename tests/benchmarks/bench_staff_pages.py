"""staff_pages: the Agent's home, ticket queue and quote page at 100,000 invoices and 50,000
clients; median milliseconds and queries per page (aim: at most 200 ms and 15 queries).

Rows are bulk-inserted (no services: only the pages are measured); a fifth of the invoices are
the agent's and open, so the home page's overdue list has real candidates to sort.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from apps.clients.models import Client
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.tickets.models import Ticket
from tests.benchmarks.report import count_queries, emit, median_ms
from tests.quotes.factories import DocServiceFactory

CLIENTS = 50_000
INVOICES = 100_000
TICKETS = 20_000
QUOTES = 20_000
BATCH = 5_000


def bulk_data(agent) -> Quote:
    clients = Client.objects.bulk_create(
        (Client(name=f"Client {n}", email=f"client{n}@example.com") for n in range(CLIENTS)),
        batch_size=BATCH,
    )
    day = datetime.date(2025, 1, 1)
    statuses = [Invoice.Status.SENT, Invoice.Status.PAID, Invoice.Status.OVERDUE]
    for offset in range(0, INVOICES, BATCH):
        Invoice.objects.bulk_create(
            Invoice(
                number=f"INV-{n + 1:06d}",
                client=clients[n % CLIENTS],
                status=statuses[n % len(statuses)],
                issue_date=day + datetime.timedelta(days=n % 600),
                due_date=day + datetime.timedelta(days=n % 600 + 30),
                total=Decimal("115.00"),
                balance=Decimal("115.00"),
                assignee=agent if n % 5 == 0 else None,
            )
            for n in range(offset, min(offset + BATCH, INVOICES))
        )
    Ticket.objects.bulk_create(
        (
            Ticket(
                subject=f"Request {n}",
                client=clients[n % CLIENTS],
                status=Ticket.Status.values[n % 4],
                priority=Ticket.Priority.values[n % 4],
                assignee=agent if n % 3 == 0 else None,
            )
            for n in range(TICKETS)
        ),
        batch_size=BATCH,
    )
    Quote.objects.bulk_create(
        (
            Quote(
                number=f"QB-{n + 1:06d}",  # the sequence hands out Q-…
                client=clients[n % CLIENTS],
                status=Quote.Status.SENT,
                issue_date=day,
                valid_until=day + datetime.timedelta(days=30 + n % 300),
                total=Decimal("115.00"),
                created_by=agent,
            )
            for n in range(QUOTES)
        ),
        batch_size=BATCH,
    )
    quote = quote_services.quote_create(created_by=agent, client=clients[0])
    for _ in range(10):
        quote_services.quote_line_add(quote=quote, service=DocServiceFactory(), quantity="2")
    return quote


@pytest.mark.django_db
def test_bench_staff_pages(agent_client, agent_user):
    quote = bulk_data(agent_user)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    pages = {"home": "/", "ticket_queue": "/tickets/", "quote_page": f"/quotes/{quote.pk}/"}
    figures = {}
    for name, url in pages.items():

        def open_page(url=url):
            response = agent_client.get(url)
            assert response.status_code == 200

        open_page()  # warm: sessions, content types
        with count_queries() as queries:
            open_page()
        figures[f"{name}_median_ms"] = median_ms(open_page, repeat=15)
        figures[f"{name}_queries"] = len(queries)
    emit(
        "staff_pages",
        invoices=INVOICES,
        clients=CLIENTS,
        tickets=TICKETS,
        quotes=QUOTES,
        **figures,
        database=connection.vendor,
    )
