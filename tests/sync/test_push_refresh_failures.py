"""The drain's list of what the vendor has now (engine/refresh.py) after a page read failed
midway: the half list is forgotten and read again, so a record on a page that was not read never
looks unchanged since its base (its remote edit would be overwritten). The sandbox over real
HTTP, Zoho Books paging five contacts a page."""

import pytest

from apps.clients.models import Client
from apps.clients.services import client_update
from apps.sandbox import faults
from apps.sync.connectors.zoho.books import adapter as books_adapter
from apps.sync.engine import outbox, refresh
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.context import PushContext
from apps.sync.engine.records import TransientError
from apps.sync.models import Binding, Connection, SyncLog
from tests.sync.sandbox import point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)
CONTACTS = 12


@pytest.fixture
def books(live_server, settings, monkeypatch):
    point_settings_at(settings, live_server.url)
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # nothing drains behind the test
    answers = seed(contacts=CONTACTS, items=0, documents=0, crm_contacts=0, deals=0, skip_xero=True)
    zoho = answers["zoho"]
    sync(
        "connect", "zoho", "--refresh-token", zoho["refresh_token"],
        "--organization-id", zoho["organization_id"], "--name", "Books",
    )  # fmt: skip
    assert sync("run", "--connection", "Books", "--entity", "clients")["ok"]
    return Connection.objects.get(name="Books")


def test_a_list_whose_page_read_failed_is_forgotten_and_read_again(books, monkeypatch):
    monkeypatch.setattr(books_adapter, "PER_PAGE", 5)  # three pages for twelve changes
    monkeypatch.setattr(refresh, "UPDATES_PER_PAGE", 2)  # twelve updates pay for six pages
    bindings = list(Binding.objects.filter(connection=books, entity="clients").order_by("id"))
    assert len(bindings) == CONTACTS
    adapter = adapter_for(books)
    for index, binding in enumerate(bindings):
        # Edited in Books after our last sync, and here: every update waits to be merged.
        adapter.update("contacts", binding.remote_id, {"mobile": f"083 000 {index:04d}"})
        client_update(client=Client.objects.get(pk=binding.object_id), data={"phone": "1"})
    bindings = list(Binding.objects.filter(connection=books, entity="clients").order_by("id"))
    ctx = PushContext(connection=books, adapter=adapter_for(books))
    listing = refresh.BaseRefresh()
    tenant = books.remote_account_id
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()
    faults.fault_plan_set(vendor="zoho", account=tenant, error_share=0.5, error_status=503)

    with pytest.raises(TransientError):  # page 1 read, page 2 answered 503
        listing.remote_snapshot(ctx, bindings[0])

    faults.fault_plan_clear(vendor="zoho", account=tenant)
    pages = SyncLog.objects.filter(id__gt=before, method="GET")
    assert list(pages.order_by("id").values_list("status_code", flat=True)) == [200, 503]
    # Every record read again, none answered from the half list as unchanged since its base.
    snapshots = [listing.remote_snapshot(ctx, binding) for binding in bindings]
    assert [s["mobile"] for s in snapshots] == [f"083 000 {i:04d}" for i in range(CONTACTS)]
    assert pages.count() == 2 + 3  # the failed read, then one whole list of three pages
