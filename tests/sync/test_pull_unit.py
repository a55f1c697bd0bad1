"""Pulls through the Zoho Books and Xero adapters against recorded-shape answers (`responses`)."""

import json
import re

import pytest
import responses

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.sync.engine import pull as engine
from apps.sync.models import Binding, Entity, SyncLog
from tests.sync.factories import ZOHO_API, make_xero, make_zoho_books

pytestmark = pytest.mark.django_db

CONTACTS_URL = re.compile(re.escape(f"{ZOHO_API}/books/v3/contacts") + r".*")


def books_contact(n, *, modified="2026-07-01T10:00:00+0000", email=None):
    return {
        "contact_id": f"900{n}",
        "contact_name": f"Client {n}",
        "company_name": f"Co {n}",
        "email": email or f"client{n}@example.com",
        "phone": "555",
        "status": "active",
        "billing_address": {"address": "1 Road", "city": "Cape Town"},
        "last_modified_time": modified,
    }


def books_page(rows, *, page, more):
    return {
        "code": 0,
        "message": "success",
        "contacts": rows,
        "page_context": {"page": page, "per_page": 200, "has_more_page": more},
    }


@responses.activate
def test_books_pull_pages_creates_matches_and_binds():
    connection = make_zoho_books()
    existing = Client.objects.create(name="Old name", email="CLIENT2@example.com")
    responses.get(
        CONTACTS_URL, json=books_page([books_contact(1), books_contact(2)], page=1, more=True)
    )
    responses.get(CONTACTS_URL, json=books_page([books_contact(3)], page=2, more=False))

    run = engine.pull(connection=connection, entity=Entity.CLIENTS)

    assert (run.pages, run.records, run.created, run.linked) == (2, 3, 2, 1)
    assert Client.objects.count() == 3
    existing.refresh_from_db()
    assert existing.name == "Client 2"  # remote wins on link
    assert Binding.objects.get(remote_id="9002").object_id == existing.pk
    assert (
        responses.calls[0].request.headers["Authorization"] == "Zoho-oauthtoken access-secret-AAA"
    )
    assert "organization_id=60001" in responses.calls[0].request.url
    # The history names the run (the record's journal links the change to it).
    assert existing.history.first().history_change_reason == f"sync pull · run {run.pk}"


@responses.activate
def test_books_pull_with_nothing_changed_makes_one_request_and_writes_nothing(
    django_assert_max_num_queries,
):
    connection = make_zoho_books()
    responses.get(CONTACTS_URL, json=books_page([books_contact(1)], page=1, more=False))
    engine.pull(connection=connection, entity=Entity.CLIENTS)
    client_updated = Client.objects.get().updated_at
    calls_before = len(responses.calls)

    run = engine.pull(connection=connection, entity=Entity.CLIENTS)

    assert len(responses.calls) - calls_before == 1
    assert "last_modified_time=" in responses.calls[-1].request.url
    assert (run.created, run.updated, run.linked, run.unchanged) == (0, 0, 0, 1)
    assert Client.objects.get().updated_at == client_updated
    assert Client.history.count() == 1


@responses.activate
def test_remote_change_applies_only_fields_the_remote_changed():
    connection = make_zoho_books()
    responses.get(CONTACTS_URL, json=books_page([books_contact(1)], page=1, more=False))
    engine.pull(connection=connection, entity=Entity.CLIENTS)
    client = Client.objects.get()
    client.phone = "777"  # a local edit the remote did not touch
    client.save()
    changed = books_contact(1, modified="2026-07-02T10:00:00+0000")
    changed["contact_name"] = "Renamed"
    responses.replace(responses.GET, CONTACTS_URL, json=books_page([changed], page=1, more=False))

    run = engine.pull(connection=connection, entity=Entity.CLIENTS)

    client.refresh_from_db()
    assert (client.name, client.phone) == ("Renamed", "777")
    assert run.updated == 1 and run.conflicts == 0


@responses.activate
def test_xero_items_pull_matches_by_sku_and_sends_tenant_header():
    connection = make_xero()
    service = Service.objects.create(name="Local", rate="1.00", sku="SKU-1")
    responses.get(
        "https://api.xero.com/api.xro/2.0/Items",
        json={
            "Items": [
                {
                    "ItemID": "i-1",
                    "Code": "SKU-1",
                    "Name": "Consulting",
                    "SalesDetails": {"UnitPrice": 150.5},
                    "UpdatedDateUTC": "/Date(1782900000000+0000)/",
                },
                {
                    "ItemID": "i-2",
                    "Code": "SKU-2",
                    "Name": "Support",
                    "SalesDetails": {"UnitPrice": 20},
                    "UpdatedDateUTC": "/Date(1782900000000+0000)/",
                },
            ]
        },
    )
    run = engine.pull(connection=connection, entity=Entity.SERVICES)

    assert (run.created, run.linked) == (1, 1)
    service.refresh_from_db()
    assert (service.name, str(service.rate)) == ("Consulting", "150.50")
    assert responses.calls[0].request.headers["xero-tenant-id"] == "tenant-1"
    assert responses.calls[0].request.headers["Accept"] == "application/json"


@responses.activate
def test_a_sku_in_another_letter_case_links_instead_of_clashing():
    connection = make_xero()
    service = Service.objects.create(name="Local", rate="1.00", sku="apo-1")
    responses.get(
        "https://api.xero.com/api.xro/2.0/Items",
        json={
            "Items": [
                {
                    "ItemID": "i-1",
                    "Code": "APO-1",
                    "Name": "Apostille",
                    "SalesDetails": {"UnitPrice": 850},
                    "UpdatedDateUTC": "/Date(1782900000000+0000)/",
                }
            ]
        },
    )
    run = engine.pull(connection=connection, entity=Entity.SERVICES)

    assert (run.created, run.linked, run.errors) == (0, 1, 0)
    assert Service.objects.count() == 1
    assert Binding.objects.get(entity=Entity.SERVICES).object_id == service.pk


@responses.activate
def test_every_vendor_call_is_logged_without_secrets():
    connection = make_zoho_books()
    responses.get(CONTACTS_URL, json=books_page([books_contact(1)], page=1, more=False))
    engine.pull(connection=connection, entity=Entity.CLIENTS)
    log = SyncLog.objects.get()
    assert log.status_code == 200 and log.method == "GET"
    dumped = json.dumps([log.url, log.request_body, log.response_body])
    assert "access-secret" not in dumped
