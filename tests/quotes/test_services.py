"""Quote lifecycle through the services: every transition, every refusal (and that it changed
nothing), the copy of a service into a line, revisions, expiry and the e-mail to the client."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apps.quotes import services
from apps.quotes.models import Quote, QuoteLine
from apps.quotes.tasks import expire_quotes_task
from tests.quotes.factories import (
    DocClientFactory,
    DocServiceFactory,
    make_quote,
    make_sent_quote,
    snapshot,
    today,
)

pytestmark = pytest.mark.django_db


def refused(call, field: str, message: str) -> None:
    """`call` raises a ValidationError on `field` with `message`, and no row changes."""
    before = snapshot(Quote, QuoteLine)
    with pytest.raises(ValidationError) as error:
        call()
    assert error.value.message_dict[field] == [message]
    assert snapshot(Quote, QuoteLine) == before


def test_create_takes_the_next_number_and_defaults(agent_user, settings):
    first = make_quote(user=agent_user, lines=0)
    second = make_quote(user=agent_user, lines=0)
    assert first.number == "Q-000001"
    assert second.number == "Q-000002"
    assert first.status == Quote.Status.DRAFT
    assert first.currency == settings.DEFAULT_CURRENCY
    assert first.valid_until == first.issue_date + datetime.timedelta(days=30)
    assert first.created_by == agent_user
    assert first.history.count() == 1


def test_create_with_lines_computes_totals():
    quote = services.quote_create(
        created_by=None,
        client=DocClientFactory(),
        discount_type="percent",
        discount_value="10",
        lines=[
            {"name": "Apostille", "quantity": "2", "rate": "100", "tax_rate": "15"},
            {"name": "Courier", "quantity": "1", "rate": "50", "tax_rate": "0"},
        ],
    )
    assert [line.position for line in quote.lines.all()] == [1, 2]
    assert quote.subtotal == Decimal("250.00")
    assert quote.discount_total == Decimal("25.00")
    assert quote.tax_total == Decimal("27.00")  # (200 - 20) x 15%
    assert quote.total == Decimal("252.00")


def test_create_refusals_change_nothing():
    client = DocClientFactory()
    refused(lambda: services.quote_create(created_by=None), "client", "A quote needs a client.")
    inactive = DocClientFactory(active=False)
    refused(
        lambda: services.quote_create(created_by=None, client=inactive),
        "client",
        f"The client '{inactive}' is inactive.",
    )
    refused(
        lambda: services.quote_create(
            created_by=None,
            client=client,
            issue_date=today(),
            valid_until=today() - datetime.timedelta(days=1),
        ),
        "valid_until",
        "Valid until cannot be before the issue date.",
    )
    refused(
        lambda: services.quote_create(created_by=None, client=client, currency="KWD"),
        "currency",
        "KWD has three decimal places; Syncdesk stores money to two.",
    )
    refused(
        lambda: services.quote_create(created_by=None, client=client, currency="RANDS"),
        "currency",
        "'RANDS' is not a three-letter currency code.",
    )
    refused(
        lambda: services.quote_create(
            created_by=None, client=client, discount_type="percent", discount_value="101"
        ),
        "discount_value",
        "A percentage discount cannot exceed 100.",
    )
    refused(
        lambda: services.quote_create(
            created_by=None,
            client=client,
            discount_value="500",
            lines=[{"name": "Apostille", "rate": "100"}],
        ),
        "discount_value",
        "The discount (500.00) cannot exceed the subtotal (100.00).",
    )
    # A refused create does not use up a number.
    assert services.quote_create(created_by=None, client=client).number == "Q-000001"


def test_line_copies_the_service_and_a_later_price_change_does_not_touch_it():
    service = DocServiceFactory(rate=Decimal("450.00"))
    quote = make_quote(lines=0)
    line = services.quote_line_add(quote=quote, service=service, quantity="2")
    assert (line.name, line.rate, line.tax_rate) == (service.name, Decimal("450"), Decimal("15"))
    assert line.amount == Decimal("900.00")
    assert line.tax_amount == Decimal("135.00")
    service.rate = Decimal("999.00")
    service.save()
    line.refresh_from_db()
    assert line.rate == Decimal("450.000")
    quote.refresh_from_db()
    assert quote.total == Decimal("1035.00")


def test_line_update_and_remove_recompute_totals():
    quote = make_quote(lines=2)
    assert quote.total == Decimal("460.00")
    first, second = quote.lines.all()
    services.quote_line_update(line=first, quantity="3")
    quote.refresh_from_db()
    assert quote.subtotal == Decimal("500.00")
    assert quote.total == Decimal("575.00")
    services.quote_line_remove(line=second)
    quote.refresh_from_db()
    assert quote.total == Decimal("345.00")
    assert quote.lines.count() == 1


def test_line_refusals_change_nothing():
    quote = make_quote(lines=1)
    line = quote.lines.get()
    refused(
        lambda: services.quote_line_add(quote=quote, rate="10"),
        "name",
        "A line needs a name (or a service to copy it from).",
    )
    refused(
        lambda: services.quote_line_add(quote=quote, name="X"),
        "rate",
        "A line needs a rate (or a service to copy it from).",
    )
    refused(
        lambda: services.quote_line_add(quote=quote, name="X", rate="1", quantity="0"),
        "quantity",
        "Quantity must be more than zero.",
    )
    refused(
        lambda: services.quote_line_add(quote=quote, name="X", rate="-1"),
        "rate",
        "Rate cannot be negative.",
    )
    refused(
        lambda: services.quote_line_update(line=line, rate="1.2345"),
        "rate",
        "At most three decimal places are allowed.",
    )
    retired = DocServiceFactory(active=False)
    refused(
        lambda: services.quote_line_add(quote=quote, service=retired),
        "service",
        f"The service '{retired}' is inactive.",
    )
    quote.discount_value = Decimal("200")
    services.quote_update(quote=quote, discount_value=Decimal("200"))
    refused(
        lambda: services.quote_line_remove(line=line),
        "discount_value",
        "The discount (200.00) cannot exceed the subtotal (0.00).",
    )


def test_lines_of_a_sent_quote_are_locked():
    quote = make_sent_quote()
    line = quote.lines.get()
    message = f"Quote {quote.number} is sent; only a draft quote can be edited."
    refused(lambda: services.quote_line_add(quote=quote, name="X", rate="1"), "status", message)
    refused(lambda: services.quote_line_update(line=line, quantity="5"), "status", message)
    refused(lambda: services.quote_line_remove(line=line), "status", message)
    refused(
        lambda: services.quote_update(quote=quote, notes="changed"),
        "status",
        f"Quote {quote.number} is sent; only a draft quote can be changed.",
    )


def test_send_emails_the_client_plain_text_and_html(django_capture_on_commit_callbacks):
    quote = make_quote(lines=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.quote_send(quote=quote)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT
    assert quote.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [quote.client.email]
    assert message.subject == f"Quote {quote.number}"
    assert "Total: 230.00 ZAR" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f"<strong>{quote.number}</strong>" in html
    assert "230.00" in html


def test_send_refusals_change_nothing_and_send_no_mail(django_capture_on_commit_callbacks):
    no_email = make_quote(client=DocClientFactory(email=""))
    no_lines = make_quote(lines=0)
    past = make_quote(
        issue_date=today() - datetime.timedelta(days=40),
        valid_until=today() - datetime.timedelta(days=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        refused(
            lambda: services.quote_send(quote=no_email),
            "client",
            f"The client '{no_email.client}' has no e-mail address to send the quote to.",
        )
        refused(
            lambda: services.quote_send(quote=no_lines),
            "lines",
            f"Quote {no_lines.number} has no lines; add one first.",
        )
        refused(
            lambda: services.quote_send(quote=past),
            "valid_until",
            f"Valid until ({past.valid_until:%Y-%m-%d}) is in the past.",
        )
    assert mail.outbox == []


def test_accept_and_reject_only_from_sent():
    draft = make_quote()
    refused(
        lambda: services.quote_accept(quote=draft),
        "status",
        f"Quote {draft.number} is draft; only a sent quote can be accepted.",
    )
    refused(
        lambda: services.quote_reject(quote=draft),
        "status",
        f"Quote {draft.number} is draft; only a sent quote can be rejected.",
    )
    accepted = services.quote_accept(quote=make_sent_quote())
    assert accepted.status == Quote.Status.ACCEPTED
    rejected = services.quote_reject(quote=make_sent_quote())
    assert rejected.status == Quote.Status.REJECTED
    refused(
        lambda: services.quote_reject(quote=accepted),
        "status",
        f"Quote {accepted.number} is accepted; only a sent quote can be rejected.",
    )


def test_accept_refused_after_validity():
    quote = make_sent_quote()
    Quote.objects.filter(pk=quote.pk).update(valid_until=today() - datetime.timedelta(days=1))
    quote.refresh_from_db()
    refused(
        lambda: services.quote_accept(quote=quote),
        "valid_until",
        f"Quote {quote.number} expired on {quote.valid_until:%Y-%m-%d}.",
    )


def test_expire_and_the_daily_task():
    due = make_sent_quote()
    current = make_sent_quote()
    draft = make_quote()
    Quote.objects.filter(pk__in=[due.pk, draft.pk]).update(
        valid_until=today() - datetime.timedelta(days=1)
    )
    refused(
        lambda: services.quote_expire(quote=current),
        "valid_until",
        f"Quote {current.number} is valid until {current.valid_until}; not yet.",
    )
    assert expire_quotes_task() == 1
    assert expire_quotes_task() == 0  # safe to run twice
    due.refresh_from_db()
    current.refresh_from_db()
    draft.refresh_from_db()
    assert due.status == Quote.Status.EXPIRED
    assert current.status == Quote.Status.SENT
    assert draft.status == Quote.Status.DRAFT
    refused(
        lambda: services.quote_expire(quote=draft),
        "status",
        f"Quote {draft.number} is draft; only a sent quote can be expired.",
    )


def test_revise_copies_lines_into_a_new_draft_and_supersedes_the_sent_one():
    sent = make_sent_quote(lines=2)
    revision = services.quote_revise(quote=sent)
    sent.refresh_from_db()
    assert sent.status == Quote.Status.SUPERSEDED
    assert revision.status == Quote.Status.DRAFT
    assert revision.number == f"{sent.number}-R1"
    assert revision.revision == 1
    assert revision.revision_of == sent
    assert revision.total == sent.total
    assert [(line.name, line.quantity) for line in revision.lines.all()] == [
        (line.name, line.quantity) for line in sent.lines.all()
    ]
    services.quote_line_update(line=revision.lines.first(), quantity="5")
    assert sent.lines.first().quantity == Decimal("2")
    for verb, action in [
        ("revised", services.quote_revise),
        ("accepted", services.quote_accept),
        ("rejected", services.quote_reject),
        ("expired", services.quote_expire),
        ("sent", services.quote_send),
    ]:
        refused(
            lambda action=action: action(quote=sent),
            "status",
            f"Quote {sent.number} was superseded by its revision {revision.number}; "
            f"it can no longer be {verb} (use {revision.number} instead).",
        )
    second = services.quote_revise(quote=services.quote_send(quote=revision))
    assert second.number == f"{sent.number}-R2"
    draft = make_quote()
    assert draft.number == "Q-000002"  # revisions take no new number from the sequence
    refused(
        lambda: services.quote_revise(quote=draft),
        "status",
        "Quote Q-000002 is draft; only a sent quote can be revised.",
    )


def test_create_from_a_ticket_takes_its_client(agent_user):
    from apps.tickets.models import Ticket

    client = DocClientFactory()
    ticket = Ticket.objects.create(subject="Apostille for Spain", client=client)
    quote = services.quote_create(created_by=agent_user, ticket=ticket)
    assert (quote.client, quote.ticket) == (client, ticket)
    other = DocClientFactory()
    refused(
        lambda: services.quote_create(created_by=None, ticket=ticket, client=other),
        "ticket",
        f"Ticket #{ticket.pk} belongs to another client.",
    )
    # A revision stays linked to the ticket.
    sent = services.quote_send(quote=services.quote_line_add(quote=quote, name="A", rate="1").quote)
    assert services.quote_revise(quote=sent).ticket == ticket
