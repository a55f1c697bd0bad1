"""Mappers are pure: table tests against recorded vendor payloads (tests/sync/payloads/)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.sync.connectors.xero import mappers as xero
from apps.sync.connectors.xero.dates import parse_xero_time
from apps.sync.connectors.zoho.books import mappers as books
from apps.sync.connectors.zoho.crm import mappers as crm
from apps.sync.connectors.zoho.dates import parse_zoho_time
from apps.sync.engine import entities
from apps.sync.engine.records import RemoteRecord

PAYLOADS = Path(__file__).parent / "payloads"


def record(name: str) -> RemoteRecord:
    return RemoteRecord(
        remote_id="1", number="", modified_at=None, data=json.loads((PAYLOADS / name).read_text())
    )


@pytest.mark.parametrize(
    ("payload", "mapper", "expected"),
    [
        (
            "zoho_books_contact.json",
            books.contact_from_books,
            {
                "name": "Bowman and Co",
                "email": "willie@bowman.example",
                "phone": "+1-925-921-9201",
                "mobile": "+1-4054439562",
                "company": "Bowman and Co",
                "billing_address": "4900 Hopyard Rd\nSuite 310\nPleasanton\nCA\n94588\nU.S.A",
                "active": True,
            },
        ),
        (
            "xero_contact.json",
            xero.contact_from_xero,
            {
                "name": "ABC Limited",
                "email": "a.dutchess@abclimited.example",
                "phone": "64 4 1111111",
                "mobile": "",
                "billing_address": "P O Box 123\nWellington\n6011\nNew Zealand",
                "tax_number": "123-456-789",
                "active": False,
            },
        ),
        (
            "zoho_books_item.json",
            books.item_from_books,
            {
                "name": "Hard Drive",
                "description": "500GB",
                "rate": "120.10",
                "unit": "qty",
                "sku": "HD-500",
                "active": False,
                "tax_rate": "",
            },
        ),
        (
            "xero_item.json",
            xero.item_from_xero,
            {
                "name": "2011 Merino Sweater - LARGE",
                "description": "2011 Merino Sweater - LARGE",
                "rate": "49.95",
                "sku": "Merino-2011-LG",
                "active": True,
                # OUTPUT2's percentage is the adapter's to read (/TaxRates); none here.
                "tax_rate": "",
            },
        ),
    ],
)
def test_vendor_payload_to_canonical(payload, mapper, expected):
    assert mapper(record(payload)) == expected


@pytest.mark.parametrize(
    ("mapper", "expected"),
    [
        (
            lambda c: books.contact_to_books(c),
            {
                "contact_name": "Ada Lovelace",
                "company_name": "Engines",
                "contact_type": "customer",
                "email": "ada@example.com",
                "phone": "555",
                "mobile": "",
                "billing_address": {"address": "1 Road\nLondon"},
            },
        ),
        (
            lambda c: xero.contact_to_xero(c, reference="SD-C-000007"),
            {
                "Name": "Ada Lovelace",
                "EmailAddress": "ada@example.com",
                "ContactNumber": "SD-C-000007",
                "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "555"}],
                "Addresses": [
                    {"AddressType": "POBOX", "AddressLine1": "1 Road", "AddressLine2": "London"}
                ],
            },
        ),
        (
            lambda c: crm.contact_to_crm(c),
            {
                "First_Name": "Ada",
                "Last_Name": "Lovelace",
                "Email": "ada@example.com",
                "Phone": "555",
                "Mobile": "",
            },
        ),
    ],
)
def test_local_client_to_vendor_payload(mapper, expected):
    local = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "555",
        "mobile": "",
        "company": "Engines",
        "billing_address": "1 Road\nLondon",
        "tax_number": "",
        "active": True,
    }
    assert mapper(local) == expected


def test_rates_keep_cents_exactly():
    local = entities.service_snapshot(
        {"name": "X", "description": "", "rate": "0.10", "unit": "", "sku": "", "active": True}
    )
    assert local["rate"] == "0.10" and local["unit"] == "Each"
    assert xero.item_to_xero({**local, "sku": "X1"})["SalesDetails"]["UnitPrice"] == 0.1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01T10:00:00+0530", datetime(2026, 7, 1, 4, 30, tzinfo=UTC)),
        ("2026-07-01T10:00:00+05:30", datetime(2026, 7, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_zoho_times(text, expected):
    assert parse_zoho_time(text) == expected


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_xero_ms_dates_round_trip(millis):
    parsed = parse_xero_time(f"/Date({millis}+0000)/")
    assert round(parsed.timestamp() * 1000) == millis
