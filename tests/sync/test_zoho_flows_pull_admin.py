"""Clients and services pulled from the sandbox link existing local rows by e-mail (any letter
case) and SKU instead of duplicating them; the admin lists show each row's sync status."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.sandbox.zoho.models import BooksContact, BooksItem
from apps.sync.models import Binding, BindingStatus, Connection
from tests.sync.sandbox import point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_pull_links_fifty_clients_by_email_and_ten_services_by_sku(live_server, settings):
    point_settings_at(settings, live_server.url)
    zoho = seed(contacts=300, items=60, documents=0, crm_contacts=0, deals=0, skip_xero=True)[
        "zoho"
    ]
    contacts = list(BooksContact.objects.exclude(email="").order_by("id")[:50])
    assert len(contacts) == 50
    for contact in contacts:
        Client.objects.create(name=f"Local {contact.contact_name}", email=contact.email.upper())
    items = list(BooksItem.objects.exclude(sku="").order_by("id")[:10])
    for item in items:
        Service.objects.create(name=f"Local {item.name}", rate="1.00", sku=item.sku)
    sync("connect", "zoho", "--refresh-token", zoho["refresh_token"], "--name", "Books")

    summary = sync("run", "--connection", "Books", "--direction", "pull")
    runs = {run["entity"]: run for run in summary["runs"]}
    assert runs["clients"]["linked"] == 50 and runs["clients"]["created"] == 250
    assert Client.objects.count() == 300
    assert BooksItem.objects.count() == 60
    assert runs["services"]["linked"] == 10 and runs["services"]["created"] == 50
    assert Service.objects.count() == 60
    for contact in contacts:
        client = Client.objects.get(email__iexact=contact.email)
        assert Binding.objects.get(entity="clients", object_id=client.pk).remote_id == (
            contact.contact_id
        )


def test_admin_lists_show_sync_status_in_one_query(admin_client_mfa, db, monkeypatch):
    admin_client = admin_client_mfa
    # The connection points at the real vendor: nothing may try to send the clients made here.
    monkeypatch.setattr("apps.sync.engine.outbox._kick", lambda: None)
    from tests.sync.factories import make_zoho_books

    books = make_zoho_books()
    clients = [Client.objects.create(name=f"C{i}", email=f"c{i}@x.test") for i in range(3)]
    from django.contrib.contenttypes.models import ContentType

    client_type = ContentType.objects.get_for_model(Client)
    Binding.objects.filter(connection=books).delete()
    Binding.objects.create(
        connection=books,
        entity="clients",
        content_type=client_type,
        object_id=clients[0].pk,
        status=BindingStatus.FAILED,
        last_error="Zoho Books refused: Invalid value passed for email.",
    )
    Binding.objects.create(
        connection=books,
        entity="clients",
        content_type=client_type,
        object_id=clients[1].pk,
        remote_id="r1",
        status=BindingStatus.SYNCED,
    )
    page = admin_client.get("/admin/clients/client/")
    text = page.content.decode()
    assert "failed: Zoho Books refused: Invalid value passed for email." in text
    assert "synced" in text

    def page_queries():
        with CaptureQueriesContext(db_connection) as queries:
            assert admin_client.get("/admin/clients/client/").status_code == 200
        return len(queries)

    few = page_queries()
    for i in range(3, 23):
        Client.objects.create(name=f"C{i}", email=f"c{i}@x.test")
    assert page_queries() == few
    assert Connection.objects.count() == 1
