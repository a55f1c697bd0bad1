"""Zoho CRM notifications (vendor-contracts §3.7): CRM signs nothing, so the channel's `token`
(ZOHO_CRM_WEBHOOK_TOKEN), which comes back in the body, and `channel_id` (one of our channels)
are compared in constant time after parsing; processing re-fetches the contacts named. The watch
channel is enabled on connect and renewed before it lapses."""

import hmac
import json
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.sync.connectors.zoho.dates import parse_zoho_time
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.importer import apply_one
from apps.sync.engine.records import NotFound, VendorError
from apps.sync.models import Connection, ConnectionStatus, Entity, Priority
from apps.sync.webhooks.models import CrmWatchChannel, InboundWebhook, WebhookStatus
from apps.sync.webhooks.services import forged, malformed, webhook_url

from .mappers import contact_from_crm

logger = logging.getLogger(__name__)

PROVIDER = "zoho_crm"
URL_NAME = "webhook-zoho-crm"
CRM_EVENTS = ["Contacts.all"]
# Asked for on every (re)subscription; the v6 maximum is unconfirmed (one day or one week), so
# we ask for one day and renew once less than RENEW_BEFORE is left (the schedule runs every
# 30 minutes: at least 23 chances before it lapses).
CRM_CHANNEL_LIFETIME = timedelta(days=1)
CRM_RENEW_BEFORE = timedelta(hours=12)


def crm_verify(*, body: bytes, query=None, headers=None) -> tuple[Connection, str]:
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
    return channel.connection, f"{payload['module']}.{payload['operation']}"


def crm_process(row: InboundWebhook) -> tuple[str, str]:
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
            apply_one(
                connection=row.connection,
                entity=Entity.CLIENTS,
                record=record,
                mapper=contact_from_crm,
            )
        )
    return WebhookStatus.PROCESSED, "; ".join(results)


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
                    "notify_url": webhook_url(URL_NAME),
                }
            ]
        )
    except VendorError as error:
        channel.last_error = str(error)[:500]
        channel.save(update_fields=["last_error"])
        raise
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
        provider=PROVIDER, status=ConnectionStatus.CONNECTED
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
