"""Books numbers come from a per-organisation counter: never repeated, not even after a delete."""

import threading

import pytest
from django.db import connection

from apps.sandbox.zoho import accounts, books
from apps.sandbox.zoho.models import BooksInvoice


def _estimate_body(customer_id: str) -> dict:
    return {"customer_id": customer_id, "line_items": [{"name": "Work", "rate": 10, "quantity": 1}]}


def test_estimate_numbers_are_not_reused_after_a_delete(books_api):
    customer = books_api.post("contacts", {"contact_name": "Numbers Ltd"}).json()["contact"]
    made = [
        books_api.post("estimates", _estimate_body(customer["contact_id"])).json()["estimate"]
        for _ in range(3)
    ]
    assert [e["estimate_number"] for e in made] == ["EST-000001", "EST-000002", "EST-000003"]
    assert books_api.delete(f"estimates/{made[-1]['estimate_id']}").status_code == 200
    again = books_api.post("estimates", _estimate_body(customer["contact_id"])).json()["estimate"]
    assert again["estimate_number"] == "EST-000004"


def test_payment_numbers_are_not_reused_after_a_delete(books_api):
    customer = books_api.post("contacts", {"contact_name": "Payer Ltd"}).json()["contact"]
    body = {
        "customer_id": customer["contact_id"],
        "payment_mode": "cash",
        "amount": 10,
        "date": "2026-03-01",
    }
    first = books_api.post("customerpayments", body).json()["payment"]
    second = books_api.post("customerpayments", body).json()["payment"]
    assert (first["payment_number"], second["payment_number"]) == ("1", "2")
    books_api.delete(f"customerpayments/{first['payment_id']}")
    third = books_api.post("customerpayments", body).json()["payment"]
    assert third["payment_number"] == "3"


def test_a_number_chosen_by_hand_is_skipped(books_api):
    customer = books_api.post("contacts", {"contact_name": "Hand Ltd"}).json()["contact"]
    body = _estimate_body(customer["contact_id"])
    books_api.post("invoices", body | {"invoice_number": "INV-000001"})
    automatic = books_api.post("invoices", body).json()["invoice"]
    assert automatic["invoice_number"] == "INV-000002"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_distinct_numbers():
    organization = accounts.organization_create(name="Race Org")
    customer = books.contact_create(organization=organization, data={"contact_name": "Racer"})
    start = threading.Barrier(6)
    errors = []

    def create():
        try:
            start.wait()
            books.invoice_create(
                organization=organization, data=_estimate_body(customer.contact_id)
            )
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(BooksInvoice.objects.values_list("invoice_number", flat=True))
    assert numbers == [f"INV-{n:06d}" for n in range(1, 7)]
