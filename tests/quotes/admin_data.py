"""Rows in bulk for admin list tests and the benchmark (no services: only the list is measured)."""

import datetime
from decimal import Decimal

from apps.clients.models import Client
from apps.invoices.models import CommissionBill, Invoice, Payment
from apps.quotes.models import Quote


def bulk_clients(count: int) -> list[Client]:
    return Client.objects.bulk_create(
        Client(name=f"Bulk client {index}", email=f"bulk{index}@example.com")
        for index in range(count)
    )


def bulk_quotes(count: int, *, start: int = 1, user=None) -> None:
    clients = bulk_clients(max(1, min(count, 50)))
    day = datetime.date(2026, 1, 1)
    Quote.objects.bulk_create(
        (
            Quote(
                number=f"Q-{start + index:06d}",
                client=clients[index % len(clients)],
                status=Quote.Status.SENT,
                issue_date=day + datetime.timedelta(days=index % 300),
                valid_until=day + datetime.timedelta(days=index % 300 + 30),
                total=Decimal("115.00"),
                created_by=user,
            )
            for index in range(count)
        ),
        batch_size=2000,
    )


def bulk_invoices(
    count: int, *, start: int = 1, assignee=None, batch_size: int = 5000
) -> list[Invoice]:
    clients = bulk_clients(max(1, min(count, 200)))
    day = datetime.date(2025, 1, 1)
    statuses = [choice for choice, _ in Invoice.Status.choices]
    created: list[Invoice] = []
    for offset in range(0, count, batch_size):
        created += Invoice.objects.bulk_create(
            (
                Invoice(
                    number=f"INV-{start + index:06d}",
                    client=clients[index % len(clients)],
                    status=statuses[index % len(statuses)],
                    issue_date=day + datetime.timedelta(days=index % 600),
                    due_date=day + datetime.timedelta(days=index % 600 + 30),
                    subtotal=Decimal("100.00"),
                    tax_total=Decimal("15.00"),
                    total=Decimal("115.00"),
                    balance=Decimal("115.00"),
                    assignee=assignee,
                )
                for index in range(offset, min(offset + batch_size, count))
            ),
            batch_size=batch_size,
        )
    return created


def bulk_payments_and_bills(count: int, *, agent, start: int = 500_000) -> None:
    invoices = bulk_invoices(count, start=start, assignee=agent)
    Payment.objects.bulk_create(
        Payment(invoice=invoice, amount=Decimal("115.00"), date=datetime.date(2026, 1, 2))
        for invoice in invoices
    )
    CommissionBill.objects.bulk_create(
        CommissionBill(invoice=invoice, agent=agent, rate=Decimal("5"), amount=Decimal("5.75"))
        for invoice in invoices
    )
