"""Xero webhooks out: signed events that fit xero-webhooks.yaml, intent to receive, retries."""

import base64
import hashlib
import hmac
import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from apps.sandbox.models import WebhookDelivery
from apps.sandbox.webhooks import webhook_deliver_due
from apps.sandbox.xero import webhooks
from apps.sandbox.xero.models import XeroApp
from tests.sandbox.xero.conftest import WEBHOOK_KEY
from tests.sandbox.xero.schema import xero_validate

API = "/api.xro/2.0"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Receiver:
    """A loopback receiver that checks signatures like a correct Xero client does."""

    def __init__(self, *, verify=True, fail_first=0):
        self.verify = verify
        self.fail_first = fail_first
        self.received: list[tuple[bytes, str]] = []
        self.server = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/xero/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        signature = environ.get("HTTP_X_XERO_SIGNATURE", "")
        expected = base64.b64encode(
            hmac.new(WEBHOOK_KEY.encode(), body, hashlib.sha256).digest()
        ).decode()
        if self.verify and not hmac.compare_digest(signature, expected):
            start_response("401 Unauthorized", [])
            return [b""]
        self.received.append((body, signature))
        if self.fail_first:
            self.fail_first -= 1
            start_response("500 Internal Server Error", [])
            return [b""]
        start_response("200 OK", [])
        return [b""]


@pytest.fixture
def receiver(seeded):
    receiver = Receiver()
    XeroApp.objects.update(webhook_url=receiver.url)
    yield receiver
    receiver.server.shutdown()


def test_contact_and_invoice_changes_are_delivered_signed(xero, receiver, tenant_id):
    created = xero.call("PUT", f"{API}/Contacts", json={"Contacts": [{"Name": "Hooked Ltd"}]})
    contact_id = created.json_body["Contacts"][0]["ContactID"]
    xero.call("POST", f"{API}/Contacts/{contact_id}", json={"Contacts": [{"FirstName": "Al"}]})
    assert webhook_deliver_due().delivered == 2
    events = []
    for body, _ in receiver.received:
        payload = json.loads(body)
        xero_validate("webhooks", "WebhookEvent", payload)
        events.extend(payload["events"])
    assert [(e["eventCategory"], e["eventType"]) for e in events] == [
        ("CONTACT", "CREATE"),
        ("CONTACT", "UPDATE"),
    ]
    assert {e["resourceId"] for e in events} == {contact_id}
    assert all(e["tenantId"] == tenant_id for e in events)
    assert events[0]["resourceUrl"].endswith(f"/api.xro/2.0/Contacts/{contact_id}")
    sequences = [json.loads(body)["firstEventSequence"] for body, _ in receiver.received]
    assert sequences == sorted(sequences) and len(set(sequences)) == 2


def test_items_make_no_events(xero, receiver):
    xero.call("PUT", f"{API}/Items", json={"Items": [{"Code": "QUIET"}]})
    assert WebhookDelivery.objects.count() == 0


def test_failed_delivery_is_retried(xero, receiver, seeded):

    receiver.fail_first = 1
    xero.call("PUT", f"{API}/Contacts", json={"Contacts": [{"Name": "Retry Ltd"}]})
    first = webhook_deliver_due()
    assert (first.delivered, first.retrying) == (0, 1)
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    assert webhook_deliver_due().delivered == 1
    assert len(receiver.received) == 2
    assert receiver.received[0] == receiver.received[1]  # the same body and signature again


def test_intent_to_receive_with_good_and_bad_signatures(seeded, receiver):
    app = XeroApp.objects.get()
    report = webhooks.intent_to_receive(app=app)
    assert report.passed
    assert [a.signed_correctly for a in report.attempts].count(False) >= 1
    for body, _ in receiver.received:
        payload = json.loads(body)
        assert payload["events"] == [] and payload["firstEventSequence"] == 0
    # A receiver that accepts everything fails the check.
    receiver.verify = False
    assert not webhooks.intent_to_receive(app=app).passed


def test_intent_to_receive_control_endpoint(staff_client, seeded, receiver):
    answer = staff_client.post(
        f"/sandbox/xero/control/apps/{seeded['client_id']}/intent-to-receive"
    )
    assert answer.status_code == 200
    assert answer.json()["passed"] is True
