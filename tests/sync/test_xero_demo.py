"""`make demo`'s Xero step over real HTTP: one sandbox Xero organisation connected (the others
switched off), and one demo quote sent, accepted, invoiced and part paid reaches both books."""

import io

import pytest
from django.core.management import call_command

from apps.quotes.models import Quote
from apps.sandbox.xero.models import XeroInvoice, XeroPayment, XeroQuote
from apps.sandbox.zoho.models import BooksEstimate
from apps.sync.connectors.xero.demo import DEMO_NOTE
from apps.sync.engine import outbox
from apps.sync.models import Connection
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.sandbox import books_connect

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_quote_reaches_zoho_books_and_one_xero_organisation(
    live_server, settings, monkeypatch
):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # queued items wait for the demo's drains
    call_command("create_demo_users", stdout=io.StringIO())
    DocClientFactory()
    DocServiceFactory.create_batch(3)
    books_connect(settings, live_server.url, with_xero=True)
    DocClientFactory()  # queued for both organisations, as the demo's earlier steps do
    out = io.StringIO()
    call_command("sync_demo_xero", stdout=out)

    quote = Quote.objects.get(notes=DEMO_NOTE)
    assert quote.status == "accepted"
    assert Connection.objects.filter(provider="xero", status="connected").count() == 1
    off = Connection.objects.get(provider="xero", status="disabled")
    assert not off.outbox.filter(status="pending").exists()
    remote = XeroQuote.objects.get(quote_number=quote.number)
    assert (remote.status, remote.total) == ("INVOICED", quote.total)
    assert BooksEstimate.objects.get(reference_number=quote.number).status == "invoiced"
    assert XeroInvoice.objects.get().status == "AUTHORISED" and XeroPayment.objects.count() == 1
    assert f"quote {quote.number} in Xero" in out.getvalue()

    call_command("sync_demo_xero", stdout=io.StringIO())  # again: nothing new
    assert Quote.objects.filter(notes=DEMO_NOTE).count() == 1 and XeroQuote.objects.count() == 1
