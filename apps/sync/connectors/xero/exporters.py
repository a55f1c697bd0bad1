"""Xero exporters: contacts (our reference in ContactNumber) and items (the SKU as Code), created
with PUT and updated with POST, each call under the outbox item's Idempotency-Key so that a
resend inside Xero's replay window is answered from its cache."""

from apps.sync.engine.entities import client_snapshot, service_snapshot
from apps.sync.engine.records import NoLookupKey, RemoteRecord
from apps.sync.engine.registry import Exporter
from apps.sync.models import Entity, Operation

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


EXPORTERS = {
    (Entity.CLIENTS, Operation.CREATE): Exporter(
        send=_create("contacts", Entity.CLIENTS), lookup=contact_find, base=contact_from_xero
    ),
    (Entity.CLIENTS, Operation.UPDATE): Exporter(
        send=_update("contacts", Entity.CLIENTS), base=contact_from_xero, fetch=_fetch("contacts")
    ),
    (Entity.SERVICES, Operation.CREATE): Exporter(
        send=_create("items", Entity.SERVICES), lookup=item_find, base=item_from_xero
    ),
    (Entity.SERVICES, Operation.UPDATE): Exporter(
        send=_update("items", Entity.SERVICES), base=item_from_xero, fetch=_fetch("items")
    ),
}
