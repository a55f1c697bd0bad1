"""Batched writes: many elements per PUT/POST, answered per element with summarizeErrors=false,
summarised (400, valid ones kept) without it, one Idempotency-Key per request, one call each."""

import pytest

from apps.sandbox.xero.models import XeroContact, XeroInvoice, XeroItem, XeroPayment, XeroQuote
from tests.sandbox.xero.conftest import body_of
from tests.sandbox.xero.test_accounting_contract import API, _first_contact_id, _invoice, check

PER_ELEMENT = {"summarizeErrors": "false"}


def _quote(contact_id: str, reference: str) -> dict:
    return {
        "Contact": {"ContactID": contact_id},
        "Date": "2026-02-01",
        "Reference": reference,
        "LineItems": [{"Description": "Work", "Quantity": 3, "UnitAmount": "33.33"}],
    }


def _batches(xero) -> dict:
    """(collection, good elements, one bad element, where the bad one's message starts)."""
    contact_id = _first_contact_id(xero)
    invoice = body_of(
        xero.call(
            "PUT",
            f"{API}/Invoices",
            json={"Invoices": [_invoice(contact_id, Status="AUTHORISED", InvoiceNumber="B-0")]},
        )
    )["Invoices"][0]
    payment = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    return {
        "Contacts": (
            [{"Name": f"Batch Co {n}"} for n in range(3)],
            {"Name": "Xero Customer 0001"},
            "The contact name Xero Customer 0001 is already assigned",
        ),
        "Items": (
            [{"Code": f"B-{n}", "Name": f"Batch {n}"} for n in range(3)],
            {"Code": "", "Name": "No code"},
            "Item code must be provided",
        ),
        "Quotes": (
            [_quote(contact_id, f"Q-B-{n}") for n in range(3)],
            {**_quote(contact_id, "Q-BAD"), "LineItems": [{"Description": "x", "TaxType": "ZZZ"}]},
            "The TaxType code 'ZZZ' does not exist",
        ),
        "Invoices": (
            [_invoice(contact_id, InvoiceNumber=f"B-{n + 1}") for n in range(3)],
            _invoice("00000000-0000-0000-0000-000000000000", InvoiceNumber="B-BAD"),
            "The contact with ContactID 00000000-0000-0000-0000-000000000000 could not be found",
        ),
        "Payments": (
            [{**payment, "Amount": 1, "Reference": f"P-{n}"} for n in range(3)],
            {**payment, "Amount": 1_000_000},
            "Payment amount exceeds the amount outstanding on this document",
        ),
    }


MODELS = {
    "Contacts": XeroContact,
    "Items": XeroItem,
    "Quotes": XeroQuote,
    "Invoices": XeroInvoice,
    "Payments": XeroPayment,
}


@pytest.mark.parametrize("collection", list(MODELS))
def test_per_element_answers_keep_order_and_errors(xero, collection):
    good, bad, message = _batches(xero)[collection]
    before = MODELS[collection].objects.count()
    elements = [good[0], bad, good[1], good[2]]
    answer = xero.call(
        "PUT", f"{API}/{collection}", params=PER_ELEMENT, json={collection: elements}
    )
    body = check(answer, f"/{collection}", "PUT")
    rows = body[collection]
    assert [r["StatusAttributeString"] for r in rows] == ["OK", "ERROR", "OK", "OK"]
    assert rows[1]["ValidationErrors"][0]["Message"].startswith(message), rows[1]
    assert all("ValidationErrors" not in r or not r["ValidationErrors"] for r in rows[::2])
    assert MODELS[collection].objects.count() == before + 3


@pytest.mark.parametrize("collection", list(MODELS))
def test_summarised_batch_keeps_the_valid_elements(xero, collection):
    good, bad, message = _batches(xero)[collection]
    before = MODELS[collection].objects.count()
    answer = xero.call("PUT", f"{API}/{collection}", json={collection: [good[0], bad, good[1]]})
    body = check(answer, f"/{collection}", "PUT", "400")
    assert body["Type"] == "ValidationException"
    assert len(body["Elements"]) == 1
    assert body["Elements"][0]["ValidationErrors"][0]["Message"].startswith(message)
    assert MODELS[collection].objects.count() == before + 2


def test_post_batch_creates_and_updates_in_one_call(xero):
    contact_id = _first_contact_id(xero)
    created = body_of(
        xero.call("PUT", f"{API}/Invoices", json={"Invoices": [_invoice(contact_id)]})
    )["Invoices"][0]
    answer = xero.call(
        "POST",
        f"{API}/Invoices",
        params=PER_ELEMENT,
        json={
            "Invoices": [
                {"InvoiceID": created["InvoiceID"], "Reference": "changed"},
                _invoice(contact_id, InvoiceNumber="NEW-IN-BATCH"),
            ]
        },
    )
    rows = check(answer, "/Invoices", "POST")["Invoices"]
    assert [r["StatusAttributeString"] for r in rows] == ["OK", "OK"]
    assert rows[0]["InvoiceID"] == created["InvoiceID"] and rows[0]["Reference"] == "changed"
    assert rows[1]["InvoiceNumber"] == "NEW-IN-BATCH"


def test_a_batch_is_one_call_against_the_limits(xero):
    first = xero.call("GET", f"{API}/Organisation")
    left = int(first["X-MinLimit-Remaining"])
    day_left = int(first["X-DayLimit-Remaining"])
    elements = [{"Name": f"Counted {n}"} for n in range(50)]
    batch = xero.call("PUT", f"{API}/Contacts", params=PER_ELEMENT, json={"Contacts": elements})
    assert batch.status_code == 200
    assert int(batch["X-MinLimit-Remaining"]) == left - 1
    assert int(batch["X-DayLimit-Remaining"]) == day_left - 1


def test_one_idempotency_key_per_batch(xero):
    elements = [{"Name": f"Keyed {n}"} for n in range(5)] + [{"Name": ""}]
    headers = {"Idempotency-Key": "batch-1"}
    first = xero.call(
        "PUT", f"{API}/Contacts", params=PER_ELEMENT, json={"Contacts": elements}, headers=headers
    )
    again = xero.call(
        "PUT", f"{API}/Contacts", params=PER_ELEMENT, json={"Contacts": elements}, headers=headers
    )
    assert first.status_code == again.status_code == 200
    assert body_of(first)["Contacts"] == body_of(again)["Contacts"]
    assert XeroContact.objects.filter(name__startswith="Keyed ").count() == 5
    other = xero.call(
        "PUT",
        f"{API}/Contacts",
        params=PER_ELEMENT,
        json={"Contacts": elements[:2]},
        headers=headers,
    )
    assert other.status_code == 400
    assert "used with a different request" in body_of(other)["Message"]
