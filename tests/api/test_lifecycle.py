"""The quote -> invoice lifecycle over the API, in process: every step's answer checked."""

from decimal import Decimal

import pytest

from tests.quotes.factories import DocServiceFactory

pytestmark = pytest.mark.django_db


def test_quote_to_paid_invoice(agent_api, mailoutbox):
    client = agent_api.post(
        "/api/v1/clients/",
        {"name": "Thandi Mokoena", "email": "thandi@example.co.za"},
        format="json",
    )
    assert client.status_code == 201, client.json()
    assert client["Location"] == f"/api/v1/clients/{client.json()['id']}/"
    ticket = agent_api.post(
        "/api/v1/tickets/",
        {"client": client.json()["id"], "subject": "Birth certificate", "body": "Please help"},
        format="json",
    )
    assert ticket.status_code == 201, ticket.json()
    service = DocServiceFactory()
    quote = agent_api.post(
        f"/api/v1/tickets/{ticket.json()['id']}/quotes/",
        {
            "lines": [
                {"service": service.pk, "quantity": "2"},
                {"name": "Courier", "rate": "100.00", "tax_rate": "15"},
            ]
        },
        format="json",
    )
    assert quote.status_code == 201, quote.json()
    body = quote.json()
    assert body["number"].startswith("Q-") and body["status"] == "draft"
    assert body["client"] == client.json()["id"] and body["ticket"] == ticket.json()["id"]
    assert [line["name"] for line in body["lines"]] == [service.name, "Courier"]
    assert body["total"] == "1150.00"
    sent = agent_api.post(f"/api/v1/quotes/{body['id']}/send/")
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == "sent"
    edit = agent_api.patch(f"/api/v1/quotes/{body['id']}/", {"notes": "x"}, format="json")
    assert edit.status_code == 409
    assert edit["Content-Type"] == "application/problem+json"
    accepted = agent_api.post(
        f"/api/v1/quotes/{body['id']}/accept/", {"create_invoice": True}, format="json"
    )
    assert accepted.status_code == 200, accepted.json()
    invoice = accepted.json()["invoice"]
    assert accepted.json()["quote"]["status"] == "accepted"
    assert invoice["quote"] == body["id"] and invoice["total"] == "1150.00"
    sent = agent_api.post(f"/api/v1/invoices/{invoice['id']}/send/")
    assert sent.status_code == 200, sent.json()
    paid = agent_api.post(
        f"/api/v1/invoices/{invoice['id']}/payments/", {"amount": "150.00"}, format="json"
    )
    assert paid.status_code == 201, paid.json()
    too_much = agent_api.post(
        f"/api/v1/invoices/{invoice['id']}/payments/", {"amount": "5000.00"}, format="json"
    )
    assert too_much.status_code == 400
    assert too_much.json()["errors"][0]["field"] == "amount"
    rest = agent_api.post(f"/api/v1/invoices/{invoice['id']}/payments/", {}, format="json")
    assert rest.status_code == 201, rest.json()
    assert Decimal(rest.json()["amount"]) == Decimal("1000.00")
    again = agent_api.post(f"/api/v1/invoices/{invoice['id']}/mark-paid/", {}, format="json")
    assert again.status_code == 409, again.json()


def test_a_reply_is_emailed_and_a_note_is_not(
    agent_api, mailoutbox, django_capture_on_commit_callbacks
):
    client = agent_api.post(
        "/api/v1/clients/", {"name": "Ayanda", "email": "ayanda@example.co.za"}, format="json"
    ).json()
    ticket = agent_api.post(
        "/api/v1/tickets/", {"client": client["id"], "subject": "Passport"}, format="json"
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}/messages/"
    with django_capture_on_commit_callbacks(execute=True):
        note = agent_api.post(
            url, {"body": "Called Home Affairs", "internal_note": True}, format="json"
        )
    assert note.status_code == 201 and note.json()["is_internal_note"] is True
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        reply = agent_api.post(url, {"body": "Your passport is ready."}, format="json")
    assert reply.status_code == 201 and reply.json()["direction"] == "out"
    assert [(m.to, m.body) for m in mailoutbox] == [
        (["ayanda@example.co.za"], "Your passport is ready.")
    ]
    listed = agent_api.get(url).json()["results"]
    assert [m["body"] for m in listed] == ["Your passport is ready.", "Called Home Affairs"]
