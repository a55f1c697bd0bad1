"""Quantities, rates and amounts are bounded where they enter: a figure or product too large for
its column is a clear error on its field and writes nothing (issue 11, item 7)."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services
from apps.quotes.models import Quote, QuoteLine
from tests.quotes.factories import DocClientFactory
from tests.quotes.test_admin import ADD, header, line_management

pytestmark = pytest.mark.django_db

HUGE = "99999999"


def test_a_line_whose_amount_cannot_be_stored_is_refused_and_nothing_is_written(admin_with_mfa):
    with pytest.raises(ValidationError) as refused:
        services.quote_create(
            created_by=admin_with_mfa,
            client=DocClientFactory(),
            lines=[{"name": "Bulk", "quantity": HUGE, "rate": HUGE}],
        )
    assert "quantity" in refused.value.message_dict
    assert "largest amount" in refused.value.message_dict["quantity"][0]
    assert (Quote.objects.count(), QuoteLine.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "1000000000"),
        ("rate", "100000000000"),
        ("tax_rate", "1000"),
    ],
)
def test_each_figure_is_bounded_by_its_column(admin_with_mfa, field, value):
    line = {"name": "Bulk", "quantity": "1", "rate": "1", "tax_rate": "0", field: value}
    with pytest.raises(ValidationError) as refused:
        services.quote_create(created_by=admin_with_mfa, client=DocClientFactory(), lines=[line])
    assert "cannot be more than" in refused.value.message_dict[field][0]
    assert Quote.objects.count() == 0


def test_adding_a_huge_line_to_an_existing_invoice_changes_nothing():
    invoice = invoice_services.invoice_create(
        client=DocClientFactory(), lines=[{"name": "Copy", "quantity": "1", "rate": "10"}]
    )
    with pytest.raises(ValidationError) as refused:
        invoice_services.invoice_line_add(invoice=invoice, name="Bulk", quantity=HUGE, rate=HUGE)
    assert "quantity" in refused.value.message_dict
    invoice.refresh_from_db()
    assert invoice.lines.count() == 1
    assert str(invoice.subtotal) == "10.00"
    assert Invoice.objects.count() == 1


def test_the_admin_shows_the_refusal_instead_of_a_server_error(admin_client_mfa):
    data = header(DocClientFactory()) | line_management(1, 0)
    data |= {"lines-0-name": "Bulk", "lines-0-quantity": HUGE, "lines-0-rate": HUGE}
    data["issue_date"] = datetime.date.today().isoformat()
    response = admin_client_mfa.post(ADD, data, follow=True)
    assert response.status_code == 200
    assert "Not saved" in response.content.decode()
    assert "largest amount Syncdesk stores" in response.content.decode()
    assert Quote.objects.count() == 0
