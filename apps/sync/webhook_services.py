"""Inbound webhooks from Zoho Books and Zoho CRM: verified over the raw body, stored once, processed
in a task that re-fetches the record from the vendor and applies it through the pull's code.

Verification (vendor-contracts §2.9, §3.7; ecosystem-notes §3):
- Books: `X-Zoho-Webhook-Signature` = hex HMAC-SHA256 keyed by ZOHO_BOOKS_WEBHOOK_SECRET over the
  query parameters sorted by name (name+value, no separators) followed by the raw body: the
  scheme Zoho documents for its Billing webhooks, which the sandbox emits for Books (the Books
  algorithm itself is UNCONFIRMED). Checked with hmac.compare_digest before the body is parsed.
- CRM: no signature exists; the channel's `token` (ZOHO_CRM_WEBHOOK_TOKEN) comes back in the
  body, so the body is parsed, then `token` and `channel_id` (one of our channels) are compared
  in constant time.

A refused delivery is counted (WebhookRefusal: forged 401, malformed 400) and never stored or
processed. A verified one is stored under the sha256 of its raw body (unique): the vendor's
retries and duplicate deliveries carry the same bytes, so they are acknowledged and dropped.
The payload is only a hint: processing fetches the record with our own token.
"""

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from apps.invoices.models import Invoice
from apps.sync import binder
from apps.sync.adapters.base import NotFound, RemoteRecord, VendorError
from apps.sync.backends import adapter_for
from apps.sync.mappers import clients as client_mappers
from apps.sync.mappers import services as service_mappers
from apps.sync.models import (
    Binding,
    Connection,
    ConnectionStatus,
    Entity,
    OutboxItem,
    OutboxStatus,
    Priority,
    Provider,
)
from apps.sync.webhook_models import (
    CrmWatchChannel,
    InboundWebhook,
    WebhookRefusal,
    WebhookSource,
    WebhookStatus,
)

logger = logging.getLogger(__name__)

BOOKS_SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"
# Books webhook entity -> (single key in the default payload, adapter resource)
BOOKS_ENTITIES = {"contact": "contacts", "item": "items", "invoice": "invoices"}
BOOKS_WEBHOOK_NAME = "Syncdesk {entity}"
CRM_EVENTS = ["Contacts.all"]
# Asked for on every (re)subscription; the v6 maximum is unconfirmed (one day or one week), so
# we ask for one day and renew once less than RENEW_BEFORE is left (the schedule runs every
# 30 minutes: at least 23 chances before it lapses).
CRM_CHANNEL_LIFETIME = timedelta(days=1)
CRM_RENEW_BEFORE = timedelta(hours=12)


class Refused(Exception):
    """A delivery that is not processed: `status` 401 (forged) or 400 (malformed)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = 401 if reason == WebhookRefusal.Reason.FORGED else 400


def forged(message: str) -> Refused:
    return Refused(WebhookRefusal.Reason.FORGED, message)


def malformed(message: str) -> Refused:
    return Refused(WebhookRefusal.Reason.MALFORMED, message)


@dataclass(frozen=True)
class Verified:
    connection: Connection
    event: str


# --- verification -------------------------------------------------------------------------------
def books_signature(secret: str, query: dict[str, str], body: bytes) -> str:
    message = "".join(f"{key}{query[key]}" for key in sorted(query)).encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def books_verify(*, body: bytes, query: dict[str, str], signature: str) -> Verified:
    """Signature over the raw bytes first; only then is the body parsed."""
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
    connection = Connection.objects.filter(
        provider=Provider.ZOHO_BOOKS, remote_account_id=query.get("organization_id", "")
    ).first()
    if connection is None:
        raise malformed("The Books webhook names no organisation we are connected to.")
    return Verified(connection=connection, event=entity)


def crm_verify(*, body: bytes) -> Verified:
    """CRM sends no signature: the channel token in the body is the proof (§3.7)."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise malformed("The CRM notification body is not JSON.") from None
    if not isinstance(payload, dict):
        raise malformed("The CRM notification body is not an object.")
    expected = settings.ZOHO_CRM_WEBHOOK_TOKEN
    token = str(payload.get("token") or "")
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise forged("The CRM notification token does not match.")
    channel_id = str(payload.get("channel_id") or "")
    channel = None
    for candidate in CrmWatchChannel.objects.select_related("connection"):
        # Every channel is compared, so the answer's timing does not tell which ids exist.
        if hmac.compare_digest(candidate.channel_id.encode(), channel_id.encode()):
            channel = candidate
    if channel is None:
        raise forged("The CRM notification names none of our channels.")
    ids = payload.get("ids")
    if not isinstance(ids, list) or not payload.get("module") or not payload.get("operation"):
        raise malformed("The CRM notification lacks module, operation or ids.")
    return Verified(
        connection=channel.connection, event=f"{payload['module']}.{payload['operation']}"
    )


def refusal_count(*, source: str, reason: str) -> None:
    with transaction.atomic():
        row, _ = WebhookRefusal.objects.get_or_create(source=source, reason=reason)
        WebhookRefusal.objects.filter(pk=row.pk).update(
            count=F("count") + 1, last_at=timezone.now()
        )


# --- storing ------------------------------------------------------------------------------------
def webhook_receive(*, source: str, body: bytes, query: dict[str, str], headers) -> int:
    """Verify, store once, queue the processing; returns the HTTP status to answer."""
    try:
        if source == WebhookSource.ZOHO_BOOKS:
            verified = books_verify(
                body=body, query=query, signature=headers.get(BOOKS_SIGNATURE_HEADER, "")
            )
        else:
            verified = crm_verify(body=body)
    except Refused as refusal:
        logger.warning("refused %s webhook: %s", source, refusal)
        refusal_count(source=source, reason=refusal.reason)
        return refusal.status
    webhook_store(source=source, connection=verified.connection, event=verified.event, body=body)
    return 200


def webhook_store(
    *, source: str, connection: Connection, event: str, body: bytes
) -> InboundWebhook | None:
    """Store the delivery unless the same bytes came before; None for a duplicate.

    The dedupe key is taken over the raw bytes; what is stored has the shared secret removed
    (CRM notifications echo our channel token), so the admin never shows it.
    """
    key = f"{source}:{hashlib.sha256(body).hexdigest()}"
    try:
        with transaction.atomic():
            row = InboundWebhook.objects.create(
                source=source,
                connection=connection,
                dedupe_key=key,
                event=event[:100],
                body=_without_secrets(body),
            )
            transaction.on_commit(lambda: _queue(row.pk))
    except IntegrityError:
        return None  # a duplicate delivery: acknowledged, not processed again
    return row


def _without_secrets(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if isinstance(payload, dict) and "token" in payload:
        payload["token"] = "[redacted]"  # noqa: S105 - a mask, not a password
        return json.dumps(payload)
    return text


def _queue(webhook_id: int) -> None:
    try:
        from django_q.tasks import async_task

        async_task("apps.sync.flow_tasks.webhook_process_task", webhook_id)
    except Exception:  # the queue being down must not lose the delivery: Reprocess finds it
        logger.exception("could not queue webhook %s", webhook_id)


# --- processing ---------------------------------------------------------------------------------
def webhook_process(*, webhook_id: int) -> str:
    """Claim the row (once), re-fetch what it points at and apply it; returns the new status."""
    claimed = InboundWebhook.objects.filter(
        pk=webhook_id, status__in=[WebhookStatus.RECEIVED, WebhookStatus.FAILED]
    ).update(status=WebhookStatus.PROCESSING, attempts=F("attempts") + 1)
    if not claimed:
        return InboundWebhook.objects.filter(pk=webhook_id).values_list("status", flat=True).first()
    row = InboundWebhook.objects.select_related("connection__credential").get(pk=webhook_id)
    try:
        if row.connection is None or row.connection.status != ConnectionStatus.CONNECTED:
            status, result = WebhookStatus.IGNORED, "The connection is gone or not connected."
        elif row.source == WebhookSource.ZOHO_BOOKS:
            status, result = _process_books(row)
        else:
            status, result = _process_crm(row)
        error = ""
    except VendorError as failure:
        status, result, error = WebhookStatus.FAILED, "", str(failure)
    InboundWebhook.objects.filter(pk=row.pk).update(
        status=status,
        result=result[:500],
        last_error=error[:2000],
        processed_at=timezone.now(),
    )
    return status


def _our_push_in_flight(connection: Connection, entity: str, record: RemoteRecord) -> bool:
    """An unbound record while one of our pushes to this organisation is in flight is most
    likely the record that push is creating (its notification outran our binding): applying it
    could create a second local row, so it is left to the scheduled pull, which sees it bound."""
    if Binding.objects.filter(
        connection=connection, entity=entity, remote_id=record.remote_id
    ).exists():
        return False
    return OutboxItem.objects.filter(
        connection__remote_account_id=connection.remote_account_id,
        status=OutboxStatus.IN_FLIGHT,
    ).exists()


def _apply_client_or_service(connection: Connection, entity: str, record: RemoteRecord, mapper):
    if _our_push_in_flight(connection, entity, record):
        return f"{entity} {record.remote_id}: new while our push is in flight; left to the pull"
    with transaction.atomic():
        result = binder.apply_page(
            connection=connection, entity=entity, mapped=[(record, mapper(record))]
        )
    if result.errors:
        raise VendorError("; ".join(result.error_messages))
    for name in ("created", "linked", "updated"):
        if getattr(result, name):
            return f"{entity} {record.remote_id}: {name}"
    return f"{entity} {record.remote_id}: unchanged"


def _process_books(row: InboundWebhook) -> tuple[str, str]:
    if row.event not in BOOKS_ENTITIES:
        return WebhookStatus.IGNORED, f"Books {row.event} webhooks are not applied."
    payload = json.loads(row.body)
    data = payload[row.event]
    resource = BOOKS_ENTITIES[row.event]
    id_field = f"{row.event}_id"
    remote_id = str(data.get(id_field) or "")
    if not remote_id:
        return WebhookStatus.IGNORED, f"No {id_field} in the payload."
    adapter = adapter_for(row.connection, priority=Priority.USER)
    try:
        record = adapter.get(resource, remote_id)
    except NotFound:
        return WebhookStatus.IGNORED, f"{resource} {remote_id} no longer exists in Books."
    if resource == "contacts":
        return WebhookStatus.PROCESSED, _apply_client_or_service(
            row.connection, Entity.CLIENTS, record, client_mappers.from_zoho_books
        )
    if resource == "items":
        return WebhookStatus.PROCESSED, _apply_client_or_service(
            row.connection, Entity.SERVICES, record, service_mappers.from_zoho_books
        )
    return _apply_invoice(row.connection, record)


def _apply_invoice(connection: Connection, record: RemoteRecord) -> tuple[str, str]:
    from apps.sync.flows import invoice_apply_remote

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


def _process_crm(row: InboundWebhook) -> tuple[str, str]:
    payload = json.loads(row.body)
    if payload.get("module") != "Contacts":
        return WebhookStatus.IGNORED, f"{payload.get('module')} notifications are not applied."
    if payload.get("operation") == "delete":
        return WebhookStatus.IGNORED, "A contact deleted in CRM is not deleted here."
    adapter = adapter_for(row.connection, priority=Priority.USER)
    results = []
    for remote_id in [str(value) for value in payload.get("ids") or []][:100]:
        try:
            record = adapter.get("contacts", remote_id)
        except NotFound:
            results.append(f"clients {remote_id}: gone")
            continue
        results.append(
            _apply_client_or_service(
                row.connection, Entity.CLIENTS, record, client_mappers.from_zoho_crm
            )
        )
    return WebhookStatus.PROCESSED, "; ".join(results)


def webhooks_reprocess(*, webhooks) -> int:
    """Admin: run the given deliveries again (a stuck `processing` one included)."""
    ids = list(webhooks.values_list("pk", flat=True))
    InboundWebhook.objects.filter(pk__in=ids).update(status=WebhookStatus.RECEIVED)
    for webhook_id in ids:
        transaction.on_commit(lambda webhook_id=webhook_id: _queue(webhook_id))
    return len(ids)


# --- subscribing --------------------------------------------------------------------------------
def _url(name: str) -> str:
    from django.urls import reverse

    return settings.SYNC_WEBHOOK_BASE_URL.rstrip("/") + reverse(f"sync:{name}")


def books_webhooks_register(*, connection: Connection) -> int:
    """Create the organisation's outgoing webhooks to us (contacts, items, invoices) unless they
    exist; returns how many were created. Needs ZohoBooks.settings.CREATE."""
    secret = settings.ZOHO_BOOKS_WEBHOOK_SECRET
    if not secret:
        return 0
    url = _url("webhook-zoho-books")
    adapter = adapter_for(connection, priority=Priority.USER)
    existing = {(hook.get("entity"), hook.get("url")) for hook in adapter.webhooks_list()}
    created = 0
    for entity in BOOKS_ENTITIES:
        if (entity, url) in existing:
            continue
        adapter.webhook_create(
            {
                "webhook_name": BOOKS_WEBHOOK_NAME.format(entity=entity),
                "entity": entity,
                "url": url,
                "method": "POST",
                "body_type": "application/json",
                "events": [],
                "secret": secret,
                "query_parameters": [
                    {"param_name": "organization_id", "param_value": connection.remote_account_id}
                ],
            }
        )
        created += 1
    return created


def crm_watch_enable(*, connection: Connection) -> CrmWatchChannel:
    """Subscribe (or re-subscribe: same channel id, new expiry) the CRM connection's channel."""
    channel = CrmWatchChannel.objects.filter(connection=connection).first()
    if channel is None:
        channel = CrmWatchChannel.objects.create(
            connection=connection,
            channel_id=str(10**12 + secrets.randbelow(9 * 10**12)),
            events=CRM_EVENTS,
        )
    if not settings.ZOHO_CRM_WEBHOOK_TOKEN:
        channel.last_error = "ZOHO_CRM_WEBHOOK_TOKEN is not set: no channel was enabled."
        channel.save(update_fields=["last_error"])
        return channel
    adapter = adapter_for(connection, priority=Priority.USER)
    expiry = timezone.now() + CRM_CHANNEL_LIFETIME
    try:
        answers = adapter.watch_enable(
            [
                {
                    "channel_id": channel.channel_id,
                    "events": channel.events or CRM_EVENTS,
                    "channel_expiry": expiry.isoformat(timespec="seconds"),
                    "token": settings.ZOHO_CRM_WEBHOOK_TOKEN,
                    "notify_url": _url("webhook-zoho-crm"),
                }
            ]
        )
    except VendorError as error:
        channel.last_error = str(error)[:500]
        channel.save(update_fields=["last_error"])
        raise
    from apps.sync.adapters.dates import parse_zoho_time

    details = ((answers or [{}])[0].get("details") or {}).get("events") or [{}]
    granted = parse_zoho_time(details[0].get("channel_expiry")) or expiry
    channel.expires_at = min(granted, expiry)
    channel.renewed_at = timezone.now()
    channel.last_error = ""
    channel.save(update_fields=["expires_at", "renewed_at", "last_error"])
    return channel


def crm_watch_renew_due(*, now=None) -> list[str]:
    """Renew every CRM channel that lapses within CRM_RENEW_BEFORE (or was never enabled), and
    enable one for a CRM connection that has none; returns the renewed channel ids."""
    now = now or timezone.now()
    renewed = []
    connections = Connection.objects.filter(
        provider=Provider.ZOHO_CRM, status=ConnectionStatus.CONNECTED
    ).select_related("credential")
    for connection in connections:
        channel = CrmWatchChannel.objects.filter(connection=connection).first()
        if channel and channel.expires_at and channel.expires_at > now + CRM_RENEW_BEFORE:
            continue
        try:
            renewed.append(crm_watch_enable(connection=connection).channel_id)
        except VendorError:
            logger.exception("could not renew the CRM watch channel of %s", connection)
    return renewed


def webhooks_subscribe(*, connection: Connection) -> str:
    """On connect: Books registers its outgoing webhooks, CRM enables its watch channel. A
    refusal is logged and reported, never fatal (the CRM renewal schedule tries again)."""
    try:
        if connection.provider == Provider.ZOHO_BOOKS:
            return f"{books_webhooks_register(connection=connection)} Books webhook(s) registered"
        if connection.provider == Provider.ZOHO_CRM:
            channel = crm_watch_enable(connection=connection)
            return (
                channel.last_error or f"CRM channel {channel.channel_id} until {channel.expires_at}"
            )
    except VendorError as error:
        logger.warning("webhook subscription for %s failed: %s", connection, error)
        return f"webhook subscription failed: {error}"
    return ""


# --- health -------------------------------------------------------------------------------------
def webhook_health(*, since) -> dict:
    """Counts for `sync status` and the admin: stored by status, refused by reason (all time)."""
    stored = dict(
        InboundWebhook.objects.filter(received_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    refused = {
        f"{row.source}_{row.reason}": row.count for row in WebhookRefusal.objects.order_by("pk")
    }
    channels = [
        {
            "connection": channel.connection.name,
            "channel_id": channel.channel_id,
            "expires_at": channel.expires_at,
            "last_error": channel.last_error or None,
        }
        for channel in CrmWatchChannel.objects.select_related("connection").order_by("pk")
    ]
    return {
        "received_24h": sum(stored.values()),
        "by_status_24h": stored,
        "failed_24h": stored.get(WebhookStatus.FAILED, 0),
        "refused": refused,
        "forged": sum(r.count for r in WebhookRefusal.objects.filter(reason="forged")),
        "malformed": sum(r.count for r in WebhookRefusal.objects.filter(reason="malformed")),
        "crm_channels": channels,
    }
