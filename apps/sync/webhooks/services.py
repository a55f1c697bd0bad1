"""Inbound webhooks, for every connector: the delivery verified by its connector over the raw
body (a refusal counted: forged 401, malformed 400), stored once under the sha256 of its raw
bytes (a vendor's retries and duplicate deliveries carry the same bytes, so they are
acknowledged and dropped), and processed in a task by the connector, which re-fetches the
record with our own token: the payload is only a hint."""

import hashlib
import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from apps.sync.engine import registry
from apps.sync.engine.records import VendorError
from apps.sync.models import Connection, ConnectionStatus
from apps.sync.webhooks.models import (
    CrmWatchChannel,
    InboundWebhook,
    WebhookRefusal,
    WebhookStatus,
)

logger = logging.getLogger(__name__)

PROCESS_TASK = "apps.sync.tasks.webhook_process_task"


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


def webhook_url(url_name: str) -> str:
    """The absolute URL a vendor is told to call (SYNC_WEBHOOK_BASE_URL + our path)."""
    return settings.SYNC_WEBHOOK_BASE_URL.rstrip("/") + reverse(f"sync:{url_name}")


def refusal_count(*, source: str, reason: str) -> None:
    with transaction.atomic():
        row, _ = WebhookRefusal.objects.get_or_create(source=source, reason=reason)
        WebhookRefusal.objects.filter(pk=row.pk).update(
            count=F("count") + 1, last_at=timezone.now()
        )


# --- storing ------------------------------------------------------------------------------------
def webhook_receive(*, source: str, body: bytes, query: dict[str, str], headers) -> int:
    """Verify (by the connector of `source`), store once, queue the processing; returns the
    HTTP status to answer."""
    handler = registry.connector(source).webhook
    try:
        connection, event = handler.verify(body=body, query=query, headers=headers)
    except Refused as refusal:
        logger.warning("refused %s webhook: %s", source, refusal)
        refusal_count(source=source, reason=refusal.reason)
        return refusal.status
    if connection is None:
        return 200  # genuine, and nothing to process (Xero's intent-to-receive check)
    webhook_store(source=source, connection=connection, event=event, body=body)
    return 200


def webhook_store(
    *, source: str, connection: Connection, event: str, body: bytes
) -> InboundWebhook | None:
    """Store the delivery unless the same bytes came before; None for a duplicate.

    The dedupe key is taken over the raw bytes; what is stored has the connector's secret
    fields masked (CRM notifications echo our channel token), so the admin never shows them.
    """
    key = f"{source}:{hashlib.sha256(body).hexdigest()}"
    secret_fields = registry.connector(source).webhook.secret_fields
    try:
        with transaction.atomic():
            row = InboundWebhook.objects.create(
                source=source,
                connection=connection,
                dedupe_key=key,
                event=event[:100],
                body=_without_secrets(body, secret_fields),
            )
            transaction.on_commit(lambda: _queue(row.pk))
    except IntegrityError:
        return None  # a duplicate delivery: acknowledged, not processed again
    return row


def _without_secrets(body: bytes, secret_fields: tuple[str, ...]) -> str:
    text = body.decode("utf-8", errors="replace")
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if isinstance(payload, dict) and any(name in payload for name in secret_fields):
        for name in secret_fields:
            if name in payload:
                payload[name] = "[redacted]"
        return json.dumps(payload)
    return text


def _queue(webhook_id: int) -> None:
    try:
        async_task(PROCESS_TASK, webhook_id)
    except Exception:  # the queue being down must not lose the delivery: Reprocess finds it
        logger.exception("could not queue webhook %s", webhook_id)


# --- processing ---------------------------------------------------------------------------------
def webhook_process(*, webhook_id: int) -> str:
    """Claim the row (once), let its connector re-fetch and apply it; returns the new status."""
    claimed = InboundWebhook.objects.filter(
        pk=webhook_id, status__in=[WebhookStatus.RECEIVED, WebhookStatus.FAILED]
    ).update(status=WebhookStatus.PROCESSING, attempts=F("attempts") + 1)
    if not claimed:
        return InboundWebhook.objects.filter(pk=webhook_id).values_list("status", flat=True).first()
    row = InboundWebhook.objects.select_related("connection__credential").get(pk=webhook_id)
    try:
        if row.connection is None or row.connection.status != ConnectionStatus.CONNECTED:
            status, result = WebhookStatus.IGNORED, "The connection is gone or not connected."
        else:
            status, result = registry.connector(row.source).webhook.process(row)
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


def webhooks_reprocess(*, webhooks) -> int:
    """Admin: run the given deliveries again (a stuck `processing` one included)."""
    ids = list(webhooks.values_list("pk", flat=True))
    InboundWebhook.objects.filter(pk__in=ids).update(status=WebhookStatus.RECEIVED)
    for webhook_id in ids:
        transaction.on_commit(lambda webhook_id=webhook_id: _queue(webhook_id))
    return len(ids)


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
        "too_large": sum(r.count for r in WebhookRefusal.objects.filter(reason="too_large")),
        "crm_channels": channels,
    }
