"""Zoho Books webhooks (vendor-contracts §2.9; ecosystem-notes §3): verified, then processed by
re-fetching the contact, item or invoice they name; and the organisation's outgoing webhooks to
us, registered on connect.

`X-Zoho-Webhook-Signature` = hex HMAC-SHA256 keyed by ZOHO_BOOKS_WEBHOOK_SECRET over the query
parameters sorted by name (name+value, no separators) followed by the raw body: the scheme Zoho
documents for its Billing webhooks, which the sandbox emits for Books (the Books algorithm itself
is UNCONFIRMED). Checked with hmac.compare_digest before the body is parsed.
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import transaction

from apps.invoices.models import Invoice
from apps.sync.engine.bindings import binding_mark_gone
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.importer import apply_one
from apps.sync.engine.records import NotFound, RemoteRecord
from apps.sync.models import Binding, Connection, Entity, Priority
from apps.sync.webhooks.models import InboundWebhook, WebhookStatus
from apps.sync.webhooks.services import forged, malformed, webhook_url

from .importers import invoice_apply_remote
from .mappers import contact_from_books, item_from_books

PROVIDER = "zoho_books"
URL_NAME = "webhook-zoho-books"
BOOKS_SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"
# Books webhook entity -> (single key in the default payload, adapter resource)
BOOKS_ENTITIES = {"contact": "contacts", "item": "items", "invoice": "invoices"}
BOOKS_WEBHOOK_NAME = "Syncdesk {entity}"
# A second webhook per entity for deletions only, told apart by a query parameter (which the
# signature covers): Books sends a deleted record as it last was, the body of its last update.
BOOKS_DELETED_WEBHOOK_NAME = "Syncdesk {entity} deleted"
EVENT_PARAMETER = "syncdesk_event"
DELETED = "deleted"
GONE_ENTITIES = {
    "contacts": Entity.CLIENTS,
    "items": Entity.SERVICES,
    "invoices": Entity.INVOICES,
}


def books_signature(secret: str, query: dict[str, str], body: bytes) -> str:
    message = "".join(f"{key}{query[key]}" for key in sorted(query)).encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def books_verify(*, body: bytes, query: dict[str, str], headers) -> tuple[Connection, str]:
    """Signature over the raw bytes first; only then is the body parsed."""
    signature = headers.get(BOOKS_SIGNATURE_HEADER, "")
    secret = settings.ZOHO_BOOKS_WEBHOOK_SECRET
    if not secret:
        raise forged("ZOHO_BOOKS_WEBHOOK_SECRET is not set: no Books webhook can be trusted.")
    expected = books_signature(secret, query, body)
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise forged("The Books webhook signature does not match.")
    try:
        payload = json.loads(body)
    except ValueError:
        raise malformed("The Books webhook body is not JSON.") from None
    records = (
        [key for key, value in payload.items() if isinstance(value, dict)]
        if isinstance(payload, dict)
        else []
    )
    if len(records) != 1:
        raise malformed("The Books webhook body is not one record keyed by its entity.")
    # Entities we do not apply (estimates, payments) are stored and marked ignored: a 4xx
    # would only make Books retry them.
    entity = records[0]
    if query.get(EVENT_PARAMETER) == DELETED:
        # Our deletion webhook (signed query): the same body as the last update, not a repeat.
        entity = f"{entity}.{DELETED}"
    connection = Connection.objects.filter(
        provider=PROVIDER, remote_account_id=query.get("organization_id", "")
    ).first()
    if connection is None:
        raise malformed("The Books webhook names no organisation we are connected to.")
    return connection, entity


def books_process(row: InboundWebhook) -> tuple[str, str]:
    entity = row.event.removesuffix(f".{DELETED}")
    if entity not in BOOKS_ENTITIES:
        return WebhookStatus.IGNORED, f"Books {row.event} webhooks are not applied."
    payload = json.loads(row.body)
    data = payload[entity]
    resource = BOOKS_ENTITIES[entity]
    id_field = f"{entity}_id"
    remote_id = str(data.get(id_field) or "")
    if not remote_id:
        return WebhookStatus.IGNORED, f"No {id_field} in the payload."
    adapter = adapter_for(row.connection, priority=Priority.USER)
    try:
        record = adapter.get(resource, remote_id)
    except NotFound:
        # Deleted in Books: never deleted here; the binding is marked gone for an Admin.
        binding = binding_mark_gone(
            connection=row.connection,
            entity=GONE_ENTITIES[resource],
            remote_id=remote_id,
            reason=f"Deleted in Zoho Books (webhook #{row.pk}). Relink, re-push or archive it.",
        )
        if binding is None:
            return WebhookStatus.IGNORED, f"{resource} {remote_id} no longer exists in Books."
        return WebhookStatus.PROCESSED, f"{resource} {remote_id} deleted in Books: marked gone."
    if resource == "contacts":
        return WebhookStatus.PROCESSED, apply_one(
            connection=row.connection,
            entity=Entity.CLIENTS,
            record=record,
            mapper=contact_from_books,
        )
    if resource == "items":
        return WebhookStatus.PROCESSED, apply_one(
            connection=row.connection, entity=Entity.SERVICES, record=record, mapper=item_from_books
        )
    return _apply_invoice(row.connection, record)


def _apply_invoice(connection: Connection, record: RemoteRecord) -> tuple[str, str]:
    object_id = (
        Binding.objects.filter(
            connection=connection, entity=Entity.INVOICES, remote_id=record.remote_id
        )
        .values_list("object_id", flat=True)
        .first()
    )
    invoice = Invoice.objects.filter(pk=object_id).first() if object_id else None
    if invoice is None:
        return WebhookStatus.IGNORED, f"invoice {record.remote_id} is not one of ours."
    with transaction.atomic():
        changed = invoice_apply_remote(invoice=invoice, record=record)
    return WebhookStatus.PROCESSED, f"invoice {invoice.number}: {changed or 'unchanged'}"


def books_webhooks_register(*, connection: Connection) -> int:
    """Create the organisation's outgoing webhooks to us (contacts, items, invoices) unless they
    exist; returns how many were created. Needs ZohoBooks.settings.CREATE."""
    secret = settings.ZOHO_BOOKS_WEBHOOK_SECRET
    if not secret:
        return 0
    url = webhook_url(URL_NAME)
    adapter = adapter_for(connection, priority=Priority.USER)
    existing = {
        (hook.get("entity"), hook.get("url"), tuple(hook.get("events") or ()))
        for hook in adapter.webhooks_list()
    }
    organization = {"param_name": "organization_id", "param_value": connection.remote_account_id}
    created = 0
    for entity in BOOKS_ENTITIES:
        for name, events, query in (
            (BOOKS_WEBHOOK_NAME, (), [organization]),
            (
                BOOKS_DELETED_WEBHOOK_NAME,
                (DELETED,),
                [organization, {"param_name": EVENT_PARAMETER, "param_value": DELETED}],
            ),
        ):
            if (entity, url, events) in existing:
                continue
            adapter.webhook_create(
                {
                    "webhook_name": name.format(entity=entity),
                    "entity": entity,
                    "url": url,
                    "method": "POST",
                    "body_type": "application/json",
                    "events": list(events),
                    "secret": secret,
                    "query_parameters": query,
                }
            )
            created += 1
    return created
