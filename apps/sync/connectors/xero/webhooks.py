"""Xero webhooks (vendor-contracts §4.10): `x-xero-signature` is base64(HMAC-SHA256) of the raw
body keyed by XERO_WEBHOOK_KEY, checked in constant time before the body is parsed; a wrong one
is answered 401 with no body, a right one 200 with no body. Xero's intent-to-receive check
sends bodies with no events, some signed right and some wrong: the same rule answers it, and
nothing of it is stored.

Xero sends CONTACT and INVOICE events only (a payment made or deleted in Xero arrives as an
update of its invoice, a quote converted there as the creation of its invoice), thin: each
names a resource, which the task fetches again with our own token and applies through the
pull's code."""

import base64
import hashlib
import hmac
import json

from django.conf import settings

from apps.sync.engine.connections import adapter_for
from apps.sync.engine.importer import apply_one
from apps.sync.engine.records import NotFound
from apps.sync.models import Connection, Entity, Priority
from apps.sync.webhooks.models import InboundWebhook, WebhookStatus
from apps.sync.webhooks.services import forged, malformed

from .importers import record_apply, record_reads
from .mappers import contact_from_xero

PROVIDER = "xero"
URL_NAME = "webhook-xero"
SIGNATURE_HEADER = "x-xero-signature"
# eventCategory -> adapter resource
CATEGORIES = {"CONTACT": "contacts", "INVOICE": "invoices"}


def xero_signature(key: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _events(body: bytes) -> list[dict]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise malformed("The Xero webhook body is not JSON.") from None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise malformed("The Xero webhook body has no list of events.")
    return events


def xero_verify(*, body: bytes, query: dict[str, str], headers) -> tuple[Connection | None, str]:
    key = settings.XERO_WEBHOOK_KEY
    if not key:
        raise forged("XERO_WEBHOOK_KEY is not set: no Xero webhook can be trusted.")
    signature = headers.get(SIGNATURE_HEADER, "")
    expected = xero_signature(key, body)
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise forged("The Xero webhook signature does not match.")
    events = _events(body)
    tenants = [str(e.get("tenantId") or "") for e in events]
    connection = (
        Connection.objects.filter(provider=PROVIDER, remote_account_id__in=tenants)
        .order_by("pk")
        .first()
    )
    if connection is None:
        # Intent to receive (no events), or events of organisations we are not connected to:
        # acknowledged, or Xero retries them for a day and then disables the webhook.
        return None, ""
    kinds = sorted({f"{e.get('eventCategory')}.{e.get('eventType')}" for e in events})
    return connection, ",".join(kinds)[:100]


def xero_process(row: InboundWebhook) -> tuple[str, str]:
    """Fetch each event's contact or invoice again and apply it."""
    results = []
    connections = {
        c.remote_account_id: c
        for c in Connection.objects.filter(provider=PROVIDER).select_related("credential")
    }
    for event in _events(row.body.encode()):
        category = str(event.get("eventCategory") or "")
        resource_id = str(event.get("resourceId") or "")
        connection = connections.get(str(event.get("tenantId") or ""))
        if category not in CATEGORIES or not resource_id or connection is None:
            results.append(f"{category or 'event'} {resource_id}: not applied")
            continue
        results.append(_apply(connection, CATEGORIES[category], resource_id))
    status = WebhookStatus.PROCESSED if results else WebhookStatus.IGNORED
    return status, "; ".join(results) or "No events."


def _apply(connection: Connection, resource: str, remote_id: str) -> str:
    adapter = adapter_for(connection, priority=Priority.USER)
    try:
        record = adapter.get(resource, remote_id)
    except NotFound:
        return f"{resource} {remote_id} no longer exists in Xero"
    if resource == "contacts":
        return apply_one(
            connection=connection, entity=Entity.CLIENTS, record=record, mapper=contact_from_xero
        )
    reads = record_reads(
        connection=connection, entity=Entity.INVOICES, record=record, adapter=adapter
    )
    changed = record_apply(
        connection=connection, entity=Entity.INVOICES, record=record, deleted_payments=reads
    )
    if changed is None:
        return f"invoice {record.number or remote_id}: not one of ours"
    return f"invoice {record.number}: {changed}"
