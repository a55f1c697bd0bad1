"""Pushed updates cost one vendor call each: the bases are refreshed by one incremental list per
page of changed records, not a read per record; a remote edit made between our edit and our push
is still merged (or held as a conflict), never overwritten. The sandbox over real HTTP."""

import pytest

from apps.clients.models import Client
from apps.clients.services import client_update
from apps.sync.conflicts.models import Conflict, ConflictPolicy
from apps.sync.connectors.zoho.books.mappers import contact_from_books
from apps.sync.engine import outbox
from apps.sync.engine.connections import adapter_for
from apps.sync.models import Binding, Connection, OutboxStatus, SyncLog
from tests.sync.sandbox import books_connect, sync

pytestmark = pytest.mark.django_db(transaction=True)
CONTACTS = 60


@pytest.fixture
def books(live_server, settings, monkeypatch):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the test drains, in order
    books_connect(settings, live_server.url, contacts=CONTACTS)
    assert sync("run", "--connection", "Books", "--entity", "clients")["ok"]
    return Connection.objects.get(name="Books")


def test_updates_cost_one_call_each_and_remote_edits_in_between_are_merged(books, settings):
    settings.SYNC_PUSH_REFRESH_EVERY = 50
    ConflictPolicy.objects.create(entity="clients", field="phone", policy="manual")
    bindings = list(Binding.objects.filter(connection=books, entity="clients").order_by("id"))
    assert len(bindings) == CONTACTS
    adapter = adapter_for(books)
    # Edited in Books after our last sync: one field we do not touch, one we do.
    adapter.update("contacts", bindings[0].remote_id, {"mobile": "083 000 0001"})
    adapter.update("contacts", bindings[1].remote_id, {"phone": "021 000 1111"})
    for index, binding in enumerate(bindings):
        client = Client.objects.get(pk=binding.object_id)
        client_update(client=client, data={"phone": f"082 555 {index:04d}"})
    calls_before = SyncLog.objects.count()

    counts = outbox.outbox_drain(connection_id=books.pk, batch=25)

    calls = list(SyncLog.objects.order_by("id")[calls_before:].values_list("method", flat=True))
    assert counts == {OutboxStatus.DONE: CONTACTS - 1, OutboxStatus.PENDING: 1}  # one held
    assert calls.count("PUT") == CONTACTS - 1
    # One list of the records changed since the oldest base (a page), topped up after 50.
    assert calls.count("GET") == 2
    assert len(calls) / (CONTACTS - 1) <= 1.05

    # The mobile edited in Books came here and stayed there; our phone went there.
    first = Client.objects.get(pk=bindings[0].object_id)
    there = contact_from_books(adapter.get("contacts", bindings[0].remote_id))
    assert first.mobile == there["mobile"] == "083 000 0001"
    assert there["phone"] == "082 555 0000"
    # The phone edited on both sides is held for an Admin, Books' value untouched.
    conflict = Conflict.objects.get()
    assert (conflict.field, conflict.status) == ("phone", "open")
    assert (conflict.local_value, conflict.remote_value) == ("082 555 0001", "021 000 1111")
    second = contact_from_books(adapter.get("contacts", bindings[1].remote_id))
    assert second["phone"] == "021 000 1111"
