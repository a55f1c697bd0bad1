"""Reconciliation against the sandbox over real HTTP: 2,000 invoices in step, one changed in
Books (total and status), one made in Books directly and one of ours deleted there are the three
differences `sync reconcile` reports, read in at most 12 vendor calls; the fixes (push ours,
take theirs, make it again) go through the ordinary paths and the next run reports none."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sandbox.zoho import books
from apps.sandbox.zoho.models import BooksContact, BooksEstimate, BooksInvoice, ZohoOrganization
from apps.sync import tasks
from apps.sync.engine import reconcile_fixes
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    OutboxItem,
    OutboxStatus,
    ReconcileDifference,
    ReconcileRun,
    SyncLog,
)
from apps.sync.schedules import SCHEDULES
from tests.quotes.factories import DocClientFactory
from tests.sync.reconcile_setup import invoices_in_step
from tests.sync.sandbox import books_connect, sync
from tests.sync.test_zoho_flows import drain_until_settled

pytestmark = pytest.mark.django_db(transaction=True)

LINES = [{"name": "Boiler service", "quantity": Decimal("2"), "rate": Decimal("450.00")}]


@pytest.fixture
def books_connection(live_server, settings):
    books_connect(settings, live_server.url)
    return Connection.objects.get(provider="zoho_books")


def _pushed_invoice(client) -> Invoice:
    """An invoice made and sent here, pushed to Books through the outbox like any other."""
    invoice = invoice_services.invoice_create(client=client, lines=LINES)
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    return invoice


def _books_invoice(invoice: Invoice) -> BooksInvoice:
    return BooksInvoice.objects.get(reference_number=invoice.number)


def test_three_differences_in_2000_invoices_then_none_after_the_fixes(
    books_connection, admin_role_user
):
    connection = books_connection
    client = DocClientFactory(name="Kestrel Plumbing", email="accounts@kestrel.example")
    changed = _pushed_invoice(client)
    deleted = _pushed_invoice(client)
    customer = BooksContact.objects.get(
        contact_id=Binding.objects.get(entity="clients", object_id=client.pk).remote_id
    )
    invoices_in_step(connection=connection, client=client, customer=customer, count=1998)
    organization = ZohoOrganization.objects.get(organization_id=connection.remote_account_id)
    assert Invoice.objects.count() == 2000

    # In Books: one of ours changed (voided, back to draft, a line's rate edited), one made
    # there directly, one of ours deleted.
    twin = _books_invoice(changed)
    books.invoice_mark(invoice=twin, status="void")
    books.invoice_mark(invoice=twin, status="draft")
    books.invoice_update(
        invoice=twin,
        data={"line_items": [{"name": "Boiler service", "quantity": 2, "rate": 475, "tax_id": ""}]},
    )
    made_there = books.invoice_create(
        organization=organization,
        data={
            "customer_id": customer.contact_id,
            "date": timezone.localdate().isoformat(),
            "due_date": (timezone.localdate() + datetime.timedelta(days=14)).isoformat(),
            "line_items": [{"name": "Call-out", "quantity": 1, "rate": 320, "tax_id": ""}],
        },
    )
    books.invoice_mark(invoice=made_there, status="sent")
    books.invoice_delete(invoice=_books_invoice(deleted))
    assert BooksInvoice.objects.filter(organization=organization).count() == 2000

    calls_before = SyncLog.objects.filter(connection=connection).count()
    mail.outbox.clear()
    summary = sync("reconcile", "--connection", "Books")
    calls = SyncLog.objects.filter(connection=connection).count() - calls_before

    assert calls <= 12, calls
    assert summary["requests"] == calls
    assert summary["connection"] == "Books"
    assert summary["checked"] == 2001  # ours (2,000) and the one made in Books
    assert summary["matching"] == 1998
    by_kind = {d["kind"]: d for d in summary["differences"]}
    assert len(summary["differences"]) == 3 and set(by_kind) == {
        "mismatch",
        "missing_local",
        "missing_remote",
    }
    mismatch = by_kind["mismatch"]
    assert mismatch["local"] == changed.number and mismatch["entity"] == "invoices"
    assert mismatch["field"] == "status,total,balance"
    assert mismatch["ours"] == {"status": "sent", "total": "900.00", "balance": "900.00"}
    assert mismatch["theirs"] == {"status": "draft", "total": "950.00", "balance": "950.00"}
    assert mismatch["fixes"] == ["push"]
    theirs = by_kind["missing_local"]
    assert theirs["remote"] == made_there.invoice_number and theirs["local"] is None
    assert theirs["theirs"]["total"] == "320.00" and theirs["fixes"] == ["pull"]
    ours = by_kind["missing_remote"]
    assert ours["local"] == deleted.number and ours["fixes"] == ["push", "archive"]
    # Ours that Books lost is kept here, its binding marked gone for an Admin.
    gone = Binding.objects.get(entity="invoices", object_id=deleted.pk)
    assert gone.status == BindingStatus.GONE and "deleted there" in gone.last_error
    assert Invoice.objects.filter(pk=deleted.pk).exists()
    # One e-mail to the Admins for the run.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin_role_user.email]
    assert "3 difference(s)" in mail.outbox[0].subject

    # The fixes: push ours (update + mark sent), take theirs (brought in), make it again.
    differences = {d.kind: d for d in ReconcileDifference.objects.filter(status="open")}
    reconcile_fixes.difference_fix(difference=differences["mismatch"], fix="push")
    reconcile_fixes.difference_fix(difference=differences["missing_local"], fix="pull")
    reconcile_fixes.difference_fix(difference=differences["missing_remote"], fix="push")
    drain_until_settled()
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}

    brought_in = Invoice.objects.get(pk=differences["missing_local"].object_id)
    assert (brought_in.status, brought_in.total, brought_in.client_id) == (
        Invoice.Status.SENT,
        Decimal("320.00"),
        client.pk,
    )
    twin.refresh_from_db()
    assert (twin.status, twin.total) == ("sent", Decimal("900.00"))
    remade = _books_invoice(deleted)
    assert (remade.status, remade.total) == ("sent", Decimal("900.00"))
    assert Binding.objects.get(entity="invoices", object_id=deleted.pk).remote_id == (
        remade.invoice_id
    )

    mail.outbox.clear()
    again = sync("reconcile", "--connection", "Books")
    assert again["differences"] == []
    assert (again["checked"], again["matching"]) == (2001, 2001)
    assert mail.outbox == []


def test_since_limits_both_sides_to_documents_issued_from_then(books_connection):
    connection = books_connection
    client = DocClientFactory()
    _pushed_invoice(client)
    customer = BooksContact.objects.get()
    old = invoices_in_step(connection=connection, client=client, customer=customer, count=3)
    last_year = timezone.localdate() - datetime.timedelta(days=365)
    Invoice.objects.filter(pk__in=[i.pk for i in old]).update(issue_date=last_year)
    BooksInvoice.objects.filter(reference_number__in=[i.number for i in old]).update(
        date=last_year, status="void"
    )
    since = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    summary = sync("reconcile", "--connection", "Books", "--since", since)
    assert (summary["checked"], summary["matching"], summary["differences"]) == (1, 1, [])
    everything = sync("reconcile", "--connection", "Books")
    assert [d["kind"] for d in everything["differences"]] == ["mismatch"] * 3


def test_a_bad_since_is_a_clear_error(books_connection):
    with pytest.raises(CommandError, match="--since: '2026-13-01' is not a date"):
        call_command("sync", "reconcile", "--since", "2026-13-01")


def test_reconcile_now_from_the_admin_and_the_weekly_task(books_connection, admin_client_mfa):
    _pushed_invoice(DocClientFactory())
    page = admin_client_mfa.get("/admin/sync/reconcilerun/")
    assert b"Reconcile now" in page.content
    answer = admin_client_mfa.post(
        "/admin/sync/reconcilerun/now/", {"connection": books_connection.pk}, follow=True
    )
    assert b"Reconciliation of Books queued" in answer.content
    run = ReconcileRun.objects.get()  # the task ran (the test queue runs tasks at once)
    assert (run.status, run.checked, run.matching, run.difference_count) == (
        "succeeded",
        1,
        1,
        0,
    )
    assert tasks.reconcile_task() == [run.pk + 1]
    weekly = [spec for spec in SCHEDULES if spec.func == "apps.sync.tasks.reconcile_task"]
    assert [(s.name, s.schedule_type) for s in weekly] == [("syncdesk:sync.reconcile", "W")]


def _pushed_quote(client, agent) -> Quote:
    quote = quote_services.quote_create(created_by=agent, client=client, lines=LINES)
    quote = quote_services.quote_send(quote=quote)
    drain_until_settled()
    return quote


def test_estimates_declined_or_deleted_in_books_then_fixed(books_connection, agent_user):
    client = DocClientFactory()
    declined = _pushed_quote(client, agent_user)
    deleted = _pushed_quote(client, agent_user)
    in_step = _pushed_quote(client, agent_user)
    books.estimate_mark(
        estimate=BooksEstimate.objects.get(reference_number=declined.number), status="declined"
    )
    books.estimate_delete(estimate=BooksEstimate.objects.get(reference_number=deleted.number))

    summary = sync("reconcile", "--connection", "Books")
    quotes = {d["local"]: d for d in summary["differences"] if d["entity"] == "quotes"}
    assert set(quotes) == {declined.number, deleted.number}
    assert quotes[declined.number]["ours"] == {"status": "sent"}
    assert quotes[declined.number]["theirs"] == {"status": "rejected"}
    assert quotes[declined.number]["fixes"] == ["pull", "push"]  # the client said no there
    assert quotes[deleted.number]["kind"] == "missing_remote"
    assert summary["matching"] == 1 and in_step.number not in quotes

    open_ = {d.local_number: d for d in ReconcileDifference.objects.filter(status="open")}
    reconcile_fixes.difference_fix(difference=open_[declined.number], fix="pull")
    reconcile_fixes.difference_fix(difference=open_[deleted.number], fix="push")
    drain_until_settled()
    declined.refresh_from_db()
    assert declined.status == Quote.Status.REJECTED
    assert BooksEstimate.objects.get(reference_number=deleted.number).status == "sent"
    assert sync("reconcile", "--connection", "Books")["differences"] == []
