"""Un-recording a payment (payment_delete) and an invoice issued by other means
(invoice_send with email_client=False): the invoice's amounts and status follow, the history
keeps the deletion, a pending commission goes with the money and a paid one refuses, changing
nothing."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apps.invoices import services
from apps.invoices.models import CommissionBill, Invoice, Payment
from tests.invoices.test_services import MODELS, make_invoice, make_sent_invoice
from tests.quotes.factories import DocClientFactory, snapshot, today

pytestmark = pytest.mark.django_db


def figures(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return invoice.status, invoice.amount_paid, invoice.balance


def test_deleting_payments_owes_the_money_again_and_keeps_the_history(admin_role_user):
    invoice = make_sent_invoice()  # 230.00
    first = services.payment_record(invoice=invoice, amount="100.00")
    second = services.payment_record(invoice=invoice, amount="30.00")

    services.payment_delete(payment=second, deleted_by=admin_role_user, reason="Bounced")
    assert figures(invoice) == (Invoice.Status.PARTIALLY_PAID, Decimal("100.00"), Decimal("130.00"))
    assert list(invoice.payments.all()) == [first]
    gone = Payment.history.filter(id=second.pk, history_type="-").get()
    assert (gone.history_user, gone.history_change_reason) == (admin_role_user, "Bounced")

    services.payment_delete(payment=first)
    assert figures(invoice) == (Invoice.Status.SENT, Decimal("0.00"), Decimal("230.00"))
    # Owed again: a payment of the whole amount is accepted.
    services.payment_record(invoice=invoice, amount="230.00")
    assert figures(invoice)[0] == Invoice.Status.PAID


def test_a_paid_invoice_reopens_and_its_pending_commission_goes(agent_user):
    agent_user.commission_rate = Decimal("5.00")
    agent_user.save()
    invoice = make_sent_invoice(assignee=agent_user)
    payment = services.payment_record(invoice=invoice, amount="230.00")
    assert CommissionBill.objects.filter(invoice=invoice).exists()

    services.payment_delete(payment=payment)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance, invoice.paid_at) == (
        Invoice.Status.SENT,
        Decimal("230.00"),
        None,
    )
    assert not CommissionBill.objects.exists()
    services.payment_record(invoice=invoice, amount="230.00")
    assert CommissionBill.objects.get().invoice == invoice  # earned again, once


def test_past_its_due_date_the_reopened_invoice_is_overdue():
    issued = today() - datetime.timedelta(days=40)
    invoice = make_sent_invoice(issue_date=issued, due_date=issued + datetime.timedelta(days=10))
    payment = services.payment_record(invoice=invoice, amount="230.00")
    services.payment_delete(payment=payment)
    assert figures(invoice) == (Invoice.Status.OVERDUE, Decimal("0.00"), Decimal("230.00"))


def test_a_commission_already_paid_refuses_and_nothing_changes(agent_user):
    agent_user.commission_rate = Decimal("5.00")
    agent_user.save()
    invoice = make_sent_invoice(assignee=agent_user)
    payment = services.payment_record(invoice=invoice, amount="230.00")
    services.commission_bill_mark_paid(bill=CommissionBill.objects.get())
    before = snapshot(*MODELS)
    with pytest.raises(ValidationError) as error:
        services.payment_delete(payment=payment)
    [message] = error.value.message_dict["payment"]
    assert message.startswith(f"The commission on invoice {invoice.number} was already paid")
    assert snapshot(*MODELS) == before


def test_sent_by_other_means_is_not_emailed_and_needs_no_address():
    invoice = make_invoice(client=DocClientFactory(email=""))
    mail.outbox.clear()
    services.invoice_send(invoice=invoice, email_client=False)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert invoice.emailed_at == invoice.sent_at  # nothing owed to the retry sweep
    assert (
        services.invoice_emails_resend_unsent(now=invoice.sent_at + datetime.timedelta(days=1)) == 0
    )
    assert mail.outbox == []
    # The ordinary send still wants the address.
    other = make_invoice(client=DocClientFactory(email=""))
    with pytest.raises(ValidationError) as error:
        services.invoice_send(invoice=other)
    assert "client" in error.value.message_dict
