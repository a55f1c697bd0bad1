"""The Xero document loop against the sandbox over real HTTP: an agent's quote (three lines,
rates of a third, quantities of three, a document discount) sent, accepted, invoiced and paid
in two parts appears in Xero as one quote (INVOICED), one invoice (PAID) and two payments, with
Xero's totals equal to ours; the same with a fifth of the writes timing out after Xero
committed them. And the way back: quotes accepted and invoices voided in Xero come back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import TaxRate
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sandbox.xero import services as xero_services
from apps.sandbox.xero.models import XeroInvoice, XeroPayment, XeroQuote, XeroTenant
from apps.sync.engine import outbox
from apps.sync.models import Binding, BindingStatus, Connection, OutboxItem, OutboxStatus
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.sandbox import point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK_KEY = "XeroWebhookKey0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJK"


def connect_xero(
    live_server, settings, *, bank_account="090", webhooks=True
) -> tuple[Connection, XeroTenant]:
    point_settings_at(settings, live_server.url)
    settings.XERO_WEBHOOK_KEY = WEBHOOK_KEY
    answers = seed(
        contacts=0,
        items=0,
        documents=0,
        crm_contacts=0,
        deals=0,
        xero_webhook_url=f"{live_server.url}/sync/webhooks/xero/" if webhooks else "",
    )
    xero = answers["xero"]
    args = ["connect", "xero", "--refresh-token", xero["refresh_token"], "--name", "Xero"]
    if bank_account:
        args += ["--bank-account", bank_account]
    sync(*args)
    tenant = XeroTenant.objects.get(tenant_id=xero["tenants"][0]["tenant_id"])
    connection = Connection.objects.get(provider="xero", remote_account_id=str(tenant.tenant_id))
    # One organisation is enough here: the others' connections are switched off.
    Connection.objects.filter(provider="xero").exclude(pk=connection.pk).update(status="disabled")
    Connection.objects.exclude(provider="xero").update(status="disabled")
    from apps.sync import services

    services.connection_on_connect(connection=connection)
    connection.refresh_from_db()
    return connection, tenant


@pytest.fixture
def xero(live_server, settings):
    # Pushes alone: Xero's webhooks for our own writes are test_xero_webhooks.py's (on SQLite
    # their processing in the live server's thread would lock tables under the drains here).
    return connect_xero(live_server, settings, webhooks=False)


def drain_until_settled(rounds: int = 60, *, allow_dead: bool = False) -> None:
    """Drain until nothing is pending; a retry's backoff is skipped (made due now), not slept,
    and so is the lease of an item a drain left in flight (a drain task that failed midway: on
    SQLite the live server's thread can lock a table under it) - the minute sweep's recovery,
    which looks an uncertain create up before sending it again."""
    for _ in range(rounds):
        outbox.outbox_drain()
        waiting = OutboxItem.objects.filter(status__in=["pending", "in_flight"])
        if not waiting.exists():
            dead = OutboxItem.objects.filter(status=OutboxStatus.DEAD)
            assert allow_dead or not dead.exists(), list(dead.values("entity", "last_error"))
            return
        waiting.filter(status="pending").update(next_attempt_at=timezone.now())
        waiting.filter(status="in_flight").update(
            lease_until=timezone.now() - timedelta(seconds=1), next_attempt_at=timezone.now()
        )
    raise AssertionError(
        list(
            OutboxItem.objects.values(
                "id", "entity", "operation", "status", "attempts", "lease_until", "last_error"
            )
        )
    )


def three_line_quote(agent, *, discount="10.00", client=None) -> Quote:
    """Three lines: 3 x 33.333 and 3 x 0.333 at 15% (amounts 100.00 and 1.00: Xero must take
    the third place of the rate), and an untaxed courier line; an amount discount spread."""
    vat = TaxRate.objects.get_or_create(name="VAT", defaults={"rate": Decimal("15.000")})[0]
    # Xero wants contact names unique: a second quote gets a client of its own.
    client = client or DocClientFactory()
    quote = quote_services.quote_create(created_by=agent, client=client, terms="30 days")
    third = DocServiceFactory(rate=Decimal("33.333"), tax_rate=vat)
    sliver = DocServiceFactory(rate=Decimal("0.333"), tax_rate=vat)
    quote_services.quote_line_add(quote=quote, service=third, quantity="3")
    quote_services.quote_line_add(quote=quote, service=sliver, quantity="3")
    quote_services.quote_line_add(
        quote=quote, name="Courier", quantity="1", rate="120.00", tax_rate="0"
    )
    quote_services.quote_update(quote=quote, discount_value=discount)
    quote.refresh_from_db()
    return quote


def assert_same_totals(remote, document) -> None:
    assert (remote.sub_total, remote.total_tax, remote.total) == (
        document.subtotal - document.discount_total,
        document.tax_total,
        document.total,
    )


def run_the_loop(agent) -> tuple[Quote, Invoice]:
    quote = quote_services.quote_send(quote=three_line_quote(agent))
    drain_until_settled()
    quote = quote_services.quote_accept(quote=quote)
    invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=agent)
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    invoice_services.payment_record(invoice=invoice, amount=Decimal("100.00"), reference="EFT 1")
    drain_until_settled()
    invoice.refresh_from_db()
    invoice_services.payment_record(invoice=invoice, amount=invoice.balance)
    drain_until_settled()
    quote.refresh_from_db()
    invoice.refresh_from_db()
    return quote, invoice


def assert_one_of_each(tenant, quote: Quote, invoice: Invoice) -> None:
    remote_quote = XeroQuote.objects.get(tenant=tenant)
    assert (remote_quote.quote_number, remote_quote.reference) == (quote.number, quote.number)
    assert remote_quote.status == "INVOICED"
    assert_same_totals(remote_quote, quote)
    remote_invoice = XeroInvoice.objects.get(tenant=tenant)
    assert remote_invoice.invoice_number == invoice.number
    assert remote_invoice.reference == quote.number  # linked to its quote
    assert (remote_invoice.type, remote_invoice.status) == ("ACCREC", "PAID")
    assert remote_invoice.due_date == invoice.due_date
    assert_same_totals(remote_invoice, invoice)
    assert invoice.status == Invoice.Status.PAID
    payments = list(XeroPayment.objects.filter(tenant=tenant).order_by("amount"))
    assert len(payments) == 2
    assert sum(p.amount for p in payments) == invoice.total
    assert {p.account.code for p in payments} == {"090"}
    assert {p.invoice_id for p in payments} == {remote_invoice.pk}
    assert not Binding.objects.filter(status=BindingStatus.TOTALS_DIFFER).exists()
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}


def test_quote_sent_accepted_invoiced_paid_in_two_parts(xero, agent_user):
    connection, tenant = xero
    quote = quote_services.quote_send(quote=three_line_quote(agent_user))
    drain_until_settled()
    remote = XeroQuote.objects.get(tenant=tenant)
    assert remote.status == "SENT" and remote.line_amount_types == "EXCLUSIVE"
    lines = remote.line_items
    assert [Decimal(line["UnitAmount"]) for line in lines] == [
        Decimal("33.333"),
        Decimal("0.333"),
        Decimal("120"),
    ]
    assert [line["TaxType"] for line in lines] == ["OUTPUT", "OUTPUT", "NONE"]
    assert {line["AccountCode"] for line in lines} == {"200"}
    assert [line["ItemCode"] for line in lines[:2]] == [
        line.service.sku for line in quote.lines.order_by("position", "id")[:2]
    ]
    assert_same_totals(remote, quote)
    binding = Binding.objects.get(connection=connection, entity="quotes", object_id=quote.pk)
    assert binding.totals["differ"] == [] and binding.remote_id == str(remote.quote_id)

    quote = quote_services.quote_accept(quote=quote)
    drain_until_settled()
    remote.refresh_from_db()
    assert remote.status == "ACCEPTED"

    invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=agent_user)
    drain_until_settled()
    remote_invoice = XeroInvoice.objects.get(tenant=tenant)
    assert remote_invoice.status == "DRAFT"
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    remote_invoice.refresh_from_db()
    assert remote_invoice.status == "AUTHORISED"

    invoice_services.payment_record(invoice=invoice, amount=Decimal("100.00"), reference="EFT 1")
    drain_until_settled()
    invoice.refresh_from_db()
    invoice_services.payment_record(invoice=invoice, amount=invoice.balance)
    drain_until_settled()
    quote.refresh_from_db()
    invoice.refresh_from_db()
    assert_one_of_each(tenant, quote, invoice)
    first = XeroPayment.objects.get(tenant=tenant, amount=Decimal("100.00"))
    assert first.reference.startswith("SD-P-") and first.reference.endswith(" EFT 1")
    assert invoice.payments.count() == 2


def test_a_fifth_of_the_writes_time_out_after_commit_still_one_of_each(xero, agent_user, settings):
    from apps.sandbox import faults

    _, tenant = xero
    settings.SYNC_HTTP_TIMEOUT = 0.5
    faults.fault_plan_set(
        vendor="xero", account=str(tenant.tenant_id), timeout_share=0.2, timeout_seconds=1.0
    )
    quote, invoice = run_the_loop(agent_user)
    plan = faults.fault_plan_get("xero", str(tenant.tenant_id))
    faults.fault_plan_clear(vendor="xero", account=str(tenant.tenant_id))
    assert plan.writes_seen >= 5  # the share was applied to every write
    assert OutboxItem.objects.filter(uncertain=True).exists()  # at least one timed out
    assert_one_of_each(tenant, quote, invoice)
    assert XeroQuote.objects.count() == 1 and XeroInvoice.objects.count() == 1


def test_direct_invoice_voided_and_a_rejected_quote(xero, agent_user):
    _, tenant = xero
    TaxRate.objects.get_or_create(name="VAT", defaults={"rate": Decimal("15.000")})
    client = DocClientFactory()
    lines = [{"name": "Translation", "quantity": "2", "rate": "150.00", "tax_rate": "15"}]
    direct = invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    direct = invoice_services.invoice_send(invoice=direct)
    draft = invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    quote = quote_services.quote_send(quote=three_line_quote(agent_user, discount="0"))
    drain_until_settled()
    invoice_services.invoice_void(invoice=direct)
    invoice_services.invoice_void(invoice=draft)
    quote_services.quote_reject(quote=quote)
    drain_until_settled()
    remote = {i.invoice_number: i for i in XeroInvoice.objects.filter(tenant=tenant)}
    assert remote[direct.number].status == "VOIDED" and remote[direct.number].reference == ""
    assert remote[draft.number].status == "DELETED"  # a Xero draft is deleted, not voided
    assert XeroQuote.objects.get(tenant=tenant).status == "DECLINED"


def test_no_bank_account_refuses_the_payment_naming_the_setting(live_server, settings, agent_user):
    connection, tenant = connect_xero(live_server, settings, bank_account="")
    connection.options = {k: v for k, v in connection.options.items() if k != "bank_account"}
    connection.save()
    client = DocClientFactory()
    lines = [{"name": "Translation", "quantity": "1", "rate": "150.00", "tax_rate": "0"}]
    invoice = invoice_services.invoice_create(client=client, lines=lines, created_by=agent_user)
    invoice = invoice_services.invoice_send(invoice=invoice)
    invoice_services.payment_record(invoice=invoice, amount=Decimal("50.00"))
    drain_until_settled(allow_dead=True)
    dead = OutboxItem.objects.get(entity="payments")
    assert dead.status == OutboxStatus.DEAD
    assert "bank account" in dead.last_error and "--bank-account" in dead.last_error
    assert not XeroPayment.objects.exists()
    remote = XeroInvoice.objects.get(tenant=tenant)
    assert remote.line_amount_types == "NoTax" and remote.status == "AUTHORISED"


def test_cli_refuses_a_bank_account_that_is_not_one(live_server, settings):
    from django.core.management.base import CommandError

    point_settings_at(settings, live_server.url)
    answers = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0)
    with pytest.raises(CommandError, match="'200' is not a bank account"):
        from django.core.management import call_command

        call_command(
            "sync",
            "connect",
            "xero",
            "--refresh-token",
            answers["xero"]["refresh_token"],
            "--bank-account",
            "200",
        )


def test_admin_chooses_the_bank_account_from_xero_accounts_agents_cannot(
    live_server, settings, admin_client_mfa, agent_user
):
    from django.test import Client as DjangoClient

    connection, _ = connect_xero(live_server, settings, bank_account="")
    url = f"/sync/connect/xero/{connection.pk}/bank-account/"
    agent = DjangoClient()
    agent.force_login(agent_user)
    assert agent.get(url).status_code in (302, 403)
    assert agent.post(url, {"account": "090"}).status_code in (302, 403)
    connection.refresh_from_db()
    assert "bank_account" not in connection.options
    page = admin_client_mfa.get(url)
    assert page.status_code == 200
    assert b'value="090"' in page.content and b'value="200"' not in page.content
    assert b" checked" not in page.content  # nothing chosen for the Admin
    nothing = admin_client_mfa.post(url, {}, follow=True)
    assert b"Choose the bank account customer payments are paid into." in nothing.content
    connection.refresh_from_db()
    assert "bank_account" not in connection.options
    refused = admin_client_mfa.post(url, {"account": "200"}, follow=True)
    assert b"is not a bank account" in refused.content
    admin_client_mfa.post(url, {"account": "090"})
    connection.refresh_from_db()
    assert connection.options == {
        "bank_account": "090",
        "bank_account_name": "Business Bank Account",
        "sales_account": "200",
    }


def test_a_contact_of_the_same_name_is_bound_when_the_same_person_else_refused_by_name(
    xero, agent_user
):
    from apps.sandbox.xero.models import XeroApp, XeroContact

    _, tenant = xero
    XeroApp.objects.update(webhook_url="")  # keyed in before the connection: never pulled
    with transaction.atomic():  # contacts a bookkeeper keyed in Xero before Syncdesk came
        xero_services.contact_save(
            tenant=tenant, data={"Name": "Ayanda Zulu", "EmailAddress": "ayanda@example.com"}
        )
        xero_services.contact_save(
            tenant=tenant, data={"Name": "Pieter Botha", "EmailAddress": "pieter@other.example"}
        )
    same = DocClientFactory(name="Ayanda Zulu", email="Ayanda@Example.com")
    other = DocClientFactory(name="Pieter Botha", email="pieter@example.com")
    drain_until_settled(allow_dead=True)
    assert XeroContact.objects.filter(tenant=tenant, name="Ayanda Zulu").count() == 1
    bound = Binding.objects.get(entity="clients", object_id=same.pk)
    assert bound.remote_id == str(XeroContact.objects.get(name="Ayanda Zulu").contact_id)
    dead = OutboxItem.objects.get(entity="clients", object_id=other.pk)
    assert dead.status == OutboxStatus.DEAD
    assert "another contact named “Pieter Botha”" in dead.last_error
    assert XeroContact.objects.filter(tenant=tenant, name="Pieter Botha").count() == 1


def test_the_connection_page_shows_the_settings_and_where_to_change_them(
    live_server, settings, admin_client_mfa
):
    connection, _ = connect_xero(live_server, settings)
    page = admin_client_mfa.get(f"/admin/sync/connection/{connection.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Bank account for payments: Business Bank Account (090)" in text
    assert "Default sales account: 200" in text
    assert f"/sync/connect/xero/{connection.pk}/bank-account/".encode() in page.content
