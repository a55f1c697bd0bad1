"""Xero webhooks at /sync/webhooks/xero/: x-xero-signature (base64 HMAC-SHA256 of the raw body)
checked in constant time, 200 with no body to a right one and 401 to a wrong one (counted),
Xero's intent-to-receive answered by that rule and never stored, events stored once and
processed in a task that fetches the invoice again. Unit checks through the test client, then
the done-when scenarios against the sandbox over real HTTP (the sandbox sends the webhooks)."""

import json
from decimal import Decimal

import pytest
import requests

from apps.invoices import services as invoice_services
from apps.sandbox.models import WebhookDelivery
from apps.sandbox.xero import webhooks as sandbox_webhooks
from apps.sandbox.xero.models import XeroApp, XeroInvoice, XeroPayment
from apps.sync.connectors.xero.webhooks import xero_signature
from apps.sync.models import Binding, OutboxItem
from apps.sync.selectors import sync_health
from apps.sync.webhooks.models import InboundWebhook, WebhookRefusal
from tests.quotes.factories import DocClientFactory
from tests.sync.factories import make_xero
from tests.sync.test_xero_flows import WEBHOOK_KEY, connect_xero, drain_until_settled

URL = "/sync/webhooks/xero/"


def post(client, body: bytes, *, key: str = WEBHOOK_KEY, signature: str | None = None):
    return client.post(
        URL,
        data=body,
        content_type="application/json; charset=utf-8",
        headers={"x-xero-signature": signature or xero_signature(key, body)},
    )


def event(tenant: str, resource_id: str = "0a1b2c3d-0000-0000-0000-000000000001") -> bytes:
    return json.dumps(
        {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource_id}",
                    "resourceId": resource_id,
                    "eventDateUtc": "2026-11-28T08:00:00.000",
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                }
            ],
            "firstEventSequence": 1,
            "lastEventSequence": 1,
            "entropy": "ABCDEFGHIJKLMNOPQRST",
        }
    ).encode()


ITR = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'


def refused() -> int:
    return sum(
        WebhookRefusal.objects.filter(source="xero", reason="forged").values_list(
            "count", flat=True
        )
    )


# --- receiver, no vendor needed ------------------------------------------------------------------
@pytest.mark.django_db
def test_signature_checked_over_the_raw_body_and_stored_once(client, settings):
    settings.XERO_WEBHOOK_KEY = WEBHOOK_KEY
    connection = make_xero(tenant="c2cc9b6e-9458-4c7d-93cc-f02b81b0594f")
    body = event(connection.remote_account_id)

    forged = post(client, body, key="NotTheKey")
    assert (forged.status_code, forged.content) == (401, b"")
    unsigned = client.post(URL, data=body, content_type="application/json")
    assert unsigned.status_code == 401
    # The same JSON re-serialised is other bytes: the signature no longer matches.
    respaced = json.dumps(json.loads(body), indent=1).encode()
    assert post(client, respaced, signature=xero_signature(WEBHOOK_KEY, body)).status_code == 401
    assert refused() == 3 and not InboundWebhook.objects.exists()

    first, again = post(client, body), post(client, body)
    assert (first.status_code, first.content, again.status_code) == (200, b"", 200)
    assert "Set-Cookie" not in first.headers
    row = InboundWebhook.objects.get()  # a duplicate delivery is acknowledged, not stored
    assert (row.connection, row.event) == (connection, "INVOICE.UPDATE")
    assert post(client, b"{not json").status_code == 400


@pytest.mark.django_db
def test_intent_to_receive_good_200_bad_401_nothing_stored(client, settings):
    settings.XERO_WEBHOOK_KEY = WEBHOOK_KEY
    good = post(client, ITR)
    bad = post(client, ITR, key="SomeoneElsesKey")
    assert (good.status_code, good.content) == (200, b"")
    assert (bad.status_code, bad.content) == (401, b"")
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_without_a_webhook_key_nothing_is_trusted(client, settings):
    settings.XERO_WEBHOOK_KEY = ""
    assert post(client, ITR, key="").status_code == 401


# --- done when: over real HTTP, the sandbox sending -------------------------------------------
pytestmark_live = pytest.mark.django_db(transaction=True)


@pytestmark_live
def test_intent_to_receive_run_passes(live_server, settings):
    connect_xero(live_server, settings)
    app = XeroApp.objects.get()
    assert app.webhook_url.endswith(URL)
    report = sandbox_webhooks.intent_to_receive(app=app, rounds=3)
    assert report.passed, report.attempts
    assert [a.status_code for a in report.attempts] == [200, 401] * 3
    assert not InboundWebhook.objects.exists()


@pytestmark_live
def test_payment_made_in_xero_reaches_our_invoice_through_its_webhook(
    live_server, settings, agent_user, admin_client_mfa
):
    _, tenant = connect_xero(live_server, settings)
    lines = [{"name": "Translation", "quantity": "2", "rate": "150.00", "tax_rate": "0"}]
    invoice = invoice_services.invoice_create(
        client=DocClientFactory(), lines=lines, created_by=agent_user
    )
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    remote = XeroInvoice.objects.get(tenant=tenant)
    assert remote.status == "AUTHORISED"
    InboundWebhook.objects.all().delete()  # the events of our own writes (applied: no change)

    # A bookkeeper records a payment in Xero (the sandbox's control for it).
    answer = admin_client_mfa.post(
        f"/sandbox/xero/control/tenants/{tenant.tenant_id}/payments",
        {"invoice": remote.invoice_number, "amount": "120.00", "reference": "Cash at the counter"},
    )
    assert answer.status_code == 200, answer.content
    paid = XeroPayment.objects.get()

    delivery = WebhookDelivery.objects.filter(kind="xero.invoice").order_by("-id").first()
    assert delivery.last_status_code == 200
    row = InboundWebhook.objects.get()
    assert (row.status, row.attempts, row.event) == ("processed", 1, "INVOICE.UPDATE")
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("120.00"), "partially_paid")
    payment = invoice.payments.get()
    assert payment.reference == "Cash at the counter"
    assert Binding.objects.get(entity="payments", object_id=payment.pk).remote_id == str(
        paid.payment_id
    )
    # Applied from Xero: nothing echoed back, and the same event again changes nothing.
    assert not OutboxItem.objects.filter(entity="payments").exists()
    from apps.sync.webhooks.services import webhook_process

    InboundWebhook.objects.filter(pk=row.pk).update(status="failed")
    assert webhook_process(webhook_id=row.pk) == "processed"
    assert invoice.payments.count() == 1
    assert XeroPayment.objects.count() == 1


@pytestmark_live
def test_forged_webhook_is_refused_over_http_and_counted(live_server, settings):
    _, tenant = connect_xero(live_server, settings)
    body = event(str(tenant.tenant_id))
    answer = requests.post(
        f"{live_server.url}{URL}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "x-xero-signature": xero_signature("AnAttackersGuess", body),
        },
        timeout=10,
    )
    assert (answer.status_code, answer.content) == (401, b"")
    assert not InboundWebhook.objects.exists()
    assert sync_health()["webhooks"]["forged"] == 1
