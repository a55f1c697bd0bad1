"""Against the sandbox over real HTTP: a client created here goes to Zoho CRM first and is then
linked to its Books contact (or straight to Books without CRM); the catalogue pulls only active
items, deactivates services whose item went inactive, and a price change never touches existing
quote lines; `sync run --entity quotes` reports what it pushed."""

from decimal import Decimal

import pytest

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.quotes import services as quote_services
from apps.sandbox.zoho import books
from apps.sandbox.zoho.models import BooksContact, BooksItem, CrmRecord, ZohoOrganization
from apps.sync.models import Binding, OutboxItem, SyncLog
from tests.quotes.factories import DocClientFactory
from tests.sync.sandbox import books_connect, sync

pytestmark = pytest.mark.django_db(transaction=True)


def connect(live_server, settings, *, crm: bool) -> dict:
    return books_connect(settings, live_server.url, crm=crm)


def test_client_created_here_goes_to_crm_first_then_is_linked_in_books(live_server, settings):
    connect(live_server, settings, crm=True)
    client = Client.objects.create(name="Sipho Ndlovu", email="sipho@example.co.za")

    crm_contact = CrmRecord.objects.get(module="Contacts")
    assert crm_contact.data["Email"] == "sipho@example.co.za"
    books_contact = BooksContact.objects.get()
    assert books_contact.email == "sipho@example.co.za"
    bindings = dict(
        Binding.objects.filter(entity="clients", object_id=client.pk).values_list(
            "connection__provider", "remote_id"
        )
    )
    assert bindings == {
        "zoho_crm": crm_contact.record_id,
        "zoho_books": books_contact.contact_id,
    }
    writes = [
        url.split("/sandbox/zoho/api")[1].split("?")[0]
        for url in SyncLog.objects.filter(method="POST", url__contains="/zoho/api/")
        .order_by("id")
        .values_list("url", flat=True)
    ]
    assert writes == ["/crm/v6/Contacts/upsert", "/books/v3/contacts"]
    item = OutboxItem.objects.get(entity="clients", connection__provider="zoho_books")
    assert item.status == "done"


def test_client_created_here_goes_straight_to_books_without_crm(live_server, settings):
    connect(live_server, settings, crm=False)
    client = Client.objects.create(name="Lerato Dube", email="lerato@example.co.za")
    assert not CrmRecord.objects.exists()
    contact = BooksContact.objects.get()
    assert contact.email == "lerato@example.co.za"
    assert Binding.objects.get(entity="clients", object_id=client.pk).remote_id == (
        contact.contact_id
    )


def test_catalogue_active_items_only_inactive_deactivates_price_keeps_quote_lines(
    live_server, settings, agent_user
):
    zoho = connect(live_server, settings, crm=False)
    organization = ZohoOrganization.objects.get(organization_id=zoho["organization_id"])
    active = books.item_create(
        organization=organization,
        data={"name": "Sworn translation", "rate": "450.00", "sku": "TR-001"},
    )
    per_page = books.item_create(
        organization=organization,
        data={"name": "Certified copy", "rate": "35.00", "sku": "CC-001", "unit": "page"},
    )
    retired = books.item_create(
        organization=organization, data={"name": "Fax service", "rate": "5.00", "sku": "FX-001"}
    )
    books.item_mark(item=retired, status="inactive")

    summary = sync("run", "--connection", "Books", "--entity", "services", "--direction", "pull")
    assert summary["runs"][0]["created"] == 2
    assert not Service.objects.filter(sku="FX-001").exists()
    translation = Service.objects.get(sku="TR-001")
    assert (translation.rate, translation.unit, translation.category) == (
        Decimal("450.00"),
        "Each",
        "General",
    )
    assert Service.objects.get(sku="CC-001").unit == "page"

    quote = quote_services.quote_create(created_by=agent_user, client=DocClientFactory())
    line = quote_services.quote_line_add(quote=quote, service=translation, quantity="2")
    books.item_update(item=BooksItem.objects.get(pk=active.pk), data={"rate": "500.00"})
    books.item_mark(item=BooksItem.objects.get(pk=per_page.pk), status="inactive")

    summary = sync("run", "--connection", "Books", "--entity", "services", "--direction", "pull")
    assert summary["runs"][0]["updated"] == 2
    translation.refresh_from_db()
    assert translation.rate == Decimal("500.00") and translation.active
    assert not Service.objects.get(sku="CC-001").active
    line.refresh_from_db()
    quote.refresh_from_db()
    assert line.rate == Decimal("450.00") and quote.subtotal == Decimal("900.00")


def test_sync_run_reports_the_quotes_it_pushed(live_server, settings, agent_user, monkeypatch):
    connect(live_server, settings, crm=False)
    # Queued only (no drain kicked after commit), so `sync run` is what sends it.
    monkeypatch.setattr("apps.sync.engine.outbox._kick", lambda: None)
    service = Service.objects.create(name="Apostille", rate="300.00", sku="AP-001")
    quote = quote_services.quote_create(created_by=agent_user, client=DocClientFactory())
    quote_services.quote_line_add(quote=quote, service=service, quantity="1")
    quote = quote_services.quote_send(quote=quote)

    summary = sync("run", "--connection", "Books", "--entity", "quotes")
    assert summary["ok"] and summary["push"]["Books"] == {"done": 1}
    [pushed] = summary["pushed"]
    estimate_id = Binding.objects.get(entity="quotes", object_id=quote.pk).remote_id
    assert pushed == {
        "connection": "Books",
        "entity": "quotes",
        "operation": "create",
        "action": "sent",
        "object_id": quote.pk,
        "reference": quote.number,
        "status": "done",
        "remote_id": estimate_id,
        "error": "",
    }
    assert sync("run", "--connection", "Books", "--entity", "quotes")["pushed"] == []
