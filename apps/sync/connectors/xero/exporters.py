"""Xero exporters: contacts (our reference in ContactNumber) and items (the SKU as Code), created
with PUT and updated with POST, each call under an Idempotency-Key so that a resend inside Xero's
replay window is answered from its cache. Both go many per call (batches.py): up to 50 creates
in one PUT, up to 50 updates in one POST, each element answered for by itself."""

from apps.sync.engine.entities import client_snapshot, service_snapshot
from apps.sync.engine.records import NoLookupKey, RemoteRecord
from apps.sync.engine.registry import BatchForm, Exporter
from apps.sync.models import Entity, Operation

from .batches import BATCH_SIZE, find_many, save_many
from .mappers import contact_from_xero, contact_to_xero, item_from_xero, item_to_xero


def _payload(ctx, entity: str, obj) -> dict:
    if entity == Entity.CLIENTS:
        return contact_to_xero(client_snapshot(obj), reference=ctx.item.reference)
    return item_to_xero(service_snapshot(obj))


def _create(resource: str, entity: str):
    def send(ctx, obj) -> RemoteRecord:
        return ctx.adapter.create(
            resource, _payload(ctx, entity, obj), idempotency_key=ctx.idempotency_key
        )

    return send


def _update(resource: str, entity: str):
    def send(ctx, obj) -> RemoteRecord:
        return ctx.adapter.update(
            resource,
            ctx.remote_id,
            _payload(ctx, entity, obj),
            idempotency_key=ctx.idempotency_key,
        )

    return send


def contact_find(ctx, client) -> RemoteRecord | None:
    reference = ctx.item.reference if ctx.item else ""
    if not reference:
        raise NoLookupKey(f"Client {client} has no reference to find its Xero contact by.")
    return ctx.adapter.find_by_reference("contacts", reference)


def item_find(ctx, service) -> RemoteRecord | None:
    if not service.sku:
        raise NoLookupKey(
            f"An earlier attempt to create '{service}' may have reached Xero, and it has no key "
            "to look it up by (it needs a SKU). Sending it again could make a duplicate: check "
            "Xero, then bind or requeue this item."
        )
    return ctx.adapter.find_by_reference("items", service.sku)


def _fetch(resource: str):
    return lambda ctx, remote_id: ctx.adapter.get(resource, remote_id)


def _batch(resource: str, entity: str, *, update: bool, find=None) -> BatchForm:
    id_field = {"contacts": "ContactID", "items": "ItemID"}[resource]

    def payload(ctx, obj) -> dict:
        body = _payload(ctx, entity, obj)
        return {id_field: ctx.remote_id, **body} if update else body

    def send_many(ctxs, payloads, key) -> list:
        return save_many(ctxs[0].adapter, resource, payloads, idempotency_key=key, update=update)

    return BatchForm(payload=payload, send_many=send_many, lookup_many=find, size=BATCH_SIZE)


def contacts_find(ctxs, clients) -> list:
    references = [ctx.item.reference for ctx in ctxs]
    since = min(ctx.item.created_at for ctx in ctxs)
    return find_many(ctxs[0].adapter, "contacts", references, since)


def items_find(ctxs, services) -> list:
    answers: list = [None] * len(services)
    keyed = []
    for index, service in enumerate(services):
        if service.sku:
            keyed.append(index)
        else:
            answers[index] = NoLookupKey(
                f"An earlier attempt to create '{service}' may have reached Xero, and it has no "
                "key to look it up by (it needs a SKU). Sending it again could make a duplicate: "
                "check Xero, then bind or requeue this item."
            )
    if keyed:
        since = min(ctxs[index].item.created_at for index in keyed)
        found = find_many(ctxs[0].adapter, "items", [services[i].sku for i in keyed], since)
        for index, record in zip(keyed, found, strict=True):
            answers[index] = record
    return answers


EXPORTERS = {
    (Entity.CLIENTS, Operation.CREATE): Exporter(
        send=_create("contacts", Entity.CLIENTS),
        lookup=contact_find,
        base=contact_from_xero,
        batch=_batch("contacts", Entity.CLIENTS, update=False, find=contacts_find),
    ),
    (Entity.CLIENTS, Operation.UPDATE): Exporter(
        send=_update("contacts", Entity.CLIENTS),
        base=contact_from_xero,
        fetch=_fetch("contacts"),
        batch=_batch("contacts", Entity.CLIENTS, update=True),
    ),
    (Entity.SERVICES, Operation.CREATE): Exporter(
        send=_create("items", Entity.SERVICES),
        lookup=item_find,
        base=item_from_xero,
        batch=_batch("items", Entity.SERVICES, update=False, find=items_find),
    ),
    (Entity.SERVICES, Operation.UPDATE): Exporter(
        send=_update("items", Entity.SERVICES),
        base=item_from_xero,
        fetch=_fetch("items"),
        batch=_batch("items", Entity.SERVICES, update=True),
    ),
}
