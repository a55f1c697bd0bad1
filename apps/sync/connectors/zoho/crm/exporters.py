"""Zoho CRM exporters: a client's contact (an upsert on e-mail, made as a dependency of a deal or
of a Books contact, never queued by itself) and a quote's deal (created when the quote is sent,
its stage moved when it is accepted or rejected)."""

from datetime import timedelta

from django.conf import settings

from apps.sync.engine.bindings import ensure_bound
from apps.sync.engine.entities import client_snapshot, deal_reference
from apps.sync.engine.records import Rejected, RemoteRecord
from apps.sync.engine.registry import Exporter
from apps.sync.models import Entity, Operation

from .mappers import contact_to_crm, deal_name, deal_payload


def deal_stage(status: str) -> str:
    stages = {
        "sent": settings.ZOHO_CRM_DEAL_STAGE_SENT,
        "accepted": settings.ZOHO_CRM_DEAL_STAGE_WON,
        "rejected": settings.ZOHO_CRM_DEAL_STAGE_LOST,
    }
    if status not in stages:
        raise Rejected(f"Zoho CRM deals have no stage for a quote that is '{status}'.")
    return stages[status]


def contact_upsert(ctx, client) -> RemoteRecord:
    """An upsert on Email: naturally idempotent, so a resend never makes a second contact."""
    payload = contact_to_crm(client_snapshot(client))
    remote_id = ctx.adapter.upsert("contacts", payload, duplicate_check_field="Email")
    return RemoteRecord(remote_id=remote_id, number="", modified_at=None, data={})


def deal_find(ctx, quote) -> RemoteRecord | None:
    """Deals have no reference field: ours is in the Description, searched among recent deals."""
    since = (ctx.item.created_at if ctx.item else quote.updated_at) - timedelta(days=1)
    reference = deal_reference(quote)
    for record in ctx.adapter.list_all("deals", modified_since=since):
        if record.data.get("Description") == reference:
            return record
    return None


def deal_create(ctx, quote) -> RemoteRecord:
    contact_id = ensure_bound(ctx, Entity.CLIENTS, quote.client)
    payload = deal_payload(quote, stage=deal_stage("sent"), contact_id=contact_id)
    remote_id = ctx.adapter.create("deals", payload)
    return RemoteRecord(remote_id=remote_id, number=deal_name(quote), modified_at=None, data={})


def deal_move(ctx, quote) -> None:
    ctx.adapter.update("deals", ctx.remote_id, {"Stage": deal_stage(ctx.intent.get("status"))})


EXPORTERS = {
    (Entity.CLIENTS, Operation.CREATE): Exporter(
        send=contact_upsert, queued=False, idempotent=True
    ),
    (Entity.DEALS, Operation.CREATE): Exporter(send=deal_create, lookup=deal_find),
    (Entity.DEALS, Operation.ACTION): Exporter(send=deal_move),
}
