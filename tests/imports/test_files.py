"""Files as people have them: every encoding and delimiter, XLSX, header aliases, dates and
decimal commas as the settings say, and the size limit."""

import codecs
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.imports.files import decode_text, sheet_read, sniff_delimiter
from apps.imports.services import import_run
from apps.imports.values import parse_date, parse_decimal
from tests.catalog.factories import TaxRateFactory
from tests.imports.helpers import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

ROWS = [
    ["Name", "E-mail", "Company", "Billing address"],
    ["Zoë Müller", "zoe@example.co.za", "Café Crème, €50 club", "1 Rue d'Été"],
    ["Sipho Dlamini", "sipho@example.co.za", "Dlamini; Sons", "Line 1\nLine 2"],
]

ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8 with BOM": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16 (BOM, as Excel's Unicode Text)": lambda text: text.encode("utf-16"),
    "utf-16-le without BOM": lambda text: text.encode("utf-16-le"),
    "utf-16-be with BOM": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "windows-1252": lambda text: text.encode("cp1252"),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_each_encoding_and_delimiter(admin_role_user, encoding, delimiter):
    text = csv_bytes(ROWS, delimiter=delimiter).decode("utf-8")
    outcome = import_run(
        entity_name="clients",
        content=ENCODINGS[encoding](text),
        file_name="clients.csv",
        actor=admin_role_user,
    )
    assert outcome.written, outcome.summary()
    assert outcome.plan.sheet.delimiter == delimiter
    assert outcome.summary()["created"] == 2
    zoe = Client.objects.get(email="zoe@example.co.za")
    assert (zoe.name, zoe.company, zoe.billing_address) == (
        "Zoë Müller",
        "Café Crème, €50 club",
        "1 Rue d'Été",
    )
    sipho = Client.objects.get(email="sipho@example.co.za")
    assert (sipho.company, sipho.billing_address) == ("Dlamini; Sons", "Line 1\nLine 2")


def test_encodings_are_told_apart():
    assert decode_text("naïve".encode())[1] == "utf-8"
    assert decode_text(codecs.BOM_UTF8 + b"x")[1] == "utf-8-sig"
    assert decode_text("naïve".encode("utf-16"))[1] == "utf-16"
    assert decode_text("naïve".encode("cp1252")) == ("naïve", "windows-1252")
    # Bytes Windows-1252 leaves undefined still read (as Latin-1), never a server error.
    assert decode_text(b"caf\xe9 \x81")[0] == "café \x81"


def test_a_single_column_file_and_quoted_delimiters():
    assert sniff_delimiter("Name\nA\nB\n") == ","
    assert sniff_delimiter('Name;Note\n"a,b";c\n') == ";"


def test_xlsx_with_dates_numbers_and_blank_rows(admin_role_user):
    content = xlsx_bytes(
        [
            [None],
            ["SKU", "Item Name", "Rate", "Usage unit"],
            ["pcc-001", "Police clearance", 450.5, "Each"],
            [None, None, None, None],
            ["CERT-9", "Certified copy", 120, None],
        ]
    )
    outcome = import_run(
        entity_name="services", content=content, file_name="items.xlsx", actor=admin_role_user
    )
    assert outcome.written, outcome.summary()
    assert [row.number for row in outcome.plan.rows] == [3, 5]
    assert Service.objects.get(sku="pcc-001").rate == Decimal("450.50")
    assert Service.objects.get(sku="CERT-9").unit == "Each"


def test_headers_in_any_case_and_the_usual_aliases(admin_role_user):
    for header in ("E-mail", "EMAIL", "Email Address", "e-mail address", "EmailAddress"):
        content = csv_bytes([["CLIENT NAME", header], ["Ann", f"ann-{len(header)}@example.com"]])
        outcome = import_run(
            entity_name="clients", content=content, file_name="a.csv", actor=admin_role_user
        )
        assert outcome.written and outcome.plan.rows[0].values["email"].startswith("ann-"), header


def test_a_file_without_the_key_columns_is_refused_with_its_columns_named(admin_role_user):
    content = csv_bytes([["Colour", "Size"], ["red", "L"]])
    with pytest.raises(ApplicationError) as error:
        import_run(entity_name="clients", content=content, file_name="x.csv", actor=admin_role_user)
    assert "no “Name” or “E-mail” column" in error.value.message
    assert "Colour, Size" in error.value.message


def test_size_limit_has_a_clear_message(settings):
    settings.IMPORT_MAX_FILE_MB = 1
    with pytest.raises(ApplicationError) as error:
        sheet_read(content=b"Name\n" + b"x" * (1024 * 1024), file_name="big.csv")
    assert error.value.message == (
        "The file is 1.0 MB; the limit is 1 MB. Split it into smaller files and import each."
    )


def test_empty_and_damaged_files_are_refused_with_a_reason():
    with pytest.raises(ApplicationError, match="empty"):
        sheet_read(content=b"\r\n\r\n", file_name="empty.csv")
    with pytest.raises(ApplicationError, match="cannot be opened as an Excel workbook"):
        sheet_read(content=b"PK\x03\x04broken", file_name="broken.xlsx")


def test_dates_iso_or_day_first_or_month_first(settings):
    assert parse_date("2026-03-31") == datetime.date(2026, 3, 31)
    assert parse_date("31/03/2026") == datetime.date(2026, 3, 31)
    assert parse_date("1.4.26") == datetime.date(2026, 4, 1)
    with pytest.raises(ValidationError, match="day/month/year"):
        parse_date("03/31/2026")
    settings.IMPORT_DATE_ORDER = "MDY"
    assert parse_date("03/31/2026") == datetime.date(2026, 3, 31)
    assert parse_date("2026-03-31") == datetime.date(2026, 3, 31)


def test_decimal_point_or_comma(settings):
    assert parse_decimal("1,234.50") == Decimal("1234.50")
    assert parse_decimal("ZAR 450.00") == Decimal("450.00")
    assert parse_decimal("(12.00)") == Decimal("-12.00")
    settings.IMPORT_DECIMAL_COMMA = True
    assert parse_decimal("1.234,50") == Decimal("1234.50")
    assert parse_decimal("1 234,5") == Decimal("1234.5")
    with pytest.raises(ValidationError, match="“abc” is not a number"):
        parse_decimal("abc")


def test_decimal_comma_setting_applies_to_an_import(settings, admin_role_user):
    settings.IMPORT_DECIMAL_COMMA = True
    TaxRateFactory(name="VAT")
    content = csv_bytes(
        [["SKU", "Name", "Price", "Tax"], ["A1", "Apostille", "1.250,75", "vat"]], delimiter=";"
    )
    outcome = import_run(
        entity_name="services", content=content, file_name="s.csv", actor=admin_role_user
    )
    assert outcome.written, outcome.summary()
    service = Service.objects.get(sku="A1")
    assert (service.rate, service.tax_rate.name) == (Decimal("1250.75"), "VAT")
