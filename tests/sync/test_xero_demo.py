"""`make demo`'s Xero step over real HTTP: one sandbox Xero organisation connected (the others
switched off), and one demo quote sent, accepted, invoiced and part paid reaches both books."""

import io

import pytest
from django.core.management import call_command

from apps.quotes.models import Quote
from apps.sandbox.xero.models import XeroInvoice, XeroPayment, XeroQuote
from apps.sandbox.zoho.models import BooksEstimate
from apps.sync.connectors.xero.demo import DEMO_NOTE
from apps.sync.models import Connection
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.sandbox import point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_quote_reaches_zoho_books_and_one_xero_organisation(live_server, settings):
    point_settings_at(settings, live_server.url)
    call_command("create_demo_users", stdout=io.StringIO())
    DocClientFactory()
    DocServiceFactory.create_batch(3)
    answers = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0)
    zoho = answers["zoho"]
    sync("connect", "zoho", "--refresh-token", zoho["refresh_token"],
         "--organization-id", zoho["organization_id"], "--name", "Books")  # fmt: skip
    sync("connect", "xero", "--refresh-token", answers["xero"]["refresh_token"], "--name", "Xero")
    out = io.StringIO()
    call_command("sync_demo_xero", stdout=out)

    quote = Quote.objects.get(notes=DEMO_NOTE)
    assert quote.status == "accepted"
    assert Connection.objects.filter(provider="xero", status="connected").count() == 1
    remote = XeroQuote.objects.get(quote_number=quote.number)
    assert (remote.status, remote.total) == ("INVOICED", quote.total)
    assert BooksEstimate.objects.get(reference_number=quote.number).status == "invoiced"
    assert XeroInvoice.objects.get().status == "AUTHORISED" and XeroPayment.objects.count() == 1
    assert f"quote {quote.number} in Xero" in out.getvalue()

    call_command("sync_demo_xero", stdout=io.StringIO())  # again: nothing new
    assert Quote.objects.filter(notes=DEMO_NOTE).count() == 1 and XeroQuote.objects.count() == 1
