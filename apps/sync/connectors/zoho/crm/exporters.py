"""Zoho CRM exporters: a client's contact (an upsert on our reference, pushed from the outbox up
to 100 a call, and made one by one as a dependency of a deal or of a Books contact; an update by
its id, many a call) and a quote's deal (created when the quote is sent, its stage moved when it
is accepted or rejected)."""

from datetime import timedelta

from django.conf import settings

from apps.sync.engine.dependencies import ensure_bound
from apps.sync.engine.entities import client_reference, client_snapshot, deal_reference
from apps.sync.engine.records import Rejected, RemoteRecord, VendorError
from apps.sync.engine.registry import BatchForm, Exporter
from apps.sync.models import Entity, Operation

from .batches import MAX_RECORDS, REFERENCE_FIELD, write_many
from .mappers import contact_from_crm, contact_to_crm, deal_name, deal_payload


def deal_stage(status: str) -> str:
    stages = {
        "sent": settings.ZOHO_CRM_DEAL_STAGE_SENT,
        "accepted": settings.ZOHO_CRM_DEAL_STAGE_WON,
        "rejected": settings.ZOHO_CRM_DEAL_STAGE_LOST,
    }
    if status not in stages:
        raise Rejected(f"Zoho CRM deals have no stage for a quote that is '{status}'.")
    return stages[status]


def contact_payload(ctx, client) -> dict:
    return {**contact_to_crm(client_snapshot(client)), REFERENCE_FIELD: client_reference(client)}


def contacts_upsert(ctxs, payloads, key) -> list:
    """Insert or update up to 100 contacts found by our reference: a resend never makes a
    second contact, so no lookup is needed (and CRM takes no Idempotency-Key)."""
    return write_many(
        ctxs[0].adapter,
        "contacts",
        payloads,
        method="POST",
        path="upsert",
        duplicate_check_fields=[REFERENCE_FIELD],
    )


def contacts_update(ctxs, payloads, key) -> list:
    return write_many(ctxs[0].adapter, "contacts", payloads, method="PUT")


def _one(send_many, payload_of):
    def send(ctx, client) -> RemoteRecord:
        [result] = send_many([ctx], [payload_of(ctx, client)], "")
        if isinstance(result, VendorError):
            raise result
        return result

    return send


def contact_update_payload(ctx, client) -> dict:
    return {"id": ctx.remote_id, **contact_payload(ctx, client)}


def contact_fetch(ctx, remote_id: str) -> RemoteRecord:
    return ctx.adapter.get("contacts", remote_id)


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
        send=_one(contacts_upsert, contact_payload),
        base=contact_from_crm,
        fetch=contact_fetch,
        idempotent=True,
        batch=BatchForm(payload=contact_payload, send_many=contacts_upsert, size=MAX_RECORDS),
    ),
    (Entity.CLIENTS, Operation.UPDATE): Exporter(
        send=_one(contacts_update, contact_update_payload),
        base=contact_from_crm,
        fetch=contact_fetch,
        batch=BatchForm(
            payload=contact_update_payload, send_many=contacts_update, size=MAX_RECORDS
        ),
    ),
    (Entity.DEALS, Operation.CREATE): Exporter(send=deal_create, lookup=deal_find),
    (Entity.DEALS, Operation.ACTION): Exporter(send=deal_move),
}
