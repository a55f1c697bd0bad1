"""Invoice lifecycle through the services: every transition and refusal (nothing changes on a
refusal), payments and balances, commission on payment, overdue marking and reminders."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apps.invoices import services
from apps.invoices.models import (
    CommissionBill,
    Invoice,
    InvoiceLine,
    InvoiceReminder,
    Payment,
)
from apps.invoices.tasks import mark_overdue_invoices_task, send_reminders_task
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.tickets.services import ticket_open
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.quotes.factories import DocClientFactory, make_sent_quote, snapshot, today

pytestmark = pytest.mark.django_db

MODELS = (Invoice, InvoiceLine, Payment, CommissionBill, InvoiceReminder, Quote)


def refused(call, field: str, message: str) -> None:
    before = snapshot(*MODELS)
    with pytest.raises(ValidationError) as error:
        call()
    assert error.value.message_dict[field] == [message]
    assert snapshot(*MODELS) == before


def make_invoice(*, client=None, assignee=None, lines=1, **kwargs) -> Invoice:
    """A draft invoice; each line is 2 x 100.00 at 15% VAT (230.00)."""
    return services.invoice_create(
        client=client or DocClientFactory(),
        assignee=assignee,
        lines=[{"name": "Police clearance", "quantity": "2", "rate": "100", "tax_rate": "15"}]
        * lines,
        **kwargs,
    )


def make_sent_invoice(**kwargs) -> Invoice:
    return services.invoice_send(invoice=make_invoice(**kwargs))


def test_direct_create_numbers_and_totals(agent_user):
    invoice = make_invoice(created_by=agent_user, lines=2, discount_value="60")
    assert invoice.number == "INV-000001"
    assert invoice.status == Invoice.Status.DRAFT
    assert invoice.subtotal == Decimal("400.00")
    assert invoice.discount_total == Decimal("60.00")
    assert invoice.tax_total == Decimal("51.00")
    assert invoice.total == invoice.balance == Decimal("391.00")
    assert invoice.due_date == invoice.issue_date + datetime.timedelta(days=30)
    assert make_invoice().number == "INV-000002"


def test_create_refusals_change_nothing():
    client = DocClientFactory()
    refused(
        lambda: make_invoice(
            client=client, issue_date=today(), due_date=today() - datetime.timedelta(1)
        ),
        "due_date",
        "The due date cannot be before the issue date.",
    )
    refused(
        lambda: make_invoice(client=DocClientFactory(active=False, name="Gone Ltd")),
        "client",
        "The client 'Gone Ltd' is inactive.",
    )
    refused(
        lambda: make_invoice(client=client, discount_type="percent", discount_value="-5"),
        "discount_value",
        "Discount value cannot be negative.",
    )
    assert make_invoice(client=client).number == "INV-000001"


def test_from_accepted_quote_copies_lines_once(agent_user, admin_role_user):
    quote = make_sent_quote(user=agent_user, lines=2, discount_type="percent", discount_value="10")
    quote = quote_services.quote_accept(quote=quote)
    invoice = services.invoice_create_from_quote(quote=quote, created_by=admin_role_user)
    assert invoice.quote == quote
    assert invoice.client == quote.client
    assert invoice.created_by == admin_role_user
    assert invoice.assignee == agent_user  # who sold the quote, not who converted it
    assert invoice.total == quote.total == Decimal("414.00")
    assert [(line.name, line.amount) for line in invoice.lines.all()] == [
        (line.name, line.amount) for line in quote.lines.all()
    ]
    refused(
        lambda: services.invoice_create_from_quote(quote=quote),
        "quote",
        f"Quote {quote.number} is already invoiced as {invoice.number}.",
    )


def test_the_converter_is_not_credited_with_someone_elses_quote(agent_user, password):
    other = user_provision(email="agent3@example.com", password=password, role=AGENT)
    # A colleague's revision does not take the sale over either.
    original = make_sent_quote(user=agent_user)
    revision = quote_services.quote_revise(quote=original, created_by=other)
    revision = quote_services.quote_accept(quote=quote_services.quote_send(quote=revision))
    invoice = services.invoice_create_from_quote(quote=revision, created_by=other)
    assert invoice.assignee == agent_user
    # An explicit choice (an admin's) still wins.
    chosen = quote_services.quote_accept(quote=make_sent_quote(user=agent_user))
    assert services.invoice_create_from_quote(quote=chosen, assignee=other).assignee == other


def test_a_quote_without_a_creator_credits_its_tickets_assignee(agent_user, password):
    other = user_provision(email="agent3@example.com", password=password, role=AGENT)
    client = DocClientFactory()
    ticket = ticket_open(client=client, subject="Apostille for a degree", assignee=agent_user)
    from_ticket = make_sent_quote(client=client, ticket=ticket)
    assert from_ticket.created_by is None  # as an import or a sync makes it
    accepted = quote_services.quote_accept(quote=from_ticket)
    invoice = services.invoice_create_from_quote(quote=accepted, created_by=other)
    assert invoice.assignee == agent_user
    nobody = quote_services.quote_accept(quote=make_sent_quote())
    assert services.invoice_create_from_quote(quote=nobody, created_by=other).assignee is None


def test_from_quote_refused_unless_accepted():
    sent = make_sent_quote()
    refused(
        lambda: services.invoice_create_from_quote(quote=sent),
        "quote",
        f"Quote {sent.number} is sent; only an accepted quote can be invoiced.",
    )
    revision = quote_services.quote_revise(quote=sent)
    refused(
        lambda: services.invoice_create_from_quote(quote=sent),
        "quote",
        f"Quote {sent.number} was superseded by its revision {revision.number}; "
        f"it can no longer be invoiced (use {revision.number} instead).",
    )


def test_draft_lines_and_header_recompute_and_lock_after_sending():
    invoice = make_invoice()
    line = services.invoice_line_add(invoice=invoice, name="Courier", rate="150", tax_rate="0")
    invoice.refresh_from_db()
    assert invoice.total == invoice.balance == Decimal("380.00")
    services.invoice_line_update(line=line, quantity="2")
    services.invoice_update(invoice=invoice, discount_value=Decimal("30"))
    invoice.refresh_from_db()
    assert invoice.subtotal == Decimal("500.00")
    assert invoice.discount_total == Decimal("30.00")
    services.invoice_line_remove(line=line)
    invoice.refresh_from_db()
    assert invoice.subtotal == Decimal("200.00")
    invoice = services.invoice_send(invoice=invoice)
    message = f"Invoice {invoice.number} is sent; only a draft invoice can be edited."
    first = invoice.lines.first()
    refused(
        lambda: services.invoice_line_add(invoice=invoice, name="X", rate="1"), "status", message
    )
    refused(lambda: services.invoice_line_update(line=first, quantity="9"), "status", message)
    refused(lambda: services.invoice_line_remove(line=first), "status", message)
    refused(
        lambda: services.invoice_update(invoice=invoice, notes="x"),
        "status",
        f"Invoice {invoice.number} is sent; only a draft invoice can be changed.",
    )


def test_send_emails_and_refusals(django_capture_on_commit_callbacks):
    no_email = make_invoice(client=DocClientFactory(email="", name="Quiet Co"))
    no_lines = make_invoice(lines=0)
    with django_capture_on_commit_callbacks(execute=True):
        refused(
            lambda: services.invoice_send(invoice=no_email),
            "client",
            "The client 'Quiet Co' has no e-mail address to send to.",
        )
        refused(
            lambda: services.invoice_send(invoice=no_lines),
            "lines",
            f"Invoice {no_lines.number} has no lines; add one first.",
        )
        assert mail.outbox == []
        invoice = services.invoice_send(invoice=make_invoice())
    assert invoice.status == Invoice.Status.SENT
    assert [message.subject for message in mail.outbox] == [f"Invoice {invoice.number}"]
    assert "Balance due: 230.00 ZAR" in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"
    refused(
        lambda: services.invoice_send(invoice=invoice),
        "status",
        f"Invoice {invoice.number} is sent; only a draft invoice can be sent.",
    )


def test_partial_then_full_payment_and_commission(agent_user):
    agent_user.commission_rate = Decimal("5.00")
    agent_user.save()
    invoice = make_sent_invoice(assignee=agent_user)
    services.payment_record(invoice=invoice, amount="100.00", reference="EFT-1")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        Invoice.Status.PARTIALLY_PAID,
        Decimal("100.00"),
        Decimal("130.00"),
    )
    assert not CommissionBill.objects.exists()
    services.payment_record(invoice=invoice, amount="130.00", mode=Payment.Mode.CASH)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (Invoice.Status.PAID, Decimal("0.00"))
    assert invoice.paid_at is not None
    bill = CommissionBill.objects.get()
    assert (bill.agent, bill.invoice, bill.rate, bill.amount) == (
        agent_user,
        invoice,
        Decimal("5.00"),
        Decimal("10.00"),  # 5% of the 200.00 before tax, not of the 230.00 total
    )
    assert bill.status == CommissionBill.Status.PENDING
    services.commission_bill_mark_paid(bill=bill)
    bill.refresh_from_db()
    assert bill.status == CommissionBill.Status.PAID
    with pytest.raises(ValidationError) as error:
        services.commission_bill_mark_paid(bill=bill)
    assert error.value.message_dict["status"] == [f"Commission bill #{bill.pk} is already paid."]


def test_commission_is_on_the_discounted_subtotal_before_tax(agent_user):
    agent_user.commission_rate = Decimal("7.50")
    agent_user.save()
    # Two lines of 200.00 at 15% VAT, 60.00 off: 340.00 before tax, 391.00 with it.
    invoice = make_sent_invoice(assignee=agent_user, lines=2, discount_value="60")
    assert (invoice.subtotal, invoice.discount_total, invoice.total) == (
        Decimal("400.00"),
        Decimal("60.00"),
        Decimal("391.00"),
    )
    services.payment_record(invoice=invoice, amount="391.00")
    # 7.5% of 340.00 = 25.50 (of the total it would have been 29.33).
    assert CommissionBill.objects.get().amount == Decimal("25.50")


def test_no_commission_without_assignee_or_rate(agent_user):
    paid = make_sent_invoice()
    services.payment_record(invoice=paid, amount="230.00")
    zero_rate = make_sent_invoice(assignee=agent_user)
    services.payment_record(invoice=zero_rate, amount="230.00")
    assert not CommissionBill.objects.exists()


def test_payment_refusals_change_nothing():
    draft = make_invoice()
    refused(
        lambda: services.payment_record(invoice=draft, amount="10"),
        "invoice",
        f"Invoice {draft.number} is draft; payments are recorded only on a sent, partially paid "
        "or overdue invoice.",
    )
    invoice = make_sent_invoice()
    refused(
        lambda: services.payment_record(invoice=invoice, amount="230.01"),
        "amount",
        "A payment of 230.01 ZAR exceeds the balance due of 230.00 ZAR on invoice "
        f"{invoice.number}.",
    )
    refused(
        lambda: services.payment_record(invoice=invoice, amount="0"),
        "amount",
        "A payment must be more than zero.",
    )
    refused(
        lambda: services.payment_record(invoice=invoice, amount="1.005"),
        "amount",
        "ZAR amounts have at most two places.",
    )
    refused(
        lambda: services.payment_record(invoice=invoice, amount="1", mode="bitcoin"),
        "mode",
        "Unknown payment mode 'bitcoin'.",
    )
    refused(
        lambda: services.payment_record(
            invoice=invoice, amount="1", date=today() + datetime.timedelta(days=1)
        ),
        "date",
        "A payment cannot be dated in the future.",
    )


def test_void_refused_once_paid_and_allowed_before():
    invoice = make_sent_invoice()
    services.payment_record(invoice=invoice, amount="1.00")
    refused(
        lambda: services.invoice_void(invoice=invoice),
        "status",
        f"Invoice {invoice.number} has payments recorded; it cannot be voided (credit it instead).",
    )
    other = services.invoice_void(invoice=make_sent_invoice())
    assert (other.status, other.balance) == (Invoice.Status.VOID, Decimal("0"))
    refused(
        lambda: services.invoice_void(invoice=other),
        "status",
        f"Invoice {other.number} is already void.",
    )
    refused(
        lambda: services.payment_record(invoice=other, amount="1"),
        "invoice",
        f"Invoice {other.number} is void; payments are recorded only on a sent, partially paid "
        "or overdue invoice.",
    )


def test_mark_overdue_and_daily_task():
    past = today() - datetime.timedelta(days=1)
    due = make_sent_invoice(issue_date=past - datetime.timedelta(days=30), due_date=past)
    partial = make_sent_invoice(issue_date=past - datetime.timedelta(days=30), due_date=past)
    services.payment_record(invoice=partial, amount="30")
    current = make_sent_invoice()
    draft = make_invoice(issue_date=past - datetime.timedelta(days=30), due_date=past)
    refused(
        lambda: services.invoice_mark_overdue(invoice=current),
        "due_date",
        f"Invoice {current.number} is due on {current.due_date:%Y-%m-%d}; not yet.",
    )
    refused(
        lambda: services.invoice_mark_overdue(invoice=draft),
        "status",
        f"Invoice {draft.number} is draft; only a sent or partially paid invoice can be "
        "marked overdue.",
    )
    assert mark_overdue_invoices_task() == 2
    assert mark_overdue_invoices_task() == 0
    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert statuses[due.pk] == statuses[partial.pk] == Invoice.Status.OVERDUE
    assert statuses[current.pk] == Invoice.Status.SENT
    # Paying an overdue invoice in part keeps it overdue; in full makes it paid.
    services.payment_record(invoice=due, amount="100")
    due.refresh_from_db()
    assert due.status == Invoice.Status.OVERDUE
    services.payment_record(invoice=due, amount="130")
    due.refresh_from_db()
    assert due.status == Invoice.Status.PAID


def test_reminders_go_out_at_7_14_and_30_days_each_exactly_once(
    django_capture_on_commit_callbacks,
):
    start = today() - datetime.timedelta(days=45)
    due_date = start + datetime.timedelta(days=5)
    invoice = make_sent_invoice(issue_date=start, due_date=due_date)
    quiet = make_sent_invoice(issue_date=start, due_date=due_date)
    services.payment_record(invoice=quiet, amount="230.00")  # paid: never reminded
    services.invoice_mark_overdue(invoice=invoice, today=due_date + datetime.timedelta(days=1))
    sent_on = {}
    for offset in range(0, 41):
        day = due_date + datetime.timedelta(days=offset)
        for _run in range(2):  # the daily task may run twice (a retry, a second worker)
            before = len(mail.outbox)
            with django_capture_on_commit_callbacks(execute=True):
                services.invoice_reminders_send_due(today=day)
            for message in mail.outbox[before:]:
                sent_on[message.subject] = offset
    number = invoice.number
    assert sent_on == {
        f"Reminder: invoice {number} is 7 days overdue": 7,
        f"Reminder: invoice {number} is 14 days overdue": 14,
        f"Reminder: invoice {number} is 30 days overdue": 30,
    }
    assert len(mail.outbox) == 3
    assert sorted(invoice.reminders.values_list("days_overdue", flat=True)) == [7, 14, 30]
    assert all(message.alternatives for message in mail.outbox)


def test_reminder_after_a_gap_sends_only_the_latest_stage(django_capture_on_commit_callbacks):
    due_date = today() - datetime.timedelta(days=20)
    invoice = make_sent_invoice(issue_date=due_date - datetime.timedelta(days=1), due_date=due_date)
    mark_overdue_invoices_task()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_reminders_task() == 1
        assert send_reminders_task() == 0
    assert [message.subject for message in mail.outbox] == [
        f"Reminder: invoice {invoice.number} is 14 days overdue"
    ]


def test_reminder_stage_is_unique_in_the_database():
    from django.db import IntegrityError, transaction

    invoice = make_sent_invoice()
    InvoiceReminder.objects.create(invoice=invoice, days_overdue=7, sent_on=today(), email="a@b.c")
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceReminder.objects.create(
            invoice=invoice, days_overdue=7, sent_on=today(), email="a@b.c"
        )


def test_one_invoice_per_quote_in_the_database():
    from django.db import IntegrityError, transaction

    quote = quote_services.quote_accept(quote=make_sent_quote())
    services.invoice_create_from_quote(quote=quote)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            number="INV-999999",
            client=quote.client,
            quote=quote,
            issue_date=today(),
            due_date=today(),
        )
