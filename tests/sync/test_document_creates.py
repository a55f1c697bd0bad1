"""Every create, of every entity and connector, goes the same way: marked attempted (uncertain)
and committed before it is sent, looked up by our reference before any retry. Here the worker
"dies" right after the vendor answered, before our commit (the vendor has the document, we have
no binding); the next claim must find it, never send it again. Real HTTP to the sandbox; the
death is a BaseException raised where the binding would be written."""

import pytest
from django.db.models import Count
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.sandbox.xero.models import XeroContact, XeroQuote
from apps.sandbox.zoho.models import BooksEstimate, BooksInvoice, BooksPayment, CrmRecord
from apps.sync.engine import batch, outbox
from apps.sync.models import Binding, OutboxItem, OutboxStatus
from tests.clients.factories import ClientFactory
from tests.sync.sandbox import books_connect
from tests.sync.test_zoho_flows import drain_until_settled, make_quote

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDied(BaseException):
    """Not an Exception: nothing in the outbox catches it, as nothing survives a SIGKILL."""


@pytest.fixture
def connected(live_server, settings, monkeypatch):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the test drains; no task does it
    books_connect(settings, live_server.url, crm=True, with_xero=True)


def die_once_after_the_vendor_answers(monkeypatch, entity: str, provider: str = "") -> list:
    """The first time `entity`'s create is to be bound (on `provider`'s connection, when named),
    the worker dies instead."""
    died = []
    real_bind = outbox.binding_bind

    def bind(connection, bound_entity, object_id, **kwargs):
        if bound_entity == entity and not died and provider in ("", connection.provider):
            died.append(object_id)
            raise WorkerDied
        return real_bind(connection, bound_entity, object_id, **kwargs)

    real_bind_many = batch.bindings_bind_many

    def bind_many(connection, bound_entity, rows):
        if bound_entity == entity and not died and provider in ("", connection.provider):
            died.append(rows[0][0])
            raise WorkerDied
        return real_bind_many(connection, bound_entity, rows)

    monkeypatch.setattr(outbox, "binding_bind", bind)
    monkeypatch.setattr(batch, "bindings_bind_many", bind_many)  # batched creates bind there
    return died


def restart_after_the_lease_lapses() -> None:
    """What the next worker sees once the dead one's lease has run out."""
    OutboxItem.objects.filter(status=OutboxStatus.IN_FLIGHT).update(
        lease_until=timezone.now() - timezone.timedelta(seconds=1)
    )
    drain_until_settled()


def drain_and_die() -> None:
    with pytest.raises(WorkerDied):
        drain_until_settled()


@pytest.mark.parametrize("entity", ["quotes", "deals"])
def test_a_quote_sent_when_the_worker_dies_after_the_vendor_answered_is_one_document(
    connected, agent_user, monkeypatch, entity
):
    died = die_once_after_the_vendor_answers(monkeypatch, entity)
    quote = quote_services.quote_send(quote=make_quote(agent_user))
    drain_and_die()
    # Xero pushes quotes too (two organisations here): the one that died is uncertain.
    assert died and OutboxItem.objects.filter(entity=entity, uncertain=True).exists()
    restart_after_the_lease_lapses()

    assert BooksEstimate.objects.filter(reference_number=quote.number).count() == 1
    assert CrmRecord.objects.filter(module="Deals").count() == 1
    assert BooksEstimate.objects.get(reference_number=quote.number).status == "sent"
    # One Xero quote in each organisation, never two.
    per_tenant = XeroQuote.objects.filter(quote_number=quote.number).values("tenant")
    assert sorted(row["n"] for row in per_tenant.annotate(n=Count("id"))) == [1, 1]
    bindings = Binding.objects.filter(entity=entity, object_id=quote.pk)
    assert bindings.exists() and not bindings.filter(remote_id=None).exists()


def test_an_invoice_and_a_payment_when_the_worker_dies_are_one_each(
    connected, agent_user, monkeypatch
):
    quote = quote_services.quote_send(quote=make_quote(agent_user))
    drain_until_settled()
    quote_services.quote_accept(quote=quote)
    died = die_once_after_the_vendor_answers(monkeypatch, "invoices")
    invoice = invoice_services.invoice_create_from_quote(quote=quote)
    drain_and_die()
    restart_after_the_lease_lapses()
    assert died and BooksInvoice.objects.filter(invoice_number=invoice.number).count() == 1

    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    died = die_once_after_the_vendor_answers(monkeypatch, "payments")
    invoice_services.payment_record(invoice=invoice, amount="10.00")
    drain_and_die()
    restart_after_the_lease_lapses()
    assert died and BooksPayment.objects.count() == 1


def test_a_xero_contact_when_the_worker_dies_is_one_contact(connected, monkeypatch):
    died = die_once_after_the_vendor_answers(monkeypatch, "clients", provider="xero")
    client = ClientFactory(name="Lindiwe Dube", email="lindiwe@example.com")
    drain_and_die()
    restart_after_the_lease_lapses()
    assert died
    # The sandbox login reaches two Xero organisations: one contact in each, never two.
    per_tenant = (
        XeroContact.objects.filter(email_address="lindiwe@example.com")
        .values("tenant")
        .annotate(n=Count("id"))
    )
    assert sorted(row["n"] for row in per_tenant) == [1, 1]
    xero_bindings = Binding.objects.filter(
        object_id=client.pk, entity="clients", connection__provider="xero"
    )
    assert xero_bindings.exclude(remote_id=None).count() == 2
