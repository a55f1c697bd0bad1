"""The list serializers' fast path gives exactly DRF's own output, field by field."""

import pytest
from rest_framework import serializers as drf

from apps.api import serializers as s
from apps.invoices import services as invoice_services
from apps.invoices.selectors import invoice_list_summary
from apps.quotes import services as quote_services
from apps.quotes.selectors import quote_list
from tests.quotes.factories import make_quote

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fast", "records"),
    [
        (s.QuoteSerializer, lambda: quote_list().select_related("invoice")),
        (s.QuoteDetailSerializer, lambda: quote_list().select_related("invoice")),
        (s.InvoiceSerializer, invoice_list_summary),
        (s.InvoiceDetailSerializer, invoice_list_summary),
    ],
)
def test_fast_output_equals_drf_output(fast, records, agent_user):
    quote = quote_services.quote_accept(
        quote=quote_services.quote_send(quote=make_quote(user=agent_user, lines=2))
    )
    invoice_services.invoice_create_from_quote(quote=quote, created_by=agent_user)
    draft = make_quote(user=agent_user, lines=1)
    quote_services.quote_update(quote=draft, discount_value="12.5", notes="A draft")
    states = {
        row.pk: [
            {
                "connection_id": 1,
                "connection": "Books",
                "provider": "zoho_books",
                "status": "synced",
                "status_label": "Synced",
                "remote_id": "9",
                "remote_number": "EST-1",
                "last_error": "",
                "synced_at": quote.updated_at,
            }
        ]
        for row in records()
    }
    plain = type("Plain", (fast,), {"to_representation": drf.ModelSerializer.to_representation})
    context = {"sync_states": states}
    rows = list(records())
    assert rows
    assert (
        fast(rows, many=True, context=context).data == plain(rows, many=True, context=context).data
    )
