"""The reconciliation report in the admin: runs and their differences with both values, a
one-click fix per row (each through the same service as everywhere), bulk actions, Agents
kept out, and list pages whose query count does not grow with the rows. No vendor is called
here (fixes that send go to the outbox); the over-HTTP story is test_reconcile.py."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.sync.engine import reconcile, reconcile_fixes, registry
from apps.sync.models import Binding, BindingStatus, OutboxItem, ReconcileDifference, ReconcileRun
from apps.sync.reconcile.models import DifferenceKind, DifferenceStatus
from tests.quotes.factories import DocClientFactory
from tests.sync.factories import make_zoho_books

pytestmark = pytest.mark.django_db

DIFFERENCES = "/admin/sync/reconciledifference/"
RUNS = "/admin/sync/reconcilerun/"
LINES = [{"name": "Gutter clean", "quantity": Decimal("1"), "rate": Decimal("300.00")}]


@pytest.fixture
def books():
    return make_zoho_books()


def _sent_invoice(books, remote_id: str) -> Invoice:
    invoice = invoice_services.invoice_create(client=DocClientFactory(), lines=LINES)
    invoice = invoice_services.invoice_send(invoice=invoice)
    Binding.objects.update_or_create(
        connection=books,
        entity="invoices",
        object_id=invoice.pk,
        defaults={
            "content_type": ContentType.objects.get_for_model(Invoice),
            "remote_id": remote_id,
            "remote_number": f"BK-{remote_id}",
            "status": BindingStatus.SYNCED,
        },
    )
    OutboxItem.objects.all().delete()  # what sending queued: not part of these tests
    return invoice


def _difference(books, invoice, kind, *, fixes, ours=None, theirs=None, run=None):
    run = run or ReconcileRun.objects.create(connection=books, status="succeeded")
    return ReconcileDifference.objects.create(
        run=run,
        connection=books,
        kind=kind,
        entity="invoices",
        object_id=invoice.pk if invoice else None,
        local_number=invoice.number if invoice else "",
        remote_id="r-1",
        remote_number="BK-r-1",
        fields=list(ours or {}),
        ours=ours or {},
        theirs=theirs or {},
        fixes=fixes,
    )


def test_fix_button_takes_a_void_from_the_books(books, admin_client_mfa):
    invoice = _sent_invoice(books, "r-1")
    difference = _difference(
        books,
        invoice,
        DifferenceKind.MISMATCH,
        fixes=["pull", "push"],
        ours={"status": "sent"},
        theirs={"status": "void"},
    )
    page = admin_client_mfa.get(f"{DIFFERENCES}?run__id__exact={difference.run_id}")
    fix_url = f"{DIFFERENCES}{difference.pk}/fix/pull/"
    assert page.status_code == 200
    assert f'formaction="{fix_url}"'.encode() in page.content
    assert b"status: void" in page.content

    answer = admin_client_mfa.post(fix_url, follow=True)
    assert answer.status_code == 200 and b"is void here, as at the vendor" in answer.content
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    difference.refresh_from_db()
    assert (difference.status, difference.fixed_with) == (DifferenceStatus.FIXED, "pull")
    assert difference.fixed_by.email == "boss@example.com"
    assert not OutboxItem.objects.exists()  # taken from the vendor: nothing echoed back
    # Fixed once: a second click is refused with a message, and changes nothing.
    again = admin_client_mfa.post(fix_url, follow=True)
    assert b"already Fix applied" in again.content


def test_push_ours_queues_an_update_and_the_status_action(books, admin_client_mfa):
    invoice = _sent_invoice(books, "r-1")
    difference = _difference(
        books,
        invoice,
        DifferenceKind.MISMATCH,
        fixes=["push"],
        ours={"status": "sent", "total": "300.00"},
        theirs={"status": "draft", "total": "350.00"},
    )
    admin_client_mfa.post(
        DIFFERENCES, {"action": "push_ours", "_selected_action": [difference.pk]}, follow=True
    )
    items = list(OutboxItem.objects.order_by("id").values_list("operation", "intent"))
    assert items == [("update", {}), ("action", {"status": "sent"})]


def test_ours_missing_there_is_made_again_through_the_outbox(books):
    invoice = _sent_invoice(books, "r-1")
    invoice_services.payment_record(invoice=invoice, amount=Decimal("100.00"))
    OutboxItem.objects.all().delete()
    difference = _difference(
        books, invoice, DifferenceKind.MISSING_REMOTE, fixes=["push", "archive"]
    )
    reconcile_fixes.difference_fix(difference=difference, fix="push")
    binding = Binding.objects.get(entity="invoices", object_id=invoice.pk)
    assert (binding.remote_id, binding.status) == (None, BindingStatus.PENDING)
    items = list(OutboxItem.objects.order_by("id").values_list("entity", "operation", "intent"))
    assert items == [
        ("invoices", "create", {}),
        ("invoices", "action", {"status": "sent"}),  # partly paid: sent, then its payment
        ("payments", "create", {}),
    ]


def test_a_fix_not_offered_is_refused_and_changes_nothing(books):
    invoice = _sent_invoice(books, "r-1")
    difference = _difference(
        books, invoice, DifferenceKind.MISMATCH, fixes=["push"], theirs={"total": "1.00"}
    )
    with pytest.raises(Exception, match="is not a fix for this difference"):
        reconcile_fixes.difference_fix(difference=difference, fix="pull")
    assert not OutboxItem.objects.exists()
    difference.refresh_from_db()
    assert difference.status == DifferenceStatus.OPEN


def test_dismiss_closes_open_differences(books, admin_client_mfa):
    invoice = _sent_invoice(books, "r-1")
    difference = _difference(books, invoice, DifferenceKind.MISMATCH, fixes=["push"])
    admin_client_mfa.post(
        DIFFERENCES, {"action": "dismiss", "_selected_action": [difference.pk]}, follow=True
    )
    difference.refresh_from_db()
    assert difference.status == DifferenceStatus.DISMISSED


def test_agents_see_no_report_and_cannot_fix(books, agent_client):
    invoice = _sent_invoice(books, "r-1")
    difference = _difference(
        books, invoice, DifferenceKind.MISMATCH, fixes=["pull"], theirs={"status": "void"}
    )
    for url in (DIFFERENCES, RUNS):
        assert agent_client.get(url).status_code in (302, 403)
    answer = agent_client.post(f"{DIFFERENCES}{difference.pk}/fix/pull/")
    assert answer.status_code in (302, 403)
    assert agent_client.post(f"{RUNS}now/", {"connection": books.pk}).status_code in (302, 403)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert ReconcileDifference.objects.get().status == DifferenceStatus.OPEN


def test_fix_view_answers_only_post(books, admin_client_mfa):
    invoice = _sent_invoice(books, "r-1")
    difference = _difference(books, invoice, DifferenceKind.MISMATCH, fixes=["push"])
    assert admin_client_mfa.get(f"{DIFFERENCES}{difference.pk}/fix/push/").status_code == 405
    assert not OutboxItem.objects.exists()


def _queries(client, url) -> int:
    with CaptureQueriesContext(db_connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [DIFFERENCES, RUNS])
def test_list_queries_do_not_grow_with_rows(books, admin_client_mfa, url):
    invoice = _sent_invoice(books, "r-1")
    run = ReconcileRun.objects.create(connection=books, status="succeeded", difference_count=2)

    def add(count):
        for _ in range(count):
            _difference(books, invoice, DifferenceKind.MISMATCH, fixes=["push"], run=run)
            ReconcileRun.objects.create(connection=books, status="succeeded")

    add(2)
    few = _queries(admin_client_mfa, url)
    add(10)
    assert _queries(admin_client_mfa, url) <= few


@pytest.mark.parametrize(
    ("provider", "fields", "offered"),
    [
        ("zoho_books", ["status", "total", "balance"], True),  # an update, then the action
        ("zoho_books", ["number"], True),
        ("zoho_books", ["balance"], False),  # payments move a balance, not an update
        ("xero", ["status"], True),
        ("xero", ["total"], False),  # Xero takes no update of a document from us
    ],
)
def test_push_ours_is_offered_only_when_it_can_fix_every_field(provider, fields, offered):
    connector = registry.connector(provider)
    assert reconcile._pushable(connector, "invoices", fields) is offered
