"""`make demo`'s sync step against the sandbox over real HTTP: the first pull links the demo
clients the books already know and creates the others, and a few conflicts wait in the queue."""

import io

import pytest
from django.core.management import call_command

from apps.clients.demo import load_demo_clients
from apps.clients.models import Client
from apps.sync.conflicts.models import Conflict
from apps.sync.connectors.zoho.demo import HELD, OVERLAP
from apps.sync.models import Binding, BindingStatus, Connection
from tests.sync.sandbox import books_connect

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_first_sync_links_creates_and_leaves_open_conflicts(live_server, settings):
    load_demo_clients()
    demo_clients = Client.objects.count()
    books_connect(settings, live_server.url, contacts=12)
    out = io.StringIO()
    call_command("sync_demo_conflicts", stdout=out)
    text = out.getvalue()

    books = Connection.objects.get(name="Books")
    assert f"12 created, {OVERLAP} linked" in text
    assert Client.objects.count() == demo_clients + 12  # the copies were linked, not duplicated
    held = Conflict.objects.filter(connection=books, status="open")
    assert held.count() == HELD and set(held.values_list("field", flat=True)) == {"phone"}
    assert Conflict.objects.filter(status="auto_resolved", field="name").count() == 1
    assert Binding.objects.filter(status=BindingStatus.CONFLICT).count() == HELD

    # Running the demo again adds nothing.
    call_command("sync_demo_conflicts", stdout=io.StringIO())
    assert Conflict.objects.count() == HELD + 1
    assert Client.objects.count() == demo_clients + 12
