"""A pull writes only what it changed on each record (an edit made while the page was being
merged survives), and its cursor never passes a record it refused nor the start of its run."""

from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.contrib.contenttypes.models import ContentType

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.sync.engine import importer as binder
from apps.sync.engine import pull as engine
from apps.sync.engine.records import RemoteRecord
from apps.sync.models import Binding, BindingStatus, Entity, SyncCursor
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db
XERO_ITEMS = "https://api.xero.com/api.xro/2.0/Items"
BASE = {
    "name": "Ada",
    "email": "",
    "phone": "",
    "mobile": "",
    "company": "",
    "billing_address": "",
    "active": True,
}


def test_each_record_writes_only_its_own_changed_fields(monkeypatch):
    connection = make_zoho_books()
    content_type = ContentType.objects.get_for_model(Client)
    ada = Client.objects.create(name="Ada")
    bob = Client.objects.create(name="Ada")
    for n, client in enumerate((ada, bob)):
        Binding.objects.create(
            connection=connection,
            entity=Entity.CLIENTS,
            content_type=content_type,
            object_id=client.pk,
            remote_id=f"r{n}",
            base_snapshot=BASE,
            status=BindingStatus.SYNCED,
        )
    when = datetime(2026, 7, 1, tzinfo=UTC)
    mapped = [
        (RemoteRecord("r0", "", when, data={}), {**BASE, "phone": "021 1"}),
        (RemoteRecord("r1", "", when, data={}), {**BASE, "company": "Acme"}),
    ]
    real_merge = binder.merge

    def merge_while_a_user_edits(**kwargs):
        # Ada's company is edited by a user after the page read her row.
        Client.objects.filter(pk=ada.pk).update(company="Ada's own firm")
        return real_merge(**kwargs)

    monkeypatch.setattr(binder, "merge", merge_while_a_user_edits)
    binder.apply_page(connection=connection, entity=Entity.CLIENTS, mapped=mapped)

    ada.refresh_from_db()
    bob.refresh_from_db()
    assert (ada.phone, ada.company) == ("021 1", "Ada's own firm")
    assert (bob.phone, bob.company) == ("", "Acme")


def xero_item(item_id, code, day):
    stamp = int(datetime(2026, 7, day, tzinfo=UTC).timestamp() * 1000)
    return {
        "ItemID": item_id,
        "Code": code,
        "Name": f"Item {item_id}",
        "SalesDetails": {"UnitPrice": 10},
        "UpdatedDateUTC": f"/Date({stamp}+0000)/",
    }


@responses.activate
def test_the_cursor_stays_at_the_earliest_refused_record():
    connection = make_xero()
    taken = Service.objects.create(name="Bound", rate="1.00", sku="SKU-1")
    Binding.objects.create(
        connection=connection,
        entity=Entity.SERVICES,
        content_type=ContentType.objects.get_for_model(Service),
        object_id=taken.pk,
        remote_id="i-0",
        base_snapshot={},
        status=BindingStatus.SYNCED,
    )
    # i-2 carries a SKU already bound to another record: refused. i-3 is later and applied.
    responses.get(
        XERO_ITEMS,
        json={"Items": [xero_item("i-2", "SKU-1", 2), xero_item("i-3", "SKU-3", 3)]},
    )
    run = engine.pull(connection=connection, entity=Entity.SERVICES)

    assert (run.created, run.errors) == (1, 1)
    cursor = SyncCursor.objects.get(connection=connection, entity=Entity.SERVICES)
    assert cursor.modified_at == datetime(2026, 7, 2, tzinfo=UTC)


@responses.activate
def test_the_cursor_never_passes_the_start_of_the_run():
    connection = make_xero()
    future = datetime.now(UTC) + timedelta(days=3)
    item = xero_item("i-1", "SKU-1", 1)
    item["UpdatedDateUTC"] = f"/Date({int(future.timestamp() * 1000)}+0000)/"
    responses.get(XERO_ITEMS, json={"Items": [item]})
    run = engine.pull(connection=connection, entity=Entity.SERVICES)

    cursor = SyncCursor.objects.get(connection=connection, entity=Entity.SERVICES)
    assert run.created == 1 and cursor.modified_at <= run.started_at
