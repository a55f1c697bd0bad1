"""Each importable entity end to end: services (Zoho Books' and Xero's item exports), tax
rates, tickets with their first message, and a bank statement's payments matched to invoices."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.catalog.models import Service, TaxRate
from apps.imports.services import import_run
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.sync.models import OutboxItem
from apps.tickets.models import Message, Ticket
from tests.catalog.factories import ServiceFactory, TaxRateFactory
from tests.clients.factories import ClientFactory
from tests.imports.helpers import csv_bytes, table_counts
from tests.sync.factories import make_zoho_books

pytestmark = pytest.mark.django_db


def run(actor, entity, rows, **kwargs):
    return import_run(
        entity_name=entity, content=csv_bytes(rows), file_name=f"{entity}.csv", actor=actor,
        **kwargs,
    )  # fmt: skip


def test_tax_rates_by_name_in_any_case(admin_role_user):
    TaxRateFactory(name="VAT 15%", rate=Decimal("15"))
    outcome = run(
        admin_role_user,
        "tax_rates",
        [["Tax Name", "Tax Percentage"], ["vat 15%", "15.5%"], ["Zero rated", "0"], ["Bad", "x"]],
    )
    assert outcome.summary()["errors"] == [
        {"row": 4, "field": "Tax Percentage", "message": "“x”: “x” is not a number."}
    ]
    outcome = run(
        admin_role_user,
        "tax_rates",
        [["Tax Name", "Tax Percentage"], ["vat 15%", "15.5%"], ["Zero rated", "0"], ["Hi", "120"]],
        valid_rows=True,
    )
    assert outcome.summary()["errors"][0]["field"] == "Tax Percentage"
    assert "less than or equal to 100" in outcome.summary()["errors"][0]["message"]
    assert dict(TaxRate.objects.values_list("name", "rate")) == {
        "VAT 15%": Decimal("15.500"),
        "Zero rated": Decimal("0.000"),
    }


def test_zoho_books_items_export_as_it_is(admin_role_user):
    TaxRateFactory(name="VAT", rate=Decimal("15"))
    ServiceFactory(sku="pcc-001", name="Old name", rate=Decimal("400"))
    books = make_zoho_books()
    rows = [
        ["Item ID", "Item Name", "SKU", "Description", "Rate", "Account", "Tax Name",
         "Tax Percentage", "Product Type", "Status", "Usage unit", "Purchase Rate"],
        ["460000000026049", "Police clearance", "PCC-001", "SAPS certificate", "ZAR 450.00",
         "Sales", "VAT", "15", "service", "Active", "Each", "0.00"],
        ["460000000026050", "Apostille", "APO-1", "DIRCO apostille", "1,250.00", "Sales",
         "", "", "service", "Active", "Document", ""],
    ]  # fmt: skip
    outcome = run(admin_role_user, "services", rows)
    assert outcome.written, outcome.summary()
    assert (outcome.summary()["created"], outcome.summary()["updated"]) == (1, 1)
    pcc = Service.objects.get(sku="pcc-001")  # matched in any case; the stored spelling kept
    assert (pcc.name, pcc.rate, pcc.description, pcc.tax_rate.name) == (
        "Police clearance",
        Decimal("450.00"),
        "SAPS certificate",
        "VAT",
    )
    apostille = Service.objects.get(sku="APO-1")
    assert (apostille.rate, apostille.unit, apostille.tax_rate) == (
        Decimal("1250.00"),
        "Document",
        None,
    )
    assert OutboxItem.objects.filter(connection=books, entity="services").count() == 2
    assert set(Service.history.filter(history_change_reason__contains="services.csv").values_list(
        "history_type", flat=True
    )) == {"+", "~"}  # fmt: skip


def test_xero_items_export_as_it_is(admin_role_user):
    TaxRateFactory(name="15% GST on Income", rate=Decimal("15"))
    rows = [
        ["*ItemCode", "ItemName", "Quantity", "PurchasesDescription", "PurchasesUnitPrice",
         "PurchasesAccount", "PurchasesTaxRate", "SalesDescription", "SalesUnitPrice",
         "SalesAccount", "SalesTaxRate", "Status"],
        ["DevFee", "Development fee", "", "", "", "", "", "Hourly development", "150.00", "200",
         "15% GST on Income", "Active"],
    ]  # fmt: skip
    outcome = run(admin_role_user, "services", rows)
    assert outcome.written, outcome.summary()
    service = Service.objects.get(sku="DevFee")
    assert (service.name, service.description, service.rate, service.tax_rate.name) == (
        "Development fee",
        "Hourly development",
        Decimal("150.00"),
        "15% GST on Income",
    )


def test_service_rows_refused_with_their_column_and_value(admin_role_user):
    ServiceFactory(sku="TAKEN")
    TaxRateFactory(name="Old VAT", active=False)
    outcome = run(
        admin_role_user,
        "services",
        [
            ["SKU", "Name", "Rate", "Tax rate"],
            ["N1", "No rate", "", ""],
            ["N2", "Negative", "-5", ""],
            ["N3", "Unknown tax", "10", "GST"],
            ["N4", "Retired tax", "10", "old vat"],
            ["n4", "Twice", "10", ""],
        ],
    )
    assert not outcome.written
    assert [(e["row"], e["field"]) for e in outcome.summary()["errors"]] == [
        (2, "Rate"),
        (3, "Rate"),
        (4, "Tax rate"),
        (5, "Tax rate"),
        (6, "SKU"),
    ]
    messages = [e["message"] for e in outcome.summary()["errors"]]
    assert messages[0] == "A new service needs a rate."
    assert messages[2] == "“GST”: no tax rate has this name; import or add the tax rate first."
    assert messages[3] == "“old vat”: Tax rate “Old VAT” is inactive."
    assert Service.objects.count() == 1


def test_tickets_open_with_their_first_message(admin_role_user, agent_user):
    client = ClientFactory(email="thabo@example.co.za")
    ClientFactory(email="gone@example.co.za", active=False)
    due = (timezone.localdate() + datetime.timedelta(days=3)).strftime("%d/%m/%Y")
    rows = [
        ["Subject", "Client e-mail", "Message", "Channel", "Priority", "Assigned to", "Due"],
        ["Visa letter", "THABO@example.co.za", "Please send the letter", "WhatsApp", "High",
         agent_user.email, due],
        ["Bad", "nobody@example.co.za", "", "Fax", "", "", "2020-01-01"],
        ["Old client", "gone@example.co.za", "", "", "", "", ""],
    ]  # fmt: skip
    before = table_counts()
    outcome = run(admin_role_user, "tickets", rows)
    assert table_counts() == before
    assert [(e["row"], e["field"]) for e in outcome.summary()["errors"]] == [
        (3, "Client e-mail"),
        (3, "Channel"),
        (3, "Due"),
        (4, "Client e-mail"),
    ]
    outcome = run(admin_role_user, "tickets", rows, valid_rows=True)
    ticket = Ticket.objects.get()
    assert (ticket.client, ticket.channel, ticket.priority, ticket.assignee, ticket.created_by) == (
        client,
        "whatsapp",
        "high",
        agent_user,
        admin_role_user,
    )
    message = Message.objects.get()
    assert (message.ticket, message.body, message.direction) == (
        ticket,
        "Please send the letter",
        "in",
    )
    record = ticket.history.earliest()
    assert (record.history_user, record.history_change_reason) == (
        admin_role_user,
        "Import of “tickets.csv” by boss@example.com",
    )


def sent_invoice(total_lines=1):
    invoice = invoice_services.invoice_create(
        client=ClientFactory(),
        lines=[{"name": "Translation", "quantity": "1", "rate": "1000", "tax_rate": "0"}]
        * total_lines,
    )
    return invoice_services.invoice_send(invoice=invoice)


def test_a_bank_statement_pays_invoices_by_number(admin_role_user):
    first, second, draft = sent_invoice(), sent_invoice(), None
    draft = invoice_services.invoice_create(
        client=ClientFactory(), lines=[{"name": "X", "quantity": "1", "rate": "10"}]
    )
    today = timezone.localdate()
    statement = [
        ["Date", "Description", "Reference", "Amount"],
        [today.strftime("%d/%m/%Y"), f"EFT from client {first.number.lower()}", "FNB 001",
         "400.00"],
        [today.isoformat(), "Bank charges", "", "-12.50"],
        [today.isoformat(), f"Payment {second.number.replace('-', ' ')}", "FNB 002", "1,000.00"],
        [today.isoformat(), "Mystery deposit", "FNB 003", "50.00"],
        [today.isoformat(), f"Part 2 {first.number}", "FNB 004", "600.00"],
    ]  # fmt: skip
    outcome = run(admin_role_user, "payments", statement)
    assert outcome.written, outcome.summary()
    assert outcome.summary() | {"errors": []} == {
        "entity": "payments",
        "rows": 5,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "skipped": 2,
        "errors": [],
        "dry_run": False,
    }
    assert outcome.summary()["errors"] == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.balance, second.status) == ("paid", Decimal("0.00"), "paid")
    assert sorted(Payment.objects.values_list("reference", "amount")) == [
        ("FNB 001", Decimal("400.00")),
        ("FNB 002", Decimal("1000.00")),
        ("FNB 004", Decimal("600.00")),
    ]
    payment = Payment.objects.get(reference="FNB 001")
    assert payment.recorded_by == admin_role_user
    assert (
        payment.history.get().history_change_reason
        == "Import of “payments.csv” by boss@example.com"
    )
    # The same statement again: each payment is recorded once.
    again = run(admin_role_user, "payments", statement)
    assert (again.summary()["unchanged"], again.summary()["created"]) == (3, 0)

    over = run(
        admin_role_user,
        "payments",
        [["Invoice", "Reference", "Amount", "Date"], [draft.number, "X", "5", today.isoformat()],
         [first.number, "FNB 001", "399", today.isoformat()]],
    )  # fmt: skip
    assert [e["message"] for e in over.summary()["errors"]] == [
        f"“{draft.number}”: invoice {draft.number} is draft.",
        f"“399”: invoice {first.number} already has a payment with this reference, of 400.00.",
    ]


def test_payments_beyond_the_balance_within_one_file_are_refused(admin_role_user):
    invoice = sent_invoice()
    today = timezone.localdate().isoformat()
    outcome = run(
        admin_role_user,
        "payments",
        [["Invoice", "Reference", "Amount", "Date"], [invoice.number, "A", "700", today],
         [invoice.number, "B", "400", today]],
    )  # fmt: skip
    assert outcome.summary()["errors"] == [
        {
            "row": 3,
            "field": "Amount",
            "message": f"“400”: more than the 300.00 ZAR still due on invoice {invoice.number}.",
        }
    ]
    assert Payment.objects.count() == 0
    assert Invoice.objects.get().amount_paid == 0
