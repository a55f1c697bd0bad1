"""The seed flow over real HTTP with a Bearer token, against a live server whose Zoho Books is the
sandbox: client -> ticket -> quote with two lines -> send (the sandbox gets the estimate) ->
accept with create_invoice -> send -> two payments -> mark-paid refused once paid."""

from decimal import Decimal

import pytest
import requests

from apps.api.services import api_token_create
from apps.sandbox.zoho.models import BooksEstimate, BooksInvoice
from tests.quotes.factories import DocServiceFactory
from tests.sync.test_zoho_flows import drain_until_settled, zoho  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _zoho_client(settings):
    # The OAuth client the sandbox knows (as tests/sync/conftest.py sets for the sync suite).
    settings.ZOHO_CLIENT_ID = "zoho-client"
    settings.ZOHO_CLIENT_SECRET = "zoho-client-secret-XYZ"
    settings.SYNC_OUTBOX_BACKOFF_BASE = 0.01
    settings.SYNC_OUTBOX_BACKOFF_CAP = 0.05


def test_seed_flow_over_http(zoho, live_server, agent_user, mailoutbox):  # noqa: F811
    _, token = api_token_create(user=agent_user, name="seed flow")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    api = f"{live_server.url}/api/v1"

    def post(path, body=None, *, expect):
        response = http.post(f"{api}{path}", json=body or {}, timeout=30)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    client = post(
        "/clients/", {"name": "Thandi Mokoena", "email": "thandi@example.co.za"}, expect=201
    )
    assert client["name"] == "Thandi Mokoena"
    # Tasks run inline in tests: the new client was pushed to Books and CRM before the answer.
    assert {(s["provider"], s["status"]) for s in client["sync"]} == {
        ("zoho_books", "synced"),
        ("zoho_crm", "synced"),
    }
    ticket = post(
        "/tickets/",
        {"client": client["id"], "subject": "Two certificates", "body": "Birth and marriage"},
        expect=201,
    )
    assert ticket["client"] == client["id"] and ticket["status"] == "open"
    birth, marriage = DocServiceFactory(), DocServiceFactory()
    quote = post(
        f"/tickets/{ticket['id']}/quotes/",
        {
            "lines": [
                {"service": birth.pk, "quantity": "2"},
                {"service": marriage.pk, "quantity": "1"},
            ],
            "notes": "Collected in person",
        },
        expect=201,
    )
    # 3 x 450.00 plus 15% VAT.
    assert (quote["subtotal"], quote["tax_total"], quote["total"]) == (
        "1350.00",
        "202.50",
        "1552.50",
    )
    assert len(quote["lines"]) == 2 and quote["ticket"] == ticket["id"]

    sent = post(f"/quotes/{quote['id']}/send/", expect=200)
    assert sent["status"] == "sent"
    drain_until_settled()
    estimate = BooksEstimate.objects.get(reference_number=quote["number"])
    assert estimate.status == "sent" and estimate.total == Decimal("1552.50")
    assert len(estimate.line_items) == 2
    state = http.get(f"{api}/quotes/{quote['id']}/", timeout=30).json()["sync"]
    books = [s for s in state if s["provider"] == "zoho_books"]
    assert [(s["connection"], s["status"], s["remote_id"]) for s in books] == [
        ("Books", "synced", estimate.estimate_id)
    ]
    # The quote is also the CRM deal.
    assert [s["status"] for s in state if s["provider"] == "zoho_crm"] == ["synced"]

    accepted = post(f"/quotes/{quote['id']}/accept/", {"create_invoice": True}, expect=200)
    assert accepted["quote"]["status"] == "accepted"
    invoice = accepted["invoice"]
    assert invoice["quote"] == quote["id"] and invoice["status"] == "draft"
    assert invoice["total"] == "1552.50" and invoice["balance"] == "1552.50"
    assert post(f"/invoices/{invoice['id']}/send/", expect=200)["status"] == "sent"

    first = post(f"/invoices/{invoice['id']}/payments/", {"amount": "500.00"}, expect=201)
    assert first["amount"] == "500.00" and first["invoice"] == invoice["id"]
    partly = http.get(f"{api}/invoices/{invoice['id']}/", timeout=30).json()
    assert (partly["status"], partly["balance"]) == ("partially_paid", "1052.50")
    second = post(f"/invoices/{invoice['id']}/payments/", {"reference": "EFT 2"}, expect=201)
    assert second["amount"] == "1052.50"  # the balance, by default
    paid = http.get(f"{api}/invoices/{invoice['id']}/", timeout=30).json()
    assert (paid["status"], paid["balance"], paid["amount_paid"]) == ("paid", "0.00", "1552.50")

    refused = http.post(f"{api}/invoices/{invoice['id']}/mark-paid/", json={}, timeout=30)
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "paid" in refused.json()["detail"]

    drain_until_settled()
    books_invoice = BooksInvoice.objects.get(reference_number=invoice["number"])
    assert books_invoice.status == "paid" and books_invoice.total == Decimal("1552.50")
    listed = http.get(f"{api}/payments/", params={"invoice": invoice["id"]}, timeout=30).json()
    assert [p["amount"] for p in listed["results"]] == ["1052.50", "500.00"]
    assert all(p["sync"] and p["sync"][0]["status"] == "synced" for p in listed["results"])
