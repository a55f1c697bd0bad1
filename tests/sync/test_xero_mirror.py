"""What staff change in Xero comes back, without echo: a draft invoice approved there is sent
here (not e-mailed), a payment deleted there is deleted here (or, when the invoices refuse it,
its binding marked gone for an Admin), and a quote of ours converted to an invoice there is
accepted and invoiced here, the invoice bound to Xero's. Each through the invoice webhook and
through the pull, against the sandbox over real HTTP, the change made with the sandbox's
controls; none queues an outbox item."""

from decimal import Decimal

import pytest
from django.core import mail

from apps.invoices import services as invoice_services
from apps.invoices.models import CommissionBill, Invoice, Payment
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sandbox.xero import services as xero_services
from apps.sandbox.xero.models import XeroInvoice, XeroPayment, XeroQuote
from apps.sync.engine.entities import payment_reference
from apps.sync.models import Binding, BindingStatus, OutboxItem, SyncLog
from apps.sync.webhooks.models import InboundWebhook
from tests.quotes.factories import DocClientFactory
from tests.sync.test_xero_flows import connect_xero, drain_until_settled, three_line_quote
from tests.sync.test_xero_pulls import pull

pytestmark = pytest.mark.django_db(transaction=True)

LINES = [{"name": "Translation", "quantity": "2", "rate": "150.00", "tax_rate": "0"}]


def control(admin_client, tenant, path: str, fields: dict) -> dict:
    """A bookkeeper's change in Xero, through the sandbox's control for it."""
    answer = admin_client.post(f"/sandbox/xero/control/tenants/{tenant.tenant_id}/{path}", fields)
    assert answer.status_code == 200, answer.content
    return answer.json()


def outbox_ids() -> set[int]:
    return set(OutboxItem.objects.values_list("pk", flat=True))


def webhook_result() -> str:
    """The one delivery since the last clear, processed; its outcome."""
    row = InboundWebhook.objects.get()
    assert row.status == "processed", (row.status, row.result)
    return row.result


def sent_and_paid(agent, amount: str) -> tuple[Invoice, Payment, XeroPayment]:
    invoice = invoice_services.invoice_send(
        invoice=invoice_services.invoice_create(
            client=DocClientFactory(), lines=LINES, created_by=agent, assignee=agent
        )
    )
    payment = invoice_services.payment_record(invoice=invoice, amount=Decimal(amount))
    drain_until_settled()
    remote = XeroPayment.objects.get(
        payment_id=Binding.objects.get(object_id=payment.pk, entity="payments").remote_id
    )
    return invoice, payment, remote


# --- a draft approved in Xero -------------------------------------------------------------------
def _draft(agent) -> tuple[Invoice, XeroInvoice]:
    draft = invoice_services.invoice_create(
        client=DocClientFactory(), lines=LINES, created_by=agent
    )
    drain_until_settled()
    remote = XeroInvoice.objects.get(invoice_number=draft.number)
    assert remote.status == "DRAFT"
    return draft, remote


def _assert_sent_not_mailed(draft: Invoice) -> None:
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.SENT
    assert draft.emailed_at is not None  # Xero delivers it: no mail owed from here
    assert not [m for m in mail.outbox if draft.number in m.subject]


def test_draft_approved_in_xero_is_sent_here_by_its_webhook(
    live_server, settings, agent_user, admin_client_mfa
):
    _, tenant = connect_xero(live_server, settings)
    draft, remote = _draft(agent_user)
    InboundWebhook.objects.all().delete()
    before = outbox_ids()

    control(
        admin_client_mfa,
        tenant,
        "status",
        {"kind": "invoice", "id": remote.invoice_number, "status": "AUTHORISED"},
    )

    assert "sent (approved in Xero)" in webhook_result()
    _assert_sent_not_mailed(draft)
    assert outbox_ids() == before  # no echo


def test_draft_approved_in_xero_is_sent_here_by_the_pull(
    live_server, settings, agent_user, admin_client_mfa
):
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    draft, remote = _draft(agent_user)
    pull(connection, "invoices")
    before = outbox_ids()

    control(
        admin_client_mfa,
        tenant,
        "status",
        {"kind": "invoice", "id": remote.invoice_number, "status": "AUTHORISED"},
    )
    run = pull(connection, "invoices")

    assert run["updated"] == 1
    _assert_sent_not_mailed(draft)
    assert outbox_ids() == before
    assert pull(connection, "invoices")["updated"] == 0


def test_a_draft_approved_in_xero_that_we_cannot_send_stays_a_draft_for_an_admin(
    live_server, settings, agent_user, admin_client_mfa
):
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    draft, remote = _draft(agent_user)
    invoice_services.invoice_line_remove(line=draft.lines.get())  # not sent to Xero: a draft
    pull(connection, "invoices")
    before = outbox_ids()

    control(
        admin_client_mfa,
        tenant,
        "status",
        {"kind": "invoice", "id": remote.invoice_number, "status": "AUTHORISED"},
    )
    pull(connection, "invoices")

    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT
    binding = Binding.objects.get(entity="invoices", object_id=draft.pk)
    assert binding.status == BindingStatus.FAILED
    assert binding.last_error == (
        f"Approved in Xero, still a draft here: Invoice {draft.number} has no lines; add one first."
    )
    assert outbox_ids() == before


# --- a payment deleted in Xero ------------------------------------------------------------------
def _assert_payment_deleted(invoice: Invoice, payment: Payment) -> None:
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        Invoice.Status.SENT,
        Decimal("0.00"),
        invoice.total,
    )
    assert not Payment.objects.filter(pk=payment.pk).exists()
    assert not Binding.objects.filter(entity="payments", object_id=payment.pk).exists()
    assert not CommissionBill.objects.filter(invoice=invoice).exists()  # pending: it went too
    assert Payment.history.filter(id=payment.pk, history_type="-").get().history_change_reason


def test_payment_deleted_in_xero_is_deleted_here_by_its_webhook(
    live_server, settings, agent_user, admin_client_mfa
):
    agent_user.commission_rate = Decimal("5.00")
    agent_user.save()
    _, tenant = connect_xero(live_server, settings)
    invoice, payment, remote = sent_and_paid(agent_user, "300.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    InboundWebhook.objects.all().delete()
    before = outbox_ids()

    control(admin_client_mfa, tenant, "payments/delete", {"payment": str(remote.payment_id)})

    assert "payment 300.00 deleted" in webhook_result()
    _assert_payment_deleted(invoice, payment)
    assert outbox_ids() == before
    remote.refresh_from_db()
    assert remote.status == "DELETED" and XeroPayment.objects.count() == 1


def test_payment_deleted_in_xero_is_deleted_here_by_the_pull_and_a_late_read_is_not(
    live_server, settings, agent_user, admin_client_mfa
):
    from apps.sync.connectors.xero.importers import record_apply, record_reads
    from apps.sync.engine.connections import adapter_for

    agent_user.commission_rate = Decimal("5.00")
    agent_user.save()
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    invoice, payment, remote = sent_and_paid(agent_user, "300.00")
    adapter = adapter_for(connection)
    # An invoice read before our payment reached Xero lists none: the payment is read again,
    # found AUTHORISED there, and stays.
    stale = adapter.get("invoices", str(remote.invoice.invoice_id))
    stale.data["Payments"] = []
    reads = record_reads(connection=connection, entity="invoices", record=stale, adapter=adapter)
    assert reads == {}
    assert (
        record_apply(connection=connection, entity="invoices", record=stale, deleted_payments=reads)
        == "unchanged"
    )
    assert Payment.objects.filter(pk=payment.pk).exists()
    pull(connection, "invoices")
    before = outbox_ids()

    control(admin_client_mfa, tenant, "payments/delete", {"payment": str(remote.payment_id)})
    run = pull(connection, "invoices")

    assert run["updated"] == 1
    _assert_payment_deleted(invoice, payment)
    assert outbox_ids() == before
    asked = SyncLog.objects.filter(method="GET", url__contains=f"/Payments/{remote.payment_id}")
    assert asked.exists()  # confirmed DELETED before anything was removed here


def test_payment_deleted_in_xero_whose_commission_was_paid_waits_for_an_admin(
    live_server, settings, agent_user, admin_client_mfa
):
    agent_user.commission_rate = Decimal("5.00")
    agent_user.save()
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    invoice, payment, remote = sent_and_paid(agent_user, "300.00")
    invoice_services.commission_bill_mark_paid(bill=CommissionBill.objects.get(invoice=invoice))
    pull(connection, "invoices")
    before = outbox_ids()

    control(admin_client_mfa, tenant, "payments/delete", {"payment": str(remote.payment_id)})
    pull(connection, "invoices")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID  # kept: not silently, but for a person
    binding = Binding.objects.get(entity="payments", object_id=payment.pk)
    assert binding.status == BindingStatus.GONE
    assert "Deleted in Xero, kept here" in binding.last_error
    assert "commission" in binding.last_error
    assert outbox_ids() == before


def test_a_payment_deleted_and_entered_again_in_xero_is_replaced_here_in_one_pull(
    live_server, settings, agent_user, admin_client_mfa
):
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    invoice, payment, remote = sent_and_paid(agent_user, "300.00")
    pull(connection, "invoices")
    before = outbox_ids()

    # The usual correction: the wrong one deleted, the right one entered, before our pull.
    control(admin_client_mfa, tenant, "payments/delete", {"payment": str(remote.payment_id)})
    control(
        admin_client_mfa,
        tenant,
        "payments",
        {"invoice": remote.invoice.invoice_number, "amount": "300.00", "reference": "Corrected"},
    )
    pull(connection, "invoices")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, Decimal("300.00"))
    [replacement] = invoice.payments.all()
    assert replacement.pk != payment.pk and replacement.reference == "Corrected"
    corrected = XeroPayment.objects.get(status="AUTHORISED")
    assert Binding.objects.get(entity="payments", object_id=replacement.pk).remote_id == str(
        corrected.payment_id
    )
    assert outbox_ids() == before


def test_a_payment_entered_again_with_our_reference_is_recorded_anew(
    live_server, settings, agent_user, admin_client_mfa
):
    """The bookkeeper deletes our payment in Xero and enters it again, copying its Reference:
    the new Xero payment is recorded here as a payment of its own, not bound to the deleted one."""
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    invoice, payment, remote = sent_and_paid(agent_user, "300.00")
    pull(connection, "invoices")
    before = outbox_ids()

    control(admin_client_mfa, tenant, "payments/delete", {"payment": str(remote.payment_id)})
    control(
        admin_client_mfa,
        tenant,
        "payments",
        {
            "invoice": remote.invoice.invoice_number,
            "amount": "300.00",
            "reference": payment_reference(payment),
        },
    )
    pull(connection, "invoices")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, Decimal("300.00"))
    [replacement] = invoice.payments.all()
    assert replacement.pk != payment.pk
    entered = XeroPayment.objects.get(status="AUTHORISED")
    binding = Binding.objects.get(entity="payments", remote_id=str(entered.payment_id))
    assert binding.object_id == replacement.pk
    assert outbox_ids() == before


def test_a_payment_xero_no_longer_knows_at_all_waits_for_an_admin(
    live_server, settings, agent_user
):
    from django.db import transaction

    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    invoice, payment, remote = sent_and_paid(agent_user, "100.00")
    pull(connection, "invoices")
    with transaction.atomic():  # not something Xero does: its payment answers 404 from now on
        remote_invoice = XeroInvoice.objects.select_for_update().get(pk=remote.invoice_id)
        remote.delete()
        remote_invoice.amount_paid -= Decimal("100.00")
        xero_services.touch(remote_invoice, tenant, created=False)
        remote_invoice.save()
    before = outbox_ids()

    pull(connection, "invoices")

    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")  # kept: Xero never said it was deleted
    binding = Binding.objects.get(entity="payments", object_id=payment.pk)
    assert binding.status == BindingStatus.GONE
    assert binding.last_error.startswith("Xero no longer has payment")
    assert outbox_ids() == before


# --- a quote converted to an invoice in Xero ----------------------------------------------------
def _sent_quote(agent) -> tuple[Quote, XeroQuote]:
    quote = quote_services.quote_send(quote=three_line_quote(agent))
    drain_until_settled()
    return quote, XeroQuote.objects.get(quote_number=quote.number)


def _assert_invoiced_here(quote: Quote, connection, *, status: str) -> Invoice:
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED
    invoice = Invoice.objects.get(quote=quote)  # the quote is invoiced here
    remote = XeroInvoice.objects.get()  # and Xero still has the one invoice it made
    assert remote.reference == quote.number and XeroQuote.objects.get().status == "INVOICED"
    binding = Binding.objects.get(connection=connection, entity="invoices", object_id=invoice.pk)
    assert (binding.remote_id, binding.remote_number) == (
        str(remote.invoice_id),
        remote.invoice_number,
    )
    assert binding.status == BindingStatus.SYNCED and binding.totals["differ"] == []
    assert invoice.status == status
    assert invoice.total == remote.total and invoice.assignee == quote.created_by
    return invoice


def test_quote_converted_in_xero_is_invoiced_here_by_its_invoice_webhook(
    live_server, settings, agent_user, admin_client_mfa
):
    connection, tenant = connect_xero(live_server, settings)
    quote, remote_quote = _sent_quote(agent_user)
    InboundWebhook.objects.all().delete()
    before = outbox_ids()

    control(
        admin_client_mfa,
        tenant,
        "quotes/convert",
        {"quote": remote_quote.quote_number, "status": "AUTHORISED"},
    )

    assert f"converted in Xero from quote {quote.number}" in webhook_result()
    invoice = _assert_invoiced_here(quote, connection, status=Invoice.Status.SENT)
    assert not [m for m in mail.outbox if invoice.number in m.subject]
    assert outbox_ids() == before
    # The same event again changes nothing.
    from apps.sync.webhooks.services import webhook_process

    row = InboundWebhook.objects.get()
    InboundWebhook.objects.filter(pk=row.pk).update(status="failed")
    assert webhook_process(webhook_id=row.pk) == "processed"
    assert Invoice.objects.filter(quote=quote).count() == 1 and outbox_ids() == before


def test_quote_converted_in_xero_is_invoiced_here_by_the_pulls(
    live_server, settings, agent_user, admin_client_mfa
):
    connection, tenant = connect_xero(live_server, settings, webhooks=False)
    quote, remote_quote = _sent_quote(agent_user)
    pull(connection, "quotes")
    pull(connection, "invoices")
    before = outbox_ids()

    control(admin_client_mfa, tenant, "quotes/convert", {"quote": str(remote_quote.quote_id)})
    quotes_run = pull(connection, "quotes")
    invoices_run = pull(connection, "invoices")

    assert (quotes_run["updated"], invoices_run["updated"]) == (1, 1)
    _assert_invoiced_here(quote, connection, status=Invoice.Status.DRAFT)
    assert outbox_ids() == before
    assert pull(connection, "invoices")["updated"] == 0


def test_controls_refuse_naming_the_field(live_server, settings, admin_client_mfa):
    _, tenant = connect_xero(live_server, settings, webhooks=False)
    base = f"/sandbox/xero/control/tenants/{tenant.tenant_id}"
    for path, fields, field in (
        ("payments/delete", {}, "payment"),
        ("payments/delete", {"payment": "not-an-id"}, "payment"),
        ("quotes/convert", {"quote": "QU-9999"}, "quote"),
    ):
        answer = admin_client_mfa.post(f"{base}/{path}", fields)
        assert (answer.status_code, answer.json()["field"]) == (400, field)
