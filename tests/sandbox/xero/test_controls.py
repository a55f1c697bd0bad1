"""Sandbox controls for tests and benchmarks: a bookkeeper's payment or status change made in
Xero (each invoice change answered by its INVOICE webhook event), and the calls a tenant got."""

import io
import json

import pytest
from django.core.management import call_command

from apps.sandbox import clock
from apps.sandbox.models import WebhookDelivery
from apps.sandbox.webhooks import webhook_deliver_due
from apps.sandbox.xero.models import XeroApp, XeroPayment
from tests.sandbox.xero.conftest import body_of
from tests.sandbox.xero.schema import xero_validate
from tests.sandbox.xero.test_accounting_contract import API, _first_contact_id, _invoice
from tests.sandbox.xero.test_webhooks import Receiver


def control(tenant_id: str, name: str) -> str:
    return f"/sandbox/xero/control/tenants/{tenant_id}/{name}"


@pytest.fixture
def authorised(xero) -> dict:
    answer = xero.call(
        "PUT",
        f"{API}/Invoices",
        json={"Invoices": [_invoice(_first_contact_id(xero), Status="AUTHORISED")]},
    )
    return body_of(answer)["Invoices"][0]


@pytest.fixture
def receiver(seeded):
    receiver = Receiver()
    XeroApp.objects.update(webhook_url=receiver.url)
    yield receiver
    receiver.server.shutdown()


def test_a_payment_made_in_xero_arrives_as_an_invoice_update(
    staff_client, xero, tenant_id, authorised, receiver
):
    WebhookDelivery.objects.all().delete()
    answer = staff_client.post(
        control(tenant_id, "payments"),
        {"invoice": authorised["InvoiceNumber"], "amount": "40.00", "date": "2026-03-09"},
    )
    assert answer.status_code == 200, answer.content
    payment = answer.json()["Payments"][0]
    xero_validate("accounting", "Payment", payment)
    assert payment["Amount"] == 40 and payment["Account"]["Code"] == "090"
    assert webhook_deliver_due().delivered == 1
    [(body, _)] = receiver.received
    event = json.loads(body)["events"][0]
    assert (event["eventCategory"], event["eventType"]) == ("INVOICE", "UPDATE")
    assert event["resourceId"] == authorised["InvoiceID"]
    fetched = body_of(xero.call("GET", f"{API}/Invoices/{authorised['InvoiceID']}"))
    assert fetched["Invoices"][0]["AmountPaid"] == 40


def test_the_rest_paid_by_json_makes_the_invoice_paid(staff_client, xero, tenant_id, authorised):
    answer = staff_client.post(
        control(tenant_id, "payments"),
        {"invoice": authorised["InvoiceID"], "amount": str(authorised["AmountDue"])},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    fetched = body_of(xero.call("GET", f"{API}/Invoices/{authorised['InvoiceID']}"))
    assert fetched["Invoices"][0]["Status"] == "PAID"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": "1"}, "invoice", "invoice (an InvoiceID or InvoiceNumber) is required."),
        ({"invoice": "NO-SUCH", "amount": "1"}, "invoice", "No invoice NO-SUCH"),
        ({"invoice": "@number"}, "amount", "amount is required."),
        (
            {"invoice": "@number", "amount": "99999"},
            "payment",
            "Payment amount exceeds the amount outstanding on this document",
        ),
        (
            {"invoice": "@number", "amount": "1", "account": "200"},
            "payment",
            "Payments cannot be made to account 200.",
        ),
    ],
)
def test_a_bad_payment_is_refused_naming_the_field(
    staff_client, tenant_id, authorised, fields, field, message
):
    fields = {k: authorised["InvoiceNumber"] if v == "@number" else v for k, v in fields.items()}
    answer = staff_client.post(control(tenant_id, "payments"), fields)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert answer.json()["error"].startswith(message)
    assert XeroPayment.objects.count() == 0


def test_status_changes_made_in_xero(staff_client, xero, tenant_id, authorised, receiver):
    WebhookDelivery.objects.all().delete()
    voided = staff_client.post(
        control(tenant_id, "status"),
        {"kind": "invoice", "id": authorised["InvoiceID"], "status": "VOIDED"},
    )
    assert voided.status_code == 200, voided.content
    assert voided.json()["Invoices"][0]["Status"] == "VOIDED"
    assert WebhookDelivery.objects.count() == 1  # the invoice's UPDATE event
    refused = staff_client.post(
        control(tenant_id, "status"),
        {"kind": "invoice", "id": authorised["InvoiceNumber"], "status": "AUTHORISED"},
    )
    assert refused.status_code == 400 and refused.json()["field"] == "status"
    quote = body_of(
        xero.call(
            "PUT",
            f"{API}/Quotes",
            json={
                "Quotes": [
                    {
                        "Contact": {"ContactID": _first_contact_id(xero)},
                        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1}],
                    }
                ]
            },
        )
    )["Quotes"][0]
    for status in ("SENT", "ACCEPTED"):
        moved = staff_client.post(
            control(tenant_id, "status"),
            {"kind": "quote", "id": quote["QuoteNumber"], "status": status},
            content_type="application/json",
        )
        assert moved.json()["Quotes"][0]["Status"] == status
    assert WebhookDelivery.objects.count() == 1  # Xero sends no quote events
    unknown = staff_client.post(control(tenant_id, "status"), {"kind": "bill", "id": "x"})
    assert unknown.status_code == 400 and unknown.json()["field"] == "kind"


def test_controls_are_for_staff_only(client, tenant_id, authorised):
    for name in ("payments", "status"):
        assert client.post(control(tenant_id, name), {}).status_code == 401
    assert client.get(control(tenant_id, "calls")).status_code == 401


def test_call_counts_for_benchmarks(staff_client, xero, tenant_id):
    before = staff_client.get(control(tenant_id, "calls")).json()
    xero.call("GET", f"{API}/Organisation")
    batch = [{"Name": f"Counted {n}"} for n in range(20)]
    xero.call(
        "PUT", f"{API}/Contacts", params={"summarizeErrors": "false"}, json={"Contacts": batch}
    )
    after = staff_client.get(control(tenant_id, "calls")).json()
    assert after["calls"] - before["calls"] == 2
    assert after["minute"]["limit"] == 60 and after["day"]["limit"] == 5000
    # Throttled answers are counted apart.
    clock.clock_advance(
        vendor="xero",
        account=tenant_id,
        vendor_seconds=clock.window("xero", tenant_id).reset_seconds,
    )
    statuses = [xero.call("GET", f"{API}/Organisation").status_code for _ in range(61)]
    assert statuses.count(429) == 1
    out = io.StringIO()
    call_command("sandbox", "calls", "xero", tenant_id, stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["calls"] == after["calls"] + 61 and printed["throttled"] == 1
