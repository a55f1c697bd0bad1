"""Demo quotes and invoices for `make demo`, built through the services on the demo clients,
catalogue and tickets: quotes in every state, invoices paid, partly paid, overdue and void.

Each scenario is tagged in its notes, so a second run finds it and adds nothing.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.catalog.demo import load_demo_catalog
from apps.catalog.models import Service
from apps.clients.demo import load_demo_clients
from apps.clients.models import Client
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.tickets.demo import load_demo_tickets
from apps.tickets.models import Ticket
from apps.users.models import User
from apps.users.roles import AGENT

MARK = "Demo scenario"
DEMO_COMMISSION_RATE = Decimal("5.00")
TERMS = "Prices include VAT where shown. Government fees are passed on at cost."

# (key, final state, days ago issued, lines as (service index, quantity), discount)
QUOTES = [
    ("q-draft-1", "draft", 1, [(0, 1), (5, 1)], ("amount", "0")),
    ("q-draft-2", "draft", 2, [(3, 2)], ("percent", "10")),
    ("q-draft-3", "draft", 0, [(8, 1), (12, 1), (20, 1)], ("amount", "50")),
    ("q-sent-1", "sent", 3, [(1, 1)], ("amount", "0")),
    ("q-sent-2", "sent", 5, [(2, 3), (30, 1)], ("percent", "5")),
    ("q-sent-3", "sent", 7, [(15, 1)], ("amount", "0")),
    ("q-accepted-1", "accepted", 9, [(4, 1), (9, 1)], ("amount", "0")),
    ("q-accepted-2", "accepted", 12, [(6, 2)], ("percent", "7.5")),
    ("q-rejected-1", "rejected", 15, [(10, 1)], ("amount", "0")),
    ("q-rejected-2", "rejected", 20, [(11, 4)], ("amount", "100")),
    ("q-expired-1", "expired", 50, [(13, 1)], ("amount", "0")),
    ("q-expired-2", "expired", 60, [(14, 2), (25, 1)], ("amount", "0")),
    ("q-revised-1", "revised", 8, [(16, 1), (17, 1)], ("amount", "0")),
]

# (key, final state, days ago issued, payment terms in days, lines, discount, from quote?)
INVOICES = [
    ("i-paid-1", "paid", 40, 30, [(0, 1), (1, 1)], ("amount", "0"), True),
    ("i-paid-2", "paid", 25, 14, [(7, 2)], ("percent", "10"), False),
    ("i-paid-3", "paid", 10, 30, [(18, 1)], ("amount", "0"), False),
    ("i-partly-1", "partially_paid", 12, 30, [(2, 1), (3, 1)], ("amount", "0"), True),
    ("i-partly-2", "partially_paid", 5, 14, [(19, 3)], ("amount", "0"), False),
    ("i-overdue-1", "overdue", 45, 14, [(5, 1), (6, 1)], ("amount", "0"), True),
    ("i-overdue-2", "overdue", 70, 30, [(21, 2)], ("amount", "0"), False),
    ("i-overdue-partly", "overdue_partly", 50, 14, [(22, 1), (23, 1)], ("amount", "0"), False),
    ("i-sent-1", "sent", 2, 30, [(24, 1)], ("amount", "0"), True),
    ("i-draft-1", "draft", 0, 30, [(26, 1)], ("amount", "0"), False),
    ("i-void-1", "void", 20, 30, [(27, 1)], ("amount", "0"), False),
]


def _tag(key: str) -> str:
    return f"{MARK} {key}."


def _lines(catalogue: list[Service], specs) -> list[dict]:
    return [
        {"service": catalogue[index % len(catalogue)], "quantity": Decimal(quantity)}
        for index, quantity in specs
    ]


def _backdate_quote(quote: Quote, *, days_ago: int, valid_days: int = 30) -> None:
    """Demo history happened in the past; a queryset update, so no history row claims it."""
    issued = timezone.localdate() - datetime.timedelta(days=days_ago)
    Quote.objects.filter(pk=quote.pk).update(
        issue_date=issued, valid_until=issued + datetime.timedelta(days=valid_days)
    )


def _build_quote(key, state, days_ago, specs, discount, *, client, catalogue, user, ticket=None):
    discount_type, discount_value = discount
    quote = quote_services.quote_create(
        created_by=user,
        client=client,
        ticket=ticket,
        discount_type=discount_type,
        discount_value=discount_value,
        notes=_tag(key),
        terms=TERMS,
        lines=_lines(catalogue, specs),
    )
    if state == "draft":
        return quote
    quote = quote_services.quote_send(quote=quote, sent_by=user)
    if state == "accepted":
        quote = quote_services.quote_accept(quote=quote)
    elif state == "rejected":
        quote = quote_services.quote_reject(quote=quote)
    elif state == "revised":
        quote_services.quote_revise(quote=quote, created_by=user)
    elif state == "expired":
        _backdate_quote(quote, days_ago=days_ago, valid_days=14)
        quote = quote_services.quote_expire(quote=quote)
    if state != "expired":
        _backdate_quote(quote, days_ago=days_ago, valid_days=30 + days_ago)
    return quote


def _demo_agents() -> list[User]:
    agents = list(User.objects.filter(groups__name=AGENT, is_active=True).order_by("email"))
    # Demo agents earn a commission, so paid invoices show their commission bills.
    User.objects.filter(pk__in=[agent.pk for agent in agents], commission_rate=0).update(
        commission_rate=DEMO_COMMISSION_RATE
    )
    return list(User.objects.filter(pk__in=[agent.pk for agent in agents]).order_by("email"))


def _build_invoice(spec, *, client, catalogue, agent, user):
    key, state, days_ago, terms_days, specs, discount, from_quote = spec
    today = timezone.localdate()
    issued = today - datetime.timedelta(days=days_ago)
    due = issued + datetime.timedelta(days=terms_days)
    if from_quote:
        quote = _build_quote(
            f"{key}-quote", "accepted", days_ago + 3, specs, discount,
            client=client, catalogue=catalogue, user=user,
        )  # fmt: skip
        invoice = invoice_services.invoice_create_from_quote(
            quote=quote, created_by=user, assignee=agent, due_date=max(due, today)
        )
        invoice_services.invoice_update(invoice=invoice, notes=_tag(key))
    else:
        invoice = invoice_services.invoice_create(
            client=client,
            created_by=user,
            assignee=agent,
            issue_date=issued,
            due_date=due,
            discount_type=discount[0],
            discount_value=discount[1],
            notes=_tag(key),
            terms=TERMS,
            lines=_lines(catalogue, specs),
        )
    if state == "draft":
        return invoice
    invoice = invoice_services.invoice_send(invoice=invoice, sent_by=user)
    if from_quote:
        Invoice.objects.filter(pk=invoice.pk).update(issue_date=issued, due_date=due)
        invoice.refresh_from_db()
    if state == "void":
        return invoice_services.invoice_void(invoice=invoice)
    if state in ("overdue", "overdue_partly"):
        invoice_services.invoice_mark_overdue(invoice=invoice)
    paid_on = min(issued + datetime.timedelta(days=3), today)
    if state in ("partially_paid", "overdue_partly"):
        half = (invoice.total / 2).quantize(Decimal("0.01"))
        invoice_services.payment_record(
            invoice=invoice, amount=half, date=paid_on, reference=f"EFT {invoice.number}/1",
            recorded_by=user,
        )  # fmt: skip
    elif state == "paid":
        invoice_services.payment_record(
            invoice=invoice, amount=invoice.total, date=paid_on,
            reference=f"EFT {invoice.number}", recorded_by=user,
        )  # fmt: skip
    invoice.refresh_from_db()
    return invoice


@transaction.atomic
def load_demo_documents(*, actor=None) -> dict[str, int]:
    """Clients, catalogue and tickets first (their loaders are idempotent), then our scenarios."""
    load_demo_clients(actor=actor)
    load_demo_catalog(actor=actor)
    load_demo_tickets(actor=actor)
    clients = list(Client.objects.filter(active=True).exclude(email="").order_by("id"))
    catalogue = list(Service.objects.filter(active=True).order_by("sku", "id"))
    if not clients or not catalogue:
        return {"quotes": 0, "invoices": 0}
    agents = _demo_agents()
    user = actor or (agents[0] if agents else None)
    tickets = list(
        Ticket.objects.filter(client__in=clients[:20]).select_related("client").order_by("id")[:3]
    )
    created_quotes = created_invoices = 0
    for position, (key, state, days_ago, specs, discount) in enumerate(QUOTES):
        if Quote.objects.filter(notes=_tag(key)).exists():
            continue
        ticket = tickets[position % len(tickets)] if tickets and position % 4 == 0 else None
        client = ticket.client if ticket else clients[position % len(clients)]
        _build_quote(
            key, state, days_ago, specs, discount,
            client=client, catalogue=catalogue, user=user, ticket=ticket,
        )  # fmt: skip
        created_quotes += 1
    for position, spec in enumerate(INVOICES):
        if Invoice.objects.filter(notes=_tag(spec[0])).exists():
            continue
        agent = agents[position % len(agents)] if agents else None
        client = clients[(position * 3 + 7) % len(clients)]
        _build_invoice(spec, client=client, catalogue=catalogue, agent=agent, user=user)
        created_invoices += 1
    return {"quotes": created_quotes, "invoices": created_invoices}
