"""Batched writes against the Xero sandbox over real HTTP (engine/batch.py, connectors/xero/
batches.py): many creates in one PUT and many updates in one POST, each element answered for by
itself; a bad element refused alone with the field named; a batch that timed out after the
vendor committed resolved by looking the references up, never resent blind; per-record order
kept; a record held by a conflict parked while the rest of its batch goes."""

import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.catalog.models import TaxRate
from apps.clients.models import Client
from apps.invoices.models import Invoice
from apps.invoices.services import invoice_create
from apps.sandbox import faults
from apps.sandbox.xero.models import XeroContact, XeroInvoice
from apps.sandbox.zoho.models import CrmRecord
from apps.sync.conflicts.models import Conflict, ConflictPolicy
from apps.sync.engine import batch, outbox
from apps.sync.engine.connections import adapter_for
from apps.sync.journal.selectors import record_journal
from apps.sync.models import (
    Binding,
    CircuitState,
    Connection,
    ConnectionCircuit,
    Entity,
    Operation,
    OutboxBatch,
    OutboxItem,
    OutboxStatus,
    SyncLog,
)
from tests.quotes.factories import DocServiceFactory
from tests.sync.sandbox import books_connect, point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def xero(live_server, settings, monkeypatch):
    point_settings_at(settings, live_server.url)
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the test drains
    answers = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0)
    sync("connect", "xero", "--refresh-token", answers["xero"]["refresh_token"], "--name", "Xero")
    # The sandbox login reaches two organisations: the tests use the first one only.
    connection = Connection.objects.filter(provider="xero").order_by("id").first()
    Connection.objects.filter(provider="xero").exclude(pk=connection.pk).delete()
    return connection


def contacts_in_xero(connection, **filters):
    return XeroContact.objects.filter(tenant__tenant_id=connection.remote_account_id, **filters)


def writes(connection, since_id=0):
    return list(
        SyncLog.objects.filter(connection=connection, id__gt=since_id)
        .exclude(method="GET")
        .order_by("id")
        .values_list("method", "url")
    )


def make_clients(names):
    return [Client.objects.create(name=name, email=f"{name.lower()}@example.com") for name in names]


def test_creates_go_in_one_call_and_a_bad_element_is_refused_alone_with_its_field(xero):
    make_clients(["Taken"])
    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 1}
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()

    clients = make_clients(["Ada", "Grace", "Katherine"])
    duplicate = Client.objects.create(name="Taken", email="other@example.com")
    clients += make_clients(["Mary", "Edith"])

    assert outbox.outbox_drain(connection_id=xero.pk) == {
        OutboxStatus.DONE: 5,
        OutboxStatus.DEAD: 1,
    }
    calls = writes(xero, before)
    assert len(calls) == 1 and calls[0][0] == "PUT" and "summarizeErrors=false" in calls[0][1]
    refused = OutboxItem.objects.get(object_id=duplicate.pk)
    assert refused.status == OutboxStatus.DEAD
    # Another person of that name (Xero keeps names unique): refused naming the name.
    assert "Xero already has another contact named “Taken”" in refused.last_error
    assert not Binding.objects.filter(object_id=duplicate.pk).exists()
    for client in clients:
        binding = Binding.objects.get(object_id=client.pk)
        contact = contacts_in_xero(xero, contact_number=f"SD-C-{client.pk:06d}").get()
        assert binding.remote_id == str(contact.contact_id)  # matched by reference
        assert contact.name == client.name
    [batch] = [b for b in OutboxBatch.objects.filter(connection=xero) if len(b.item_ids) == 6]
    assert len(batch.body) == 6 and batch.body[0]["ContactNumber"] == f"SD-C-{clients[0].pk:06d}"


def test_invoices_queued_together_go_in_one_call_in_queue_order(xero):
    """Documents of one connection go strictly in queue order, yet a run of invoice creates is
    one batch: the claim lets the run behind the head be claimed together (claim._run_end)."""
    clients = make_clients(["Ada", "Bea"])
    outbox.outbox_drain(connection_id=xero.pk)
    since = SyncLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    for n in range(12):
        invoice_create(
            client=clients[n % 2],
            lines=[{"name": f"Work {n}", "quantity": Decimal("1"), "rate": Decimal("10.00")}],
        )
    outbox.outbox_drain(connection_id=xero.pk)

    invoice_writes = [url for _method, url in writes(xero, since) if "/Invoices" in url]
    assert len(invoice_writes) == 1  # one write call for the twelve
    done = OutboxItem.objects.filter(
        connection=xero, entity=Entity.INVOICES, status=OutboxStatus.DONE
    )
    assert done.count() == 12
    in_xero = XeroInvoice.objects.filter(tenant__tenant_id=xero.remote_account_id).order_by("id")
    assert list(in_xero.values_list("invoice_number", flat=True)) == list(
        Invoice.objects.order_by("id").values_list("number", flat=True)
    )


def _our_queries(queries) -> list[str]:
    """The statements Syncdesk ran for the records: not the sandbox's (it answers from a thread
    of this process and, on SQLite's in-memory test database, shares the connection; its tables
    are sandbox_*), nor the rate governor's row, read again each time it waits for room in
    Xero's window (a matter of timing, not of records), nor transaction control."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "sandbox_" not in q["sql"]
        and "sync_ratebudget" not in q["sql"]
        and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
    ]


def _shape(sql: str) -> str:
    return re.sub(r"'[^']*'|\d+", "?", sql)[:120]


def test_a_chunk_of_invoices_costs_the_same_queries_whatever_its_invoices_and_lines(xero):
    """Query budget of a batch (document_lines.documents_ids, invoices_after, engine/batch.py):
    lines, the clients' and items' bindings, taxes, accounts and currency are read once per
    chunk, the totals compared and the items finished in a few statements, so 40 invoices of
    four lines cost what 12 invoices of two lines cost."""
    vat = TaxRate.objects.get_or_create(name="VAT", defaults={"rate": Decimal("15.000")})[0]
    clients = make_clients(["Ada", "Bea", "Cat"])
    services = [DocServiceFactory(rate=Decimal("12.50"), tax_rate=vat) for _ in range(3)]

    def queue(invoices: int, service_lines: int) -> None:
        for n in range(invoices):
            lines = [{"service": services[k % 3], "quantity": "2"} for k in range(service_lines)]
            lines.append({"name": "Courier", "rate": "10.00", "tax_rate": "0"})
            invoice_create(client=clients[n % 3], lines=lines)

    queue(1, 3)  # the contacts and items made in Xero and bound first
    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 3 + 3 + 1}
    counted = []
    # Both more than the drain's first claim of ten, so both top the batch up (outbox._send).
    for invoices, service_lines in ((12, 1), (40, 3)):
        queue(invoices, service_lines)
        with CaptureQueriesContext(db_connection) as queries:
            assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: invoices}
        counted.append(_our_queries(queries))
    assert len(counted[0]) == len(counted[1]), Counter(map(_shape, counted[1])) - Counter(
        map(_shape, counted[0])
    )
    in_xero = XeroInvoice.objects.filter(tenant__tenant_id=xero.remote_account_id)
    assert in_xero.count() == 1 + 12 + 40
    for invoice in Invoice.objects.all():
        remote = in_xero.get(invoice_number=invoice.number)
        binding = Binding.objects.get(entity=Entity.INVOICES, object_id=invoice.pk)
        assert binding.status == "synced" and binding.totals["differ"] == []
        assert (remote.total, binding.totals["theirs"]["total"]) == (
            invoice.total,
            str(invoice.total),
        )


def test_an_unmapped_tax_refuses_its_invoices_alone_and_is_looked_up_once_a_batch(xero):
    """A lookup that fails (here a tax rate Xero has no tax for) fails each invoice needing it,
    named, without asking Xero again for each; the rest of the chunk goes in the same call."""
    odd = TaxRate.objects.create(name="Odd levy", rate=Decimal("7.000"))
    ada, bea = make_clients(["Ada", "Bea"])
    outbox.outbox_drain(connection_id=xero.pk)
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()
    fine = invoice_create(client=ada, lines=[{"name": "Work", "rate": "10.00"}])
    taxed = [
        invoice_create(
            client=client, lines=[{"name": "Levied", "rate": "10.00", "tax_rate": odd.rate}]
        )
        for client in (ada, bea)
    ]
    last = invoice_create(client=bea, lines=[{"name": "Work", "rate": "20.00"}])

    assert outbox.outbox_drain(connection_id=xero.pk) == {
        OutboxStatus.DONE: 2,
        OutboxStatus.DEAD: 2,
    }
    for invoice in taxed:
        item = OutboxItem.objects.get(entity=Entity.INVOICES, object_id=invoice.pk)
        assert "Tax rate “Odd levy” (7%) has no Xero tax" in item.last_error
    calls = SyncLog.objects.filter(connection=xero, id__gt=before)
    assert calls.filter(url__contains="/TaxRates").count() == 1  # asked again once, not twice
    assert [url for _method, url in writes(xero, before)] == [
        url for _method, url in writes(xero, before) if "/Invoices" in url
    ]
    assert len(writes(xero, before)) == 1
    in_xero = XeroInvoice.objects.filter(tenant__tenant_id=xero.remote_account_id)
    assert sorted(in_xero.values_list("invoice_number", flat=True)) == [fine.number, last.number]


def test_a_batch_timing_out_after_commit_is_looked_up_and_only_the_missing_are_resent(
    xero, settings
):
    settings.SYNC_HTTP_TIMEOUT = 0.5
    tenant = xero.remote_account_id
    faults.fault_plan_set(vendor="xero", account=tenant, timeout_share=1.0, timeout_seconds=1.5)
    clients = make_clients(["Ada", "Grace", "Katherine", "Mary"])
    outbox.outbox_drain(connection_id=xero.pk)
    faults.fault_plan_clear(vendor="xero", account=tenant)
    items = OutboxItem.objects.filter(entity=Entity.CLIENTS)
    assert all(item.uncertain and item.status == OutboxStatus.PENDING for item in items)
    assert contacts_in_xero(xero).filter(contact_number__startswith="SD-C-").count() == 4
    # One of them is gone from Xero meanwhile: that one alone is sent again.
    contacts_in_xero(xero, contact_number=f"SD-C-{clients[3].pk:06d}").delete()
    items.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()

    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 4}

    gets = SyncLog.objects.filter(connection=xero, id__gt=before, method="GET").count()
    assert gets == 1  # the four references looked up in one list call
    calls = writes(xero, before)
    assert len(calls) == 1 and calls[0][0] == "PUT"
    first, second = OutboxBatch.objects.filter(connection=xero).order_by("id")
    assert second.item_ids == [items.get(object_id=clients[3].pk).pk]
    assert second.idempotency_key != first.idempotency_key  # a new key for the resend
    for client in clients:
        reference = f"SD-C-{client.pk:06d}"
        assert contacts_in_xero(xero, contact_number=reference).count() == 1
        assert Binding.objects.get(object_id=client.pk).remote_id


def test_an_update_waits_for_its_create_and_goes_after_it(xero):
    ada, grace = make_clients(["Ada", "Grace"])
    claimed = outbox.outbox_claim(owner="w1", connection_id=xero.pk)
    assert len(claimed) == 2
    ada.phone = "021 555"
    ada.save()  # the create is in flight: an update is queued behind it
    update = OutboxItem.objects.get(object_id=ada.pk, operation=Operation.UPDATE)
    assert outbox.outbox_claim(owner="w2", connection_id=xero.pk) == []  # not before its create

    statuses, alone = batch.outbox_process_batch(item_ids=claimed, owner="w1")
    assert set(statuses.values()) == {OutboxStatus.DONE} and alone == []
    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 1}

    update.refresh_from_db()
    create = OutboxItem.objects.get(object_id=ada.pk, operation=Operation.CREATE)
    assert create.finished_at <= update.finished_at
    assert writes(xero)[0][0] == "PUT"  # one PUT for both creates
    contact = contacts_in_xero(xero, contact_number=f"SD-C-{ada.pk:06d}").get()
    assert "021 555" in str(contact.phones)
    assert contacts_in_xero(xero, contact_number=f"SD-C-{grace.pk:06d}").count() == 1


def test_a_record_held_by_a_conflict_is_parked_and_the_rest_of_its_batch_goes(xero):
    ConflictPolicy.objects.create(entity="clients", field="phone", policy="manual")
    ada, grace, mary = make_clients(["Ada", "Grace", "Mary"])
    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 3}
    adapter = adapter_for(xero)
    remote_id = Binding.objects.get(object_id=ada.pk).remote_id
    adapter.update(
        "contacts", remote_id, {"Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "021 111"}]}
    )
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()

    for client, phone in ((ada, "021 222"), (grace, "021 333"), (mary, "021 444")):
        client.phone = phone
        client.save()

    assert outbox.outbox_drain(connection_id=xero.pk) == {
        OutboxStatus.DONE: 2,
        OutboxStatus.PENDING: 1,
    }
    held = OutboxItem.objects.get(object_id=ada.pk, operation=Operation.UPDATE)
    assert held.next_attempt_at == outbox.HELD_UNTIL
    assert Conflict.objects.get().field == "phone"
    calls = writes(xero, before)
    assert (
        len(calls) == 1
        and calls[0][0] == "POST"
        and calls[0][1].split("?")[0].endswith("/Contacts")
    )  # Grace and Mary in one call, to the collection
    for client, phone in ((grace, "021 333"), (mary, "021 444")):
        contact = contacts_in_xero(xero, contact_number=f"SD-C-{client.pk:06d}").get()
        assert phone in str(contact.phones)
    ada_remote = contacts_in_xero(xero, contact_number=f"SD-C-{ada.pk:06d}").get()
    assert "021 111" in str(ada_remote.phones)  # the held value was not pushed


@pytest.fixture
def crm(live_server, settings, monkeypatch):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the test drains
    books_connect(settings, live_server.url, crm=True)
    return Connection.objects.get(provider="zoho_crm")


def test_crm_contacts_go_many_a_call_and_a_bad_one_is_refused_alone_with_its_field(crm):
    Client.objects.bulk_create(
        [
            Client(name="Ada Lovelace", email="ada@example.com"),
            Client(name="Grace Hopper", email="not an e-mail"),
            Client(name="Mary Jackson", email="mary@example.com"),
        ]
    )
    clients = list(Client.objects.order_by("id"))
    outbox.outbox_enqueue_many(connection=crm, entity=Entity.CLIENTS, objs=clients)

    assert outbox.outbox_drain(connection_id=crm.pk) == {
        OutboxStatus.DONE: 2,
        OutboxStatus.DEAD: 1,
    }
    [(method, url)] = writes(crm)
    assert method == "POST" and url.split("?")[0].endswith("/crm/v6/Contacts/upsert")
    refused = OutboxItem.objects.get(connection=crm, object_id=clients[1].pk)
    assert f"Zoho CRM refused contact SD-C-{clients[1].pk:06d}: Email: INVALID_DATA" in (
        refused.last_error
    )
    records = CrmRecord.objects.filter(module="Contacts")
    assert sorted(r.data["Syncdesk_Reference"] for r in records) == [
        f"SD-C-{clients[0].pk:06d}",
        f"SD-C-{clients[2].pk:06d}",
    ]
    for client in (clients[0], clients[2]):
        record = records.get(data__Syncdesk_Reference=f"SD-C-{client.pk:06d}")
        assert Binding.objects.get(connection=crm, object_id=client.pk).remote_id == (
            record.record_id
        )

    # Edited here: one PUT updates both by id, nothing is made twice.
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()
    Client.objects.filter(pk__in=[clients[0].pk, clients[2].pk]).update(phone="021 555")
    outbox.outbox_enqueue_many(connection=crm, entity=Entity.CLIENTS, objs=[clients[0], clients[2]])
    assert outbox.outbox_drain(connection_id=crm.pk) == {OutboxStatus.DONE: 2}
    [(method, url)] = writes(crm, before)
    assert method == "PUT" and url.split("?")[0].endswith("/crm/v6/Contacts")
    records = CrmRecord.objects.filter(module="Contacts")  # read again
    assert records.count() == 2
    assert {r.data["Phone"] for r in records} == {"021 555"}


def test_a_throttled_batch_retries_every_element_later_by_the_normal_rule(xero):
    clients = make_clients(["Ada", "Grace", "Mary"])
    faults.fault_storm(vendor="xero", account=xero.remote_account_id, vendor_seconds=2)

    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.PENDING: 3}

    faults.fault_plan_clear(vendor="xero", account=xero.remote_account_id)
    [(method, _)] = writes(xero)
    assert method == "PUT"  # the three in one call, answered 429
    for client in clients:
        item = OutboxItem.objects.get(object_id=client.pk)
        # One attempt each, as one by one; certain again (Xero refused it before it acted).
        assert (item.attempts, item.uncertain, item.last_http_status) == (1, False, 429)
    assert not contacts_in_xero(xero).filter(contact_number__startswith="SD-C-").exists()


def test_an_outage_pauses_batched_creates_and_their_lookups_without_spending_attempts(
    xero, settings
):
    """A batch whose call failed is looked up next time; while the vendor still answers 503 to
    everything, those lookups count towards the circuit breaker like any call, which opens and
    holds the items: no attempt spent while open, nothing dead-lettered, all sent once after."""
    settings.SYNC_CIRCUIT_FAILURES = 2
    tenant = xero.remote_account_id
    faults.fault_plan_set(vendor="xero", account=tenant, error_share=1.0, error_status=503)
    clients = make_clients(["Ada", "Grace", "Katherine"])
    items = OutboxItem.objects.filter(connection=xero, entity=Entity.CLIENTS)
    for _ in range(4):
        items.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        outbox.outbox_drain(connection_id=xero.pk)

    circuit_row = ConnectionCircuit.objects.get(pk=xero.pk)
    assert circuit_row.state == CircuitState.OPEN
    assert not items.filter(status=OutboxStatus.DEAD).exists()
    assert max(item.attempts for item in items) <= settings.SYNC_CIRCUIT_FAILURES

    faults.fault_plan_clear(vendor="xero", account=tenant)
    ConnectionCircuit.objects.filter(pk=xero.pk).update(next_probe_at=timezone.now())
    for _ in range(3):
        items.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        outbox.outbox_drain(connection_id=xero.pk)
    assert set(items.values_list("status", flat=True)) == {OutboxStatus.DONE}
    for client in clients:
        assert contacts_in_xero(xero, contact_number=f"SD-C-{client.pk:06d}").count() == 1


def test_a_batch_refused_as_a_whole_is_sent_again_one_by_one_and_only_the_bad_one_dies(xero):
    """Xero refusing the lot for one element (a 400 for the whole call, nothing saved) says
    nothing of the others: each element goes again by itself, so the good ones are made once
    and only the bad one is dead-lettered, with the field its refusal names."""
    make_clients(["Taken"])
    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 1}
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()
    tenant = xero.remote_account_id
    faults.fault_plan_set(vendor="xero", account=tenant, refuse_whole_batches=True)
    good = make_clients(["Ada", "Grace"])
    duplicate = Client.objects.create(name="Taken", email="other@example.com")
    good += make_clients(["Mary"])

    assert outbox.outbox_drain(connection_id=xero.pk) == {
        OutboxStatus.DONE: 3,
        OutboxStatus.DEAD: 1,
    }
    calls = SyncLog.objects.filter(connection=xero, id__gt=before).exclude(method="GET")
    statuses = list(calls.order_by("id").values_list("method", "status_code"))
    # The batch of four refused as a whole, then each of the four alone.
    assert statuses == [("PUT", 400)] + [("PUT", 200)] * 4
    refused = OutboxItem.objects.get(object_id=duplicate.pk)
    assert refused.status == OutboxStatus.DEAD
    assert "Xero already has another contact named “Taken”" in refused.last_error
    assert not Binding.objects.filter(object_id=duplicate.pk).exists()
    for client in good:
        item = OutboxItem.objects.get(object_id=client.pk)
        assert (item.status, item.attempts, item.uncertain) == (OutboxStatus.DONE, 1, True)
        contact = contacts_in_xero(xero, contact_number=f"SD-C-{client.pk:06d}").get()
        assert Binding.objects.get(object_id=client.pk).remote_id == str(contact.contact_id)
    assert contacts_in_xero(xero, name="Taken").count() == 1


def test_documents_refused_as_a_whole_are_looked_up_then_go_one_by_one_in_queue_order(xero):
    """Invoices refused as a lot are looked up first (a vendor may have saved the valid ones:
    Xero does, for a batch sent without summarizeErrors), then the ones not there go again one
    per call in queue order. The third's number is already in Xero: it is bound to that invoice,
    never made twice."""
    clients = make_clients(["Ada", "Bea"])
    outbox.outbox_drain(connection_id=xero.pk)
    invoices = [
        invoice_create(
            client=clients[n % 2],
            lines=[{"name": f"Work {n}", "quantity": Decimal("1"), "rate": Decimal("10.00")}],
        )
        for n in range(4)
    ]
    # The third's number is taken in Xero (an invoice made there by hand): Xero refuses the lot.
    contact_id = Binding.objects.get(entity=Entity.CLIENTS, object_id=clients[0].pk).remote_id
    by_hand = adapter_for(xero).create(
        "invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "InvoiceNumber": invoices[2].number,
            "LineItems": [{"Description": "By hand", "Quantity": 1, "UnitAmount": 5}],
        },
        idempotency_key="",
    )
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()
    faults.fault_plan_set(vendor="xero", account=xero.remote_account_id, refuse_whole_batches=True)

    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 4}
    calls = SyncLog.objects.filter(connection=xero, id__gt=before, url__contains="/Invoices")
    writes = list(calls.exclude(method="GET").order_by("id").values_list("status_code"))
    assert writes == [(400,), (200,), (200,), (200,)]
    # One lookup of the four numbers between the refusal and the singles.
    first_single = calls.exclude(method="GET").order_by("id").values_list("id", flat=True)[1]
    assert calls.filter(method="GET", id__lt=first_single).count() == 1
    bound = Binding.objects.get(connection=xero, entity=Entity.INVOICES, object_id=invoices[2].pk)
    assert bound.remote_id == by_hand.remote_id
    made = XeroInvoice.objects.filter(tenant__tenant_id=xero.remote_account_id)
    assert made.filter(invoice_number=invoices[2].number).count() == 1
    ours = made.exclude(invoice_id=by_hand.remote_id)
    assert list(ours.order_by("id").values_list("invoice_number", flat=True)) == [
        invoices[0].number,
        invoices[1].number,
        invoices[3].number,
    ]


def test_each_record_pushed_in_one_batch_shows_that_call_in_its_journal(xero, admin_role_user):
    """One PUT carried three contacts: the journal of each client lists it under its push, with
    the body the Admin may read, though the call was made for all three at once."""
    clients = make_clients(["Ada", "Grace", "Mary"])
    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 3}
    [call] = SyncLog.objects.filter(connection=xero).exclude(method="GET")
    [sent] = OutboxBatch.objects.filter(connection=xero)
    assert call.correlation_id == sent.idempotency_key
    assert set(sent.items.values_list("object_id", flat=True)) == {c.pk for c in clients}

    for client in clients:
        journal = record_journal(obj=client, user=admin_role_user)
        [push] = [entry for entry in journal.entries if entry.kind == "outbound"]
        assert [c.summary for c in push.calls] == ["Update Contacts: done (HTTP 200)"]
        assert f"SD-C-{client.pk:06d}" in push.calls[0].request_body  # the whole call's body


def test_an_invoice_sent_again_after_a_lookup_keeps_its_place_in_the_queue(xero):
    """The first invoice's earlier call may have reached Xero (uncertain); the lookup finds it
    missing. It goes again under a new key in the same call as the two queued after it, first:
    never after them."""
    clients = make_clients(["Ada"])
    outbox.outbox_drain(connection_id=xero.pk)
    invoices = [
        invoice_create(
            client=clients[0],
            lines=[{"name": f"Work {n}", "quantity": Decimal("1"), "rate": Decimal("10.00")}],
        )
        for n in range(3)
    ]
    # As a call that timed out before Xero saved anything leaves it.
    OutboxItem.objects.filter(entity=Entity.INVOICES, object_id=invoices[0].pk).update(
        uncertain=True
    )
    before = SyncLog.objects.order_by("-id").values_list("id", flat=True).first()

    assert outbox.outbox_drain(connection_id=xero.pk) == {OutboxStatus.DONE: 3}
    calls = SyncLog.objects.filter(connection=xero, id__gt=before, url__contains="/Invoices")
    assert list(calls.order_by("id").values_list("method", flat=True)) == ["GET", "PUT"]
    made = XeroInvoice.objects.filter(tenant__tenant_id=xero.remote_account_id).order_by("id")
    assert list(made.values_list("invoice_number", flat=True)) == [i.number for i in invoices]
