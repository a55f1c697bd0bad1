"""The invoices admin: invoices, payments, commission bills and reminders — list, search, add,
change, every action (Record payment through its intermediate page), agents' limits, and lists
whose query count does not grow with their rows."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.invoices import services
from apps.invoices.models import CommissionBill, Invoice, InvoiceReminder, Payment
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.benchmarks.report import count_queries
from tests.quotes.admin_data import bulk_invoices, bulk_payments_and_bills
from tests.quotes.factories import DocClientFactory

pytestmark = pytest.mark.django_db

INVOICES = reverse("admin:invoices_invoice_changelist")
PAYMENTS = reverse("admin:invoices_payment_changelist")
BILLS = reverse("admin:invoices_commissionbill_changelist")
REMINDERS = reverse("admin:invoices_invoicereminder_changelist")


def make_invoice(**kwargs) -> Invoice:
    return services.invoice_create(
        client=kwargs.pop("client", None) or DocClientFactory(),
        lines=[{"name": "Notarised copy", "quantity": "2", "rate": "100", "tax_rate": "15"}],
        **kwargs,
    )


def make_sent_invoice(**kwargs) -> Invoice:
    return services.invoice_send(invoice=make_invoice(**kwargs))


def paid_invoice_with_bill(agent) -> Invoice:
    agent.commission_rate = Decimal("10")
    agent.save()
    invoice = make_sent_invoice(assignee=agent)
    services.payment_record(invoice=invoice, amount="230.00", reference="EFT-77")
    return invoice


def management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_every_list_search_add_and_change_page_opens(admin_client_mfa, agent_user):
    invoice = paid_invoice_with_bill(agent_user)
    overdue = make_sent_invoice(
        issue_date=datetime.date.today() - datetime.timedelta(days=40),
        due_date=datetime.date.today() - datetime.timedelta(days=10),
    )
    services.invoice_mark_overdue_due()
    services.invoice_reminders_send_due()
    reminder = InvoiceReminder.objects.get()
    pages = [
        ("invoice", invoice, invoice.number, True),
        ("payment", Payment.objects.get(), "EFT-77", True),
        ("commissionbill", CommissionBill.objects.get(), invoice.number, False),
        ("invoicereminder", reminder, overdue.number, False),
    ]
    for model, obj, query, can_add in pages:
        changelist = reverse(f"admin:invoices_{model}_changelist")
        assert admin_client_mfa.get(changelist).status_code == 200, model
        found = admin_client_mfa.get(changelist, {"q": query})
        assert found.status_code == 200
        assert found.context["cl"].result_count == 1, model
        add = admin_client_mfa.get(reverse(f"admin:invoices_{model}_add"))
        assert add.status_code == (200 if can_add else 403), model
        change = admin_client_mfa.get(reverse(f"admin:invoices_{model}_change", args=[obj.pk]))
        assert change.status_code == 200, model
        history = admin_client_mfa.get(reverse(f"admin:invoices_{model}_history", args=[obj.pk]))
        assert history.status_code == 200, model


def test_add_invoice_with_lines_and_change_a_draft(admin_client_mfa, admin_with_mfa):
    client = DocClientFactory()
    today = datetime.date.today()
    data = {
        "client": str(client.pk),
        "assignee": str(admin_with_mfa.pk),
        "issue_date": today.isoformat(),
        "due_date": (today + datetime.timedelta(days=7)).isoformat(),
        "currency": "ZAR",
        "discount_type": "amount",
        "discount_value": "20",
        "notes": "",
        "terms": "",
    }
    data |= management("lines", 1) | management("payments")
    data |= {
        "lines-0-name": "Police clearance",
        "lines-0-quantity": "1",
        "lines-0-rate": "200",
        "lines-0-tax_rate": "15",
    }
    response = admin_client_mfa.post(reverse("admin:invoices_invoice_add"), data)
    assert response.status_code == 302, response.content.decode()
    assert response.url != reverse("admin:invoices_invoice_add"), [
        str(message) for message in response.wsgi_request._messages
    ]
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.total, invoice.balance) == (
        "INV-000001",
        Decimal("207.00"),
        Decimal("207.00"),
    )
    line = invoice.lines.get()
    data |= management("lines", 1, 1) | {
        "lines-0-id": str(line.pk),
        "lines-0-invoice": str(invoice.pk),
        "lines-0-position": "1",
        "lines-0-quantity": "3",
    }
    response = admin_client_mfa.post(
        reverse("admin:invoices_invoice_change", args=[invoice.pk]), data
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.total == Decimal("667.00")  # (600 - 20) x 1.15


def test_switching_only_the_discount_type_keeps_the_value(admin_client_mfa, admin_with_mfa):
    invoice = services.invoice_update(invoice=make_invoice(), discount_value=Decimal("10"))
    line = invoice.lines.get()
    data = {
        "client": str(invoice.client.pk),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": "ZAR",
        "discount_type": "percent",  # the only change: 10 off becomes 10% off
        "discount_value": "10.000",
        "notes": "",
        "terms": "",
    }
    data |= management("lines", 1, 1) | management("payments")
    data |= {
        "lines-0-id": str(line.pk),
        "lines-0-invoice": str(invoice.pk),
        "lines-0-position": str(line.position),
        "lines-0-name": line.name,
        "lines-0-quantity": "2",
        "lines-0-rate": "100",
        "lines-0-tax_rate": "15",
    }
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    response = admin_client_mfa.post(url, data)
    assert (response.status_code, response.url) == (302, INVOICES)
    invoice.refresh_from_db()
    assert (invoice.discount_type, invoice.discount_value) == ("percent", Decimal("10.000"))
    assert (invoice.discount_total, invoice.total) == (Decimal("20.00"), Decimal("207.00"))


def test_a_sent_invoice_is_read_only(admin_client_mfa):
    invoice = make_sent_invoice()
    page = admin_client_mfa.get(reverse("admin:invoices_invoice_change", args=[invoice.pk]))
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()


def act(client, action, *invoices, extra=None, follow=True):
    data = {"action": action, "_selected_action": [str(invoice.pk) for invoice in invoices]}
    return client.post(INVOICES, data | (extra or {}), follow=follow)


def test_actions_send_void_mark_overdue(admin_client_mfa, django_capture_on_commit_callbacks):
    draft = make_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        assert "Sent: 1 record." in act(admin_client_mfa, "send", draft).content.decode()
    assert [message.subject for message in mail.outbox] == [f"Invoice {draft.number}"]
    to_void = make_sent_invoice()
    assert "Voided: 1 record." in act(admin_client_mfa, "void", to_void).content.decode()
    late = make_sent_invoice(
        issue_date=datetime.date.today() - datetime.timedelta(days=31),
        due_date=datetime.date.today() - datetime.timedelta(days=1),
    )
    text = act(admin_client_mfa, "mark_overdue", late, draft).content.decode()
    assert "Marked overdue: 1 record." in text
    assert f"Invoice {draft.number} is due on" in text
    statuses = dict(Invoice.objects.values_list("pk", "status"))
    assert statuses == {draft.pk: "sent", to_void.pk: "void", late.pk: "overdue"}


def test_record_payment_through_its_intermediate_page(admin_client_mfa, admin_with_mfa):
    invoice = make_sent_invoice()
    page = act(admin_client_mfa, "record_payment", invoice, follow=False)
    assert page.status_code == 200
    assert "balance due 230.00 ZAR" in page.content.decode()
    form = {
        "apply": "1",
        "amount": "500.00",
        "date": datetime.date.today().isoformat(),
        "mode": "cash",
        "reference": "R1",
    }
    refused = act(admin_client_mfa, "record_payment", invoice, extra=form, follow=False)
    assert refused.status_code == 200
    assert (
        "A payment of 500.00 ZAR exceeds the balance due of 230.00 ZAR on invoice "
        f"{invoice.number}." in refused.content.decode()
    )
    assert not Payment.objects.exists()
    form["amount"] = "100.00"
    done = act(admin_client_mfa, "record_payment", invoice, extra=form)
    assert f"Recorded a payment of 100.00 ZAR on {invoice.number}." in done.content.decode()
    payment = Payment.objects.get()
    assert (payment.amount, payment.recorded_by, payment.reference) == (
        Decimal("100.00"),
        admin_with_mfa,
        "R1",
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("partially_paid", Decimal("130.00"))
    two = act(admin_client_mfa, "record_payment", invoice, make_sent_invoice())
    assert "Select exactly one invoice to record a payment." in two.content.decode()


def test_add_payment_page_calls_the_service(admin_client_mfa):
    invoice = make_sent_invoice()
    add = reverse("admin:invoices_payment_add")
    data = {
        "invoice": str(invoice.pk),
        "amount": "230.01",
        "date": datetime.date.today().isoformat(),
        "mode": "card",
        "reference": "",
    }
    refused = admin_client_mfa.post(add, data)
    assert refused.status_code == 200
    assert "exceeds the balance due of 230.00 ZAR" in refused.content.decode()
    data["amount"] = "230.00"
    assert admin_client_mfa.post(add, data).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_commission_bills_agents_see_only_their_own(
    admin_with_mfa, agent_client, agent_user, password
):
    mine = paid_invoice_with_bill(agent_user)
    other_agent = user_provision(email="agent2@example.com", password=password, role=AGENT)
    theirs = paid_invoice_with_bill(other_agent)
    listed = agent_client.get(BILLS)
    assert listed.status_code == 200
    assert [bill.invoice for bill in listed.context["cl"].result_list] == [mine]
    # Another agent's bill is outside the agent's queryset: the admin's "does not exist" redirect.
    hidden = agent_client.get(
        reverse("admin:invoices_commissionbill_change", args=[theirs.commission_bill.pk])
    )
    assert (hidden.status_code, hidden.url) == (302, reverse("admin:index"))
    assert listed.context["action_form"] is None  # no "Mark paid out" (nor any) for agents
    # The admin sees both and pays them out through the service.
    admin_client_mfa = Client()  # the `client` fixture is the agent's session here
    admin_client_mfa.force_login(admin_with_mfa)
    assert admin_client_mfa.get(BILLS).context["cl"].result_count == 2
    response = admin_client_mfa.post(
        BILLS,
        {"action": "mark_paid", "_selected_action": [str(mine.commission_bill.pk)]},
        follow=True,
    )
    assert "Marked paid: 1 record." in response.content.decode()
    mine.commission_bill.refresh_from_db()
    assert mine.commission_bill.status == "paid"


def test_agents_may_record_payments_but_neither_void_nor_delete(agent_client):
    invoice = make_sent_invoice()
    page = agent_client.get(INVOICES)
    assert page.status_code == 200
    names = dict(page.context["action_form"].fields["action"].choices)
    assert {"send", "record_payment", "mark_overdue"} <= set(names)
    assert "void" not in names
    assert "delete_selected" not in names
    # Posting the action anyway is refused by the action form; the invoice stays sent.
    response = act(agent_client, "void", invoice, follow=False)
    assert response.status_code == 302
    assert response.url == INVOICES
    assert [str(message) for message in response.wsgi_request._messages] == ["No action selected."]
    invoice.refresh_from_db()
    assert invoice.status == "sent"


def test_only_admins_hold_the_void_and_assign_permissions(agent_user, admin_role_user):
    for codename in ("invoices.void_invoice", "invoices.assign_invoice"):
        assert admin_role_user.has_perm(codename)
        assert not agent_user.has_perm(codename)


def invoice_change_form(invoice, **overrides) -> dict:
    line = invoice.lines.get()
    data = {
        "client": str(invoice.client.pk),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "discount_type": invoice.discount_type,
        "discount_value": str(invoice.discount_value),
        "notes": "",
        "terms": "",
    }
    data |= management("lines", 1, 1) | management("payments")
    data |= {
        "lines-0-id": str(line.pk),
        "lines-0-invoice": str(invoice.pk),
        "lines-0-position": str(line.position),
        "lines-0-name": line.name,
        "lines-0-quantity": "2",
        "lines-0-rate": "100",
        "lines-0-tax_rate": "15",
    }
    return data | overrides


def test_agents_cannot_choose_who_is_credited(agent_client, agent_user, admin_with_mfa):
    invoice = make_invoice(assignee=admin_with_mfa)
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    page = agent_client.get(url)
    assert "assignee" not in page.context["adminform"].form.fields
    assert 'name="assignee"' not in page.content.decode()
    response = agent_client.post(
        url, invoice_change_form(invoice, assignee=str(agent_user.pk), notes="mine now")
    )
    assert (response.status_code, response.url) == (302, INVOICES)
    invoice.refresh_from_db()
    assert invoice.notes == "mine now"  # the rest of the form was saved
    assert invoice.assignee == admin_with_mfa  # the posted assignee was ignored
    # An agent's new invoice is credited to no one until an admin chooses.
    add = agent_client.get(reverse("admin:invoices_invoice_add"))
    assert "assignee" not in add.context["adminform"].form.fields


def test_admins_choose_who_is_credited(admin_client_mfa, agent_user):
    invoice = make_invoice()
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    response = admin_client_mfa.post(url, invoice_change_form(invoice, assignee=str(agent_user.pk)))
    assert (response.status_code, response.url) == (302, INVOICES)
    invoice.refresh_from_db()
    assert invoice.assignee == agent_user


def test_the_printable_page(agent_client):
    invoice = make_sent_invoice()
    services.payment_record(invoice=invoice, amount="30", reference="EFT-9")
    page = agent_client.get(reverse("invoices:print", args=[invoice.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Invoice {invoice.number}" in text
    assert "EFT-9" in text
    assert "Balance due: 200.00 ZAR" in text


def queries(client, url) -> int:
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


@pytest.mark.parametrize("url", [INVOICES, PAYMENTS, BILLS, REMINDERS])
def test_list_queries_stay_flat_from_10_to_1000_rows(admin_client_mfa, agent_user, url):
    bulk_payments_and_bills(10, agent=agent_user)
    bulk_invoices(10)
    small = queries(admin_client_mfa, url)
    bulk_payments_and_bills(990, agent=agent_user, start=600_000)
    bulk_invoices(990, start=20)
    assert Invoice.objects.count() == 2000
    assert queries(admin_client_mfa, url) == small


def test_the_invoice_list_stays_within_ten_queries(admin_client_mfa):
    bulk_invoices(100)
    assert queries(admin_client_mfa, INVOICES) <= 10
