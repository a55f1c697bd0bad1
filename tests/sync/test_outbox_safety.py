"""The outbox never makes a second remote record: a create is marked as attempted before it
leaves, a lapsed lease cannot finish someone else's item, one record is pushed by one worker at a
time, and an uncertain create with nothing to look it up by is dead-lettered, not re-sent."""

import json
import time

import pytest
import requests
import responses
from django.utils import timezone

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.sync.engine import dependencies, governor, leases, outbox
from apps.sync.engine.bindings import binding_bind
from apps.sync.engine.connections import adapter_for, budget_key
from apps.sync.engine.context import PushContext
from apps.sync.engine.dependencies import ensure_bound
from apps.sync.engine.records import NoLookupKey, RemoteRecord
from apps.sync.models import Binding, Entity, Operation, OutboxItem, OutboxStatus, RateBudget
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db
XERO_CONTACTS = "https://api.xero.com/api.xro/2.0/Contacts"
BOOKS_CONTACTS = "https://www.zohoapis.com/books/v3/contacts"


def xero_contact(reference, name="Ada"):
    return {
        "ContactID": f"c-{reference}",
        "Name": name,
        "ContactNumber": reference,
        "UpdatedDateUTC": "/Date(1782900000000+0000)/",
    }


def lapse_leases():
    OutboxItem.objects.update(lease_until=timezone.now() - timezone.timedelta(seconds=1))


@responses.activate
def test_a_worker_dying_after_the_create_does_not_make_the_next_claimer_send_it_again(
    monkeypatch,
):
    make_xero()
    client = Client.objects.create(name="Ada")
    reference = f"SD-C-{client.pk:06d}"
    responses.put(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})
    responses.get(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})

    def die(*args, **kwargs):
        raise KeyboardInterrupt("worker killed after the PUT")

    [item_id] = outbox.outbox_claim(owner="a")
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_bind", die)
        with pytest.raises(KeyboardInterrupt):
            outbox.outbox_process(item_id=item_id, owner="a")
    assert OutboxItem.objects.get().uncertain  # committed before the call

    lapse_leases()
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}
    assert [c.request.method for c in responses.calls] == ["PUT", "GET"]
    assert Binding.objects.get(object_id=client.pk).remote_id == f"c-{reference}"


@responses.activate
def test_a_push_that_outlived_its_lease_neither_finishes_nor_binds():
    make_xero()
    client = Client.objects.create(name="Ada")
    reference = f"SD-C-{client.pk:06d}"

    def slow_put(request):
        # While the call was out, the lease lapsed and another worker claimed the item.
        lapse_leases()
        assert outbox.outbox_claim(owner="b")
        return 200, {}, json.dumps({"Contacts": [xero_contact(reference)]})

    responses.add_callback(responses.PUT, XERO_CONTACTS, callback=slow_put)
    [item_id] = outbox.outbox_claim(owner="a")
    assert outbox.outbox_process(item_id=item_id, owner="a") == OutboxStatus.IN_FLIGHT
    item = OutboxItem.objects.get()
    assert (item.status, item.lease_owner, item.uncertain) == (OutboxStatus.IN_FLIGHT, "b", True)
    assert not Binding.objects.exists()


def test_a_lost_lease_is_checked_right_before_the_create_is_sent(monkeypatch):
    make_xero()
    Client.objects.create(name="Ada")
    assert outbox.outbox_claim(owner="a")
    item = OutboxItem.objects.get()
    OutboxItem.objects.update(lease_owner="b")  # taken over after our claim
    item.lease_owner = "a"
    with pytest.raises(outbox.LeaseLost):
        leases.mark_attempted(item)
    assert not OutboxItem.objects.get().uncertain


def held_back_while_another_worker_claims(monkeypatch, connection, *, take: int):
    """The rate-limit governor holds the next call back a moment; meanwhile the leases lapse
    and another worker ("b") claims `take` of the items."""
    key = budget_key(connection)
    governor.penalise(key, 60, None)
    real_sleep = time.sleep

    def meanwhile(seconds):
        monkeypatch.setattr(governor.time, "sleep", real_sleep)
        lapse_leases()
        assert len(outbox.outbox_claim(owner="b", limit=take)) == take
        RateBudget.objects.filter(key=key).update(blocked_until=None)  # the wait is over

    monkeypatch.setattr(governor.time, "sleep", meanwhile)


@responses.activate
def test_a_create_the_governor_held_back_past_its_lease_is_not_sent(monkeypatch):
    connection = make_xero()
    Client.objects.create(name="Ada")
    responses.put(XERO_CONTACTS, json={"Contacts": []})
    [item_id] = outbox.outbox_claim(owner="a")
    held_back_while_another_worker_claims(monkeypatch, connection, take=1)

    assert outbox.outbox_process(item_id=item_id, owner="a") == OutboxStatus.IN_FLIGHT
    assert [c.request.url for c in responses.calls] == []  # "b" sends it, after a lookup
    item = OutboxItem.objects.get()
    assert (item.lease_owner, item.uncertain) == ("b", True)


@responses.activate
def test_a_batch_the_governor_held_back_while_one_lease_lapsed_is_not_sent(monkeypatch):
    connection = make_xero()
    Client.objects.create(name="Ada")
    Client.objects.create(name="Grace")
    responses.put(XERO_CONTACTS, json={"Contacts": []})
    first, second = OutboxItem.objects.order_by("id")
    # The drain claims both (one batch); while its call waits, "b" takes the first.
    held_back_while_another_worker_claims(monkeypatch, connection, take=1)

    outbox.outbox_drain(max_items=2)
    assert [c.request.url for c in responses.calls] == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.lease_owner) == (OutboxStatus.IN_FLIGHT, "b")
    # Ours goes back, its attempt not counted; looked up before it goes (another call of the
    # same send may have left before the wait).
    assert (second.status, second.uncertain, second.attempts) == (OutboxStatus.PENDING, True, 0)


def test_slow_calls_renew_the_lease_and_stop_once_another_worker_has_it(settings):
    settings.SYNC_OUTBOX_LEASE_SECONDS = 0.3
    make_xero()
    Client.objects.create(name="Ada")
    [item_id] = outbox.outbox_claim(owner="a")
    keeper = leases.LeaseKeeper([item_id], "a")
    claimed_until = OutboxItem.objects.get().lease_until
    keeper(False)  # a call soon after the claim: nothing to renew
    assert OutboxItem.objects.get().lease_until == claimed_until
    time.sleep(0.11)
    keeper(False)  # a third of a lease later: renewed, though no call waited
    assert OutboxItem.objects.get().lease_until > claimed_until
    time.sleep(0.11)
    lapse_leases()
    assert outbox.outbox_claim(owner="b")
    with pytest.raises(outbox.LeaseLost):
        keeper(False)


@responses.activate
def test_an_edit_while_the_create_is_in_flight_queues_an_update_that_waits():
    make_xero()
    client = Client.objects.create(name="Ada")
    [create_id] = outbox.outbox_claim(owner="a")
    client.name = "Ada L."
    client.save()  # the create is in flight and unbound
    update = OutboxItem.objects.exclude(pk=create_id).get()
    assert update.operation == Operation.UPDATE
    assert outbox.outbox_claim(owner="b") == []  # not while the create is in flight

    reference = f"SD-C-{client.pk:06d}"
    responses.put(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})
    # Before the update: one list of the contacts changed since the base (it has not changed).
    responses.get(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})
    responses.post(
        f"{XERO_CONTACTS}/c-{reference}", json={"Contacts": [xero_contact(reference, "Ada L.")]}
    )
    assert outbox.outbox_process(item_id=create_id, owner="a") == OutboxStatus.DONE
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}
    assert [c.request.method for c in responses.calls].count("PUT") == 1


def test_a_claim_takes_one_item_per_record_and_a_create_first():
    connection = make_xero()
    client = Client.objects.create(name="Ada")
    OutboxItem.objects.create(
        connection=connection,
        entity="clients",
        operation=Operation.UPDATE,
        object_id=client.pk,
        reference="x",
        next_attempt_at=timezone.now(),
        priority=0,
    )
    create = OutboxItem.objects.get(operation=Operation.CREATE)
    assert outbox.outbox_claim(owner="a") == [create.pk]


@responses.activate
@pytest.mark.parametrize("entity", ["client", "service"])
def test_an_uncertain_create_without_a_lookup_key_is_dead_lettered_not_resent(entity):
    make_zoho_books()
    if entity == "client":
        Client.objects.create(name="Ada")  # Books contacts are looked up by e-mail: none
        url = BOOKS_CONTACTS
    else:
        Service.objects.create(name="Audit", rate="10.00")  # items by SKU: none
        url = "https://www.zohoapis.com/books/v3/items"
    responses.post(url, body=requests.ReadTimeout())
    assert outbox.outbox_drain() == {OutboxStatus.PENDING: 1}
    OutboxItem.objects.update(next_attempt_at=timezone.now())
    assert outbox.outbox_drain() == {OutboxStatus.DEAD: 1}
    item = OutboxItem.objects.get()
    assert "could make a duplicate" in item.last_error
    assert [c.request.method for c in responses.calls] == ["POST"]


def test_a_bulk_conflict_decision_while_the_create_is_in_flight_queues_an_update():
    from apps.sync.conflicts.services import _enqueue_many

    make_xero()
    client = Client.objects.create(name="Ada")
    [create_id] = outbox.outbox_claim(owner="a")
    _enqueue_many("clients", [client])
    assert OutboxItem.objects.exclude(pk=create_id).get().operation == Operation.UPDATE


@responses.activate
def test_a_create_that_never_connected_is_certain_again_and_is_simply_retried():
    make_zoho_books()
    Client.objects.create(name="Ada")  # no e-mail: nothing to look it up by
    responses.post(BOOKS_CONTACTS, body=requests.ConnectTimeout())  # never reached Books
    responses.post(
        BOOKS_CONTACTS,
        json={"code": 0, "contact": {"contact_id": "b1", "contact_name": "Ada"}},
    )
    assert outbox.outbox_drain() == {OutboxStatus.PENDING: 1}
    assert not OutboxItem.objects.get().uncertain  # nothing can have been made
    OutboxItem.objects.update(next_attempt_at=timezone.now())
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1}
    assert [c.request.method for c in responses.calls] == ["POST", "POST"]


def dependency_context(connection):
    return PushContext(connection=connection, adapter=adapter_for(connection), item=None)


@responses.activate
def test_a_dependency_made_for_a_document_holds_its_own_queued_create_meanwhile():
    connection = make_xero()
    client = Client.objects.create(name="Ada")
    reference = f"SD-C-{client.pk:06d}"
    responses.get(XERO_CONTACTS, json={"Contacts": []})  # not at Xero yet

    def put(request):
        # While the dependency is being made, no other worker can claim the client's create.
        assert OutboxItem.objects.get().status == OutboxStatus.IN_FLIGHT
        assert outbox.outbox_claim(owner="b") == []
        return 200, {}, json.dumps({"Contacts": [xero_contact(reference)]})

    responses.add_callback(responses.PUT, XERO_CONTACTS, callback=put)
    assert ensure_bound(dependency_context(connection), Entity.CLIENTS, client) == f"c-{reference}"
    item = OutboxItem.objects.get()
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 0)  # back as it was

    outbox.outbox_drain()  # the create itself finds the binding: nothing is made again
    assert [c.request.method for c in responses.calls].count("PUT") == 1
    assert OutboxItem.objects.get().status == OutboxStatus.DONE


def xero_client_claimed_by(owner: str):
    connection = make_xero()
    client = Client.objects.create(name="Ada")
    assert outbox.outbox_claim(owner=owner)
    return connection, client, f"SD-C-{client.pk:06d}"


@responses.activate
def test_a_dependency_whose_create_is_in_flight_with_another_worker_waits_for_its_binding(
    monkeypatch,
):
    connection, client, reference = xero_client_claimed_by("a")  # "a" is sending its create

    def meanwhile(seconds):
        # "a" answers: the client is bound (no call of ours finds or makes it again).
        binding_bind(connection, Entity.CLIENTS, client.pk, record=RemoteRecord(
            remote_id=f"c-{reference}", number=reference, modified_at=None, data={}
        ))  # fmt: skip

    monkeypatch.setattr(dependencies.time, "sleep", meanwhile)
    assert ensure_bound(dependency_context(connection), Entity.CLIENTS, client) == f"c-{reference}"
    assert [c.request.url for c in responses.calls] == []
    assert OutboxItem.objects.get().lease_owner == "a"  # still "a"'s to finish


@responses.activate
def test_a_dependency_whose_create_this_worker_holds_is_made_at_once_not_waited_for(
    monkeypatch,
):
    # The same drain ("a") claimed the client's create too.
    connection, client, reference = xero_client_claimed_by("a")
    responses.get(XERO_CONTACTS, json={"Contacts": []})
    responses.put(XERO_CONTACTS, json={"Contacts": [xero_contact(reference)]})

    def no_wait(seconds):
        raise AssertionError("waited for its own item")

    monkeypatch.setattr(dependencies.time, "sleep", no_wait)
    # A linked connection's context (Books -> CRM) has no item: the owner comes with it.
    ctx = PushContext(connection=connection, adapter=adapter_for(connection), owner="a")
    assert ctx.for_connection(make_xero(name="Other", tenant="t-2")).lease_owner == "a"
    assert ensure_bound(ctx, Entity.CLIENTS, client) == f"c-{reference}"
    item = OutboxItem.objects.get()
    assert (item.status, item.lease_owner) == (OutboxStatus.IN_FLIGHT, "a")  # still the drain's


@responses.activate
def test_a_dependency_whose_earlier_create_may_have_landed_unsearchably_is_not_made_again():
    connection = make_zoho_books()
    client = Client.objects.create(name="Ada")  # no e-mail: Books cannot be searched for it
    OutboxItem.objects.filter(entity=Entity.CLIENTS).update(uncertain=True)
    with pytest.raises(NoLookupKey, match="may have reached"):
        ensure_bound(dependency_context(connection), Entity.CLIENTS, client)
    assert [c.request.url for c in responses.calls] == []
    item = OutboxItem.objects.get(entity=Entity.CLIENTS)
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 0)


def test_an_item_whose_dependency_went_to_another_worker_goes_back_for_the_next_claim(
    monkeypatch,
):
    make_xero()
    Client.objects.create(name="Ada")
    [item_id] = outbox.outbox_claim(owner="a")

    def dependency_taken(*args):
        # A dependency's own create this worker held lapsed and went to another worker.
        raise outbox.LeaseLost("the dependency's create went to another worker")

    monkeypatch.setattr(outbox, "_push", dependency_taken)
    assert outbox.outbox_process(item_id=item_id, owner="a") == OutboxStatus.PENDING
    item = OutboxItem.objects.get()
    assert (item.lease_until, item.attempts) == (None, 0)  # claimable again at once
