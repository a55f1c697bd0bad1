"""Tax the books agree with, against the Zoho sandbox over real HTTP (issue #19): every line names
its Books tax (`tax_id`, or "" for none), item taxes come in on pull, a rate with no mapping
fails visibly naming it, foreign currencies go by `currency_id`, and after every push Books'
totals are compared with ours ("totals differ" is counted in health)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.catalog.models import Service, TaxRate
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.sandbox.zoho import books as sandbox_books
from apps.sandbox.zoho import books_settings
from apps.sandbox.zoho.models import BooksEstimate, BooksInvoice, BooksItem, BooksTax
from apps.sync.engine import outbox
from apps.sync.engine.taxes import vendor_settings_refresh
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    OutboxItem,
    OutboxStatus,
    RemoteTax,
    TaxMapping,
)
from apps.sync.selectors import sync_health
from tests.quotes.factories import DocClientFactory, DocServiceFactory, VatFactory
from tests.sync.sandbox import books_connect, point_settings_at, seed, sync
from tests.sync.test_zoho_flows import drain_until_settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, settings):
    books_connect(settings, live_server.url)
    return Connection.objects.get(name="Books")


def books_vat() -> BooksTax:
    return BooksTax.objects.get(tax_name="VAT")


def untaxed_service(**fields) -> Service:
    return DocServiceFactory(tax_rate=None, **fields)


def quote_with(agent, lines, *, discount="0", currency=None):
    quote = quote_services.quote_create(
        created_by=agent, client=DocClientFactory(), currency=currency
    )
    for service, quantity, rate in lines:
        quote_services.quote_line_add(quote=quote, service=service, quantity=quantity, rate=rate)
    quote_services.quote_update(quote=quote, discount_value=discount)
    quote.refresh_from_db()
    return quote


def binding(entity: str, obj) -> Binding:
    return Binding.objects.get(entity=entity, object_id=obj.pk)


def assert_books_agree(quote, invoice) -> None:
    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    assert (estimate.sub_total - estimate.discount, estimate.tax_total, estimate.total) == (
        quote.subtotal - quote.discount_total,
        quote.tax_total,
        quote.total,
    )
    books_invoice = BooksInvoice.objects.get(reference_number=invoice.number)
    invoice.refresh_from_db()
    assert (books_invoice.tax_total, books_invoice.total, books_invoice.balance) == (
        invoice.tax_total,
        invoice.total,
        invoice.balance,
    )
    for entity, obj in (("quotes", quote), ("invoices", invoice)):
        state = binding(entity, obj)
        assert state.status == BindingStatus.SYNCED, state.last_error
        assert state.totals["differ"] == []
        assert state.totals["theirs"]["total"] == str(obj.total)


CASES = {
    # name: (lines as (taxed?, quantity, rate), document discount, expected total)
    "taxed": ([(True, "2", "450.00")], "0", Decimal("1035.00")),
    "untaxed": ([(False, "2", "450.00")], "0", Decimal("900.00")),
    "mix": ([(True, "1", "450.00"), (False, "3", "199.99")], "0", Decimal("1117.47")),
    "discount": ([(True, "1", "450.00"), (False, "1", "99.99")], "50.00", Decimal("561.35")),
    "three_at_123_33": ([(True, "3", "123.33")], "0", Decimal("425.49")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_quote_estimate_invoice_payments_agree_with_books(books, agent_user, case):
    rows, discount, expected_total = CASES[case]
    lines = [
        (DocServiceFactory() if taxed else untaxed_service(), quantity, rate)
        for taxed, quantity, rate in rows
    ]
    quote = quote_with(agent_user, lines, discount=discount)
    assert quote.total == expected_total
    quote = quote_services.quote_send(quote=quote)
    drain_until_settled()
    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    vat = books_vat()
    assert [line["tax_id"] for line in estimate.line_items] == [
        vat.tax_id if taxed else "" for taxed, _, _ in rows
    ]
    assert estimate.status == "sent" and estimate.is_inclusive_tax is False

    quote = quote_services.quote_accept(quote=quote)
    invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=agent_user)
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    assert_books_agree(quote, invoice)

    invoice_services.payment_record(invoice=invoice, amount=Decimal("100.00"))
    drain_until_settled()
    books_invoice = BooksInvoice.objects.get(reference_number=invoice.number)
    invoice.refresh_from_db()
    assert (
        books_invoice.status == "partially_paid" and invoice.status == Invoice.Status.PARTIALLY_PAID
    )
    assert_books_agree(quote, invoice)
    invoice_services.payment_record(invoice=invoice, amount=invoice.balance)
    drain_until_settled()
    invoice.refresh_from_db()
    books_invoice.refresh_from_db()
    assert (invoice.status, books_invoice.status) == (Invoice.Status.PAID, "paid")
    assert invoice.balance == books_invoice.balance == 0
    assert_books_agree(quote, invoice)
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}
    assert sync_health()["totals_differ"] == 0


def test_an_untaxed_line_on_an_item_taxed_in_books_stays_untaxed(books, agent_user):
    """The issue's 557.49 vs 612.99: Books' item carries 15% VAT, our line names no tax."""
    service = untaxed_service(rate=Decimal("557.49"))
    drain_until_settled()  # the new service's item, untaxed
    item = BooksItem.objects.get(sku=service.sku)
    sandbox_books.item_update(item=item, data={"tax_id": books_vat().tax_id})  # taxed in Books
    quote = quote_services.quote_send(quote=quote_with(agent_user, [(service, "1", None)]))
    drain_until_settled()
    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    assert estimate.line_items[0]["item_id"] == item.item_id
    assert estimate.line_items[0]["tax_id"] == ""
    assert (estimate.total, quote.total) == (Decimal("557.49"), Decimal("557.49"))
    assert binding("quotes", quote).status == BindingStatus.SYNCED


def test_a_rate_with_no_books_tax_fails_visibly_naming_it_then_goes_once_mapped(books, agent_user):
    levy = TaxRate.objects.create(name="Tourism levy", rate=Decimal("7.500"))
    service = DocServiceFactory(tax_rate=levy)
    quote = quote_services.quote_send(quote=quote_with(agent_user, [(service, "1", None)]))
    drain_until_settled_or_dead()
    item = OutboxItem.objects.get(entity="quotes")
    assert item.status == OutboxStatus.DEAD
    state = binding("quotes", quote)
    assert state.status == BindingStatus.FAILED
    for words in ("Tourism levy", "7.5%", "Books", "Map it"):
        assert words in state.last_error
    assert not BooksEstimate.objects.exists()  # nothing went out at 0%
    assert TaxMapping.objects.get(tax_rate=levy).remote_tax is None

    books_settings.tax_create(
        organization=books_vat().organization, name="Tourism levy", percentage=Decimal("7.5")
    )
    outbox.outbox_requeue(items=OutboxItem.objects.filter(pk=item.pk))
    drain_until_settled()
    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    assert estimate.tax_total == quote.tax_total == Decimal("33.75")
    assert TaxMapping.objects.get(tax_rate=levy).remote_tax.name == "Tourism levy"


def drain_until_settled_or_dead() -> None:
    for _ in range(20):
        outbox.outbox_drain()
        if not OutboxItem.objects.filter(status__in=["pending", "in_flight"]).exists():
            return
    raise AssertionError(list(OutboxItem.objects.values("id", "status", "last_error")))


def test_a_pulled_taxed_item_becomes_a_taxed_service(live_server, settings):
    point_settings_at(settings, live_server.url)
    zoho = seed(contacts=0, items=3, documents=0, crm_contacts=0, deals=0, skip_xero=True)["zoho"]
    organization = books_vat().organization
    zero = BooksTax.objects.get(organization=organization, tax_name="Zero Rated")
    untaxed = BooksItem.objects.filter(organization=organization).order_by("pk").last()
    untaxed.tax_id, untaxed.tax_name, untaxed.tax_percentage = zero.tax_id, "Zero Rated", 0
    untaxed.save()
    assert not TaxRate.objects.exists()
    sync("connect", "zoho", "--refresh-token", zoho["refresh_token"], "--name", "Books")
    sync("run", "--entity", "services", "--direction", "pull")
    services = {s.sku: s for s in Service.objects.select_related("tax_rate")}
    assert len(services) == 3
    vat = TaxRate.objects.get()  # made from Books' tax: its name and percentage
    assert (vat.name, vat.rate) == ("VAT", Decimal("15.000"))
    assert services[untaxed.sku].tax_rate is None
    taxed = [s for sku, s in services.items() if sku != untaxed.sku]
    assert all(s.tax_rate == vat for s in taxed)
    sync("run", "--entity", "services", "--direction", "pull")
    assert TaxRate.objects.count() == 1  # pulled again: the same local rate
    # The new rate maps to the tax it came from, so its documents go with that tax_id.
    vendor_settings_refresh(connection=Connection.objects.get(name="Books"))
    assert TaxMapping.objects.get(tax_rate=vat).remote_tax.remote_id == books_vat().tax_id


def test_a_pulled_taxed_item_takes_the_local_rate_of_that_percentage(live_server, settings):
    point_settings_at(settings, live_server.url)
    local = TaxRate.objects.create(name="Standard rate", rate=Decimal("15.000"))
    zoho = seed(contacts=0, items=2, documents=0, crm_contacts=0, deals=0, skip_xero=True)["zoho"]
    sync("connect", "zoho", "--refresh-token", zoho["refresh_token"], "--name", "Books")
    sync("run", "--entity", "services", "--direction", "pull")
    assert [s.tax_rate for s in Service.objects.all()] == [local, local]
    assert TaxRate.objects.count() == 1


def test_totals_that_differ_are_marked_with_both_figures_and_counted_in_health(
    books, agent_user, client, admin_with_mfa
):
    service = DocServiceFactory(rate=Decimal("100.00"))
    # Books' VAT changes after we read it: Books prices 14%, we 15%.
    BooksTax.objects.filter(tax_name="VAT").update(tax_percentage=Decimal("14"))
    quote = quote_services.quote_send(quote=quote_with(agent_user, [(service, "1", None)]))
    drain_until_settled()
    state = binding("quotes", quote)
    assert state.status == BindingStatus.TOTALS_DIFFER
    assert state.totals["ours"]["total"] == "115.00" and state.totals["theirs"]["total"] == "114.00"
    assert "total Zoho Books 114.00, ours 115.00" in state.last_error
    health = sync_health()
    assert health["totals_differ"] == 1 and health["ok"] is False
    assert health["connections"][0]["totals_differ"] == 1
    health_page = reverse("admin:sync_connection_health")
    client.force_login(agent_user)
    assert client.get(health_page).status_code == 403
    client.force_login(admin_with_mfa)
    page = client.get(health_page).content.decode()
    assert "documents whose totals differ: 1" in page
    staff_page = client.get("/sync/").content.decode()  # the staff workspace's sync page
    assert '<span class="big">1</span> document whose totals differ from ours' in staff_page
    assert sync("status")["totals_differ"] == 1
    # A later status push does not hide it.
    quote_services.quote_reject(quote=quote)
    drain_until_settled()
    assert binding("quotes", quote).status == BindingStatus.TOTALS_DIFFER
    # The daily read sees the new percentage: the mapping no longer fits, and says so.
    vendor_settings_refresh(connection=books)
    assert RemoteTax.objects.get(name="VAT").rate == Decimal("14")
    assert TaxMapping.objects.get(tax_rate__name="VAT").remote_tax is None


def test_a_document_in_a_foreign_currency_names_it_by_id(books, agent_user):
    quote = quote_with(agent_user, [(untaxed_service(), "1", "10.00")], currency="USD")
    quote = quote_services.quote_send(quote=quote)
    drain_until_settled()
    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    assert estimate.currency_code == "USD"
    base = quote_services.quote_send(quote=quote_with(agent_user, [(untaxed_service(), "1", "5")]))
    drain_until_settled()
    assert BooksEstimate.objects.get(reference_number=base.number).currency_code == "ZAR"


def test_the_connection_page_shows_and_edits_the_mapping_for_admins_only(
    books, client, admin_with_mfa, agent_user
):
    vat = VatFactory()
    other = TaxRate.objects.create(name="Other 15", rate=Decimal("15.000"))
    vendor_settings_refresh(connection=books)
    url = reverse("admin:sync_connection_change", args=[books.pk])
    client.force_login(agent_user)
    assert client.get(url).status_code in (302, 403)
    client.force_login(admin_with_mfa)
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Tax mapping" in text and "Other 15" in text
    mappings = list(TaxMapping.objects.filter(connection=books).order_by("pk"))
    assert {m.tax_rate: m.remote_tax.name for m in mappings} == {vat: "VAT", other: "VAT"}
    zero = RemoteTax.objects.get(name="Zero Rated")
    form = {
        "name": books.name,
        "daily_limit": "",
        "tax_mappings-TOTAL_FORMS": str(len(mappings)),
        "tax_mappings-INITIAL_FORMS": str(len(mappings)),
        "tax_mappings-MIN_NUM_FORMS": "0",
        "tax_mappings-MAX_NUM_FORMS": "1000",
    }
    for index, mapping in enumerate(mappings):
        form[f"tax_mappings-{index}-id"] = str(mapping.pk)
        form[f"tax_mappings-{index}-connection"] = str(books.pk)
        form[f"tax_mappings-{index}-remote_tax"] = str(zero.pk if index == 0 else "")
    refused = client.post(url, form)
    assert refused.status_code == 200 and "same percentage" in refused.content.decode()
    assert TaxMapping.objects.get(pk=mappings[0].pk).remote_tax.name == "VAT"  # unchanged
    form["tax_mappings-0-remote_tax"] = str(mappings[0].remote_tax_id)
    assert client.post(url, form).status_code == 302
    cleared = TaxMapping.objects.get(pk=mappings[1].pk)
    assert cleared.remote_tax is None and cleared.source == TaxMapping.Source.ADMIN
