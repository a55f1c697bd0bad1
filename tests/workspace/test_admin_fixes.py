"""The admin defects found by a new user: a service's rate on a new line, a refused save that
keeps the input and names the line, the quote's ticket, labels, Syncdesk's name, the favicon."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.invoices.models import Payment
from apps.quotes.models import Quote
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.workspace.helpers import make_invoice, make_ticket

pytestmark = pytest.mark.django_db

ADD = reverse("admin:quotes_quote_add")


def quote_form(client, lines: list[dict], **header) -> dict:
    today = datetime.date.today()
    data = {
        "client": str(client.pk),
        "issue_date": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=14)).isoformat(),
        "currency": "ZAR",
        "discount_type": "amount",
        "discount_value": "0",
        "notes": "",
        "terms": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        data |= {f"lines-{index}-{name}": value for name, value in line.items()}
    return data | header


def test_a_new_line_shows_no_zero_so_the_service_rate_is_copied(admin_client_mfa):
    page = admin_client_mfa.get(ADD).content.decode()
    assert 'name="lines-0-rate" value="0"' not in page
    assert 'name="lines-0-tax_rate" value="0"' not in page
    service = DocServiceFactory(rate=Decimal("380.00"))
    # What the browser sends for a new line when only the service and quantity were chosen.
    data = quote_form(
        DocClientFactory(),
        [{"service": service.pk, "quantity": "1", "name": "", "rate": "", "tax_rate": ""}],
    )
    admin_client_mfa.post(ADD, data)
    line = Quote.objects.get().lines.get()
    assert (line.rate, line.tax_rate) == (Decimal("380.000"), Decimal("15.000"))


def test_a_refused_line_keeps_the_input_and_says_which_line(admin_client_mfa):
    client = DocClientFactory()
    data = quote_form(
        client,
        [
            {"name": "First, fine", "quantity": "1", "rate": "100", "tax_rate": "0"},
            {"name": "Second, refused", "quantity": "0", "rate": "50", "tax_rate": "0"},
        ],
        notes="Typed notes stay",
    )
    response = admin_client_mfa.post(ADD, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 2: Quantity must be more than zero." in html
    assert 'value="First, fine"' in html and 'value="Second, refused"' in html
    assert "Typed notes stay" in html
    assert not Quote.objects.exists()


def test_a_refused_header_keeps_the_input(admin_client_mfa):
    data = quote_form(
        DocClientFactory(),
        [{"name": "Only line", "quantity": "1", "rate": "100", "tax_rate": "0"}],
        discount_value="500",
        notes="Keep me",
    )
    html = admin_client_mfa.post(ADD, data).content.decode()
    assert "cannot exceed the subtotal" in html and "Keep me" in html
    assert not Quote.objects.exists()


def test_the_quote_form_takes_a_ticket_and_a_ticket_raises_a_quote(
    admin_client_mfa, admin_with_mfa
):
    ticket = make_ticket(user=admin_with_mfa)
    data = quote_form(
        ticket.client,
        [{"name": "Apostille", "quantity": "1", "rate": "100", "tax_rate": "0"}],
        ticket=str(ticket.pk),
    )
    admin_client_mfa.post(ADD, data)
    assert Quote.objects.get().ticket == ticket
    page = admin_client_mfa.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert f'href="/quotes/new/?ticket={ticket.pk}">Raise quote' in page.content.decode()


def test_a_payment_is_named_by_its_invoice_number(admin_with_mfa):
    invoice = make_invoice(user=admin_with_mfa, paid=Decimal("10.00"))
    assert str(Payment.objects.get()).endswith(f"for {invoice.number}")


def test_quantities_show_without_padding_zeros(admin_client_mfa, admin_with_mfa):
    from apps.quotes import services

    quote = services.quote_create(created_by=admin_with_mfa, client=DocClientFactory())
    services.quote_line_add(quote=quote, name="A", quantity="2", rate="100", tax_rate="15")
    page = admin_client_mfa.get(reverse("admin:quotes_quote_change", args=[quote.pk]))
    html = page.content.decode()
    assert 'name="lines-0-quantity" value="2"' in html
    assert 'name="lines-0-tax_rate" value="15"' in html


def test_connect_pages_say_syncdesk_and_the_favicon_is_served(admin_client_mfa):
    from django.contrib.staticfiles import finders

    page = admin_client_mfa.get("/sync/connect/zoho/").content.decode()
    assert "Django administration" not in page and ">Syncdesk</a>" in page
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert finders.find("favicon.svg")  # whitenoise serves it from the static files
