"""The merge before a push, through outbox_process: a record held by a manual conflict keeps
its conflict, its hold and its queued push (parked until the admin decides), and a local edit
committed while the vendor's copy was being read is merged, not overwritten."""

import json

import pytest
import responses
from django.contrib.contenttypes.models import ContentType

from apps.clients.models import Client
from apps.sync.conflicts.models import Conflict, ConflictPolicy, ConflictStatus, Resolution
from apps.sync.conflicts.services import conflict_resolve
from apps.sync.engine import outbox
from apps.sync.models import Binding, BindingStatus, Entity, OutboxItem, OutboxStatus
from tests.sync.factories import make_zoho_books

pytestmark = pytest.mark.django_db
CONTACT = "https://www.zohoapis.com/books/v3/contacts/r1"
BASE = {
    "name": "Ada",
    "email": "ada@x.test",
    "phone": "",
    "mobile": "",
    "company": "",
    "billing_address": "",
    "active": True,
}


def remote(**changes):
    data = {
        "contact_id": "r1",
        "contact_name": "Ada",
        "email": "ada@x.test",
        "phone": "",
        "mobile": "",
        "company_name": "",
        "status": "active",
        "last_modified_time": "2026-07-01T10:00:00+0000",
    }
    data.update(changes)
    return {"code": 0, "contact": data}


def bound_client():
    connection = make_zoho_books()
    client = Client.objects.create(name="Ada", email="ada@x.test")
    OutboxItem.objects.all().delete()
    Binding.objects.create(
        connection=connection,
        entity=Entity.CLIENTS,
        content_type=ContentType.objects.get_for_model(Client),
        object_id=client.pk,
        remote_id="r1",
        base_snapshot=BASE,
        status=BindingStatus.SYNCED,
    )
    return client


@responses.activate
def test_a_held_push_keeps_its_conflict_and_waits_for_the_decision(admin_role_user):
    ConflictPolicy.objects.create(entity="clients", field="phone", policy="manual")
    client = bound_client()
    responses.get(CONTACT, json=remote(phone="021 111"))
    client.phone = "021 222"
    client.save()  # queues the push
    assert outbox.outbox_drain() == {OutboxStatus.PENDING: 1}

    conflict = Conflict.objects.get()
    assert (conflict.field, conflict.status) == ("phone", ConflictStatus.OPEN)
    assert Binding.objects.get().status == BindingStatus.CONFLICT
    item = OutboxItem.objects.get()
    assert (item.status, item.next_attempt_at) == (OutboxStatus.PENDING, outbox.HELD_UNTIL)
    assert outbox.outbox_drain() == {}  # parked while held
    assert [c.request.method for c in responses.calls] == ["GET"]

    conflict_resolve(conflict=conflict, resolution=Resolution.KEEP_LOCAL, actor=admin_role_user)
    assert OutboxItem.objects.count() == 1  # the parked push carries the decision
    responses.put(CONTACT, json=remote(phone="021 222"))
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}
    assert json.loads(responses.calls[-1].request.body)["phone"] == "021 222"


@responses.activate
def test_a_local_edit_made_while_the_vendor_is_read_is_not_overwritten():
    client = bound_client()

    def read_while_a_user_edits(request):
        Client.objects.filter(pk=client.pk).update(phone="021 999")  # committed mid-GET
        return 200, {}, json.dumps(remote(company_name="Acme"))

    responses.add_callback(responses.GET, CONTACT, callback=read_while_a_user_edits)
    responses.put(CONTACT, json=remote(company_name="Acme", phone="021 999"))
    client.name = "Ada L."
    client.save()
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}

    client.refresh_from_db()
    assert (client.name, client.phone, client.company) == ("Ada L.", "021 999", "Acme")
    sent = json.loads(responses.calls[-1].request.body)
    assert (sent["contact_name"], sent["phone"]) == ("Ada L.", "021 999")
