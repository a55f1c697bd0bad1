"""The outbox: local changes waiting to reach a vendor. Rows are written in the same transaction
as the change, claimed with skip_locked and a lease, retried with full-jitter exponential
backoff, dead-lettered after the last attempt. A create whose outcome is unknown is looked up by
our reference before it is sent again, so a retry never makes a second remote document."""

import logging
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.sync.adapters.base import (
    NotFound,
    Rejected,
    RemoteRecord,
    VendorError,
)
from apps.sync.backends import adapter_for
from apps.sync.conflict_services import MERGED_ENTITIES, RecordHeld, merge_before_push
from apps.sync.mappers import clients as client_mappers
from apps.sync.mappers import services as service_mappers
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    ConnectionStatus,
    Entity,
    Operation,
    OutboxItem,
    OutboxStatus,
    Priority,
    Provider,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushSpec:
    resource: str
    model: type
    payload: Callable  # (local object, reference) -> vendor payload
    snapshot: Callable  # local object -> canonical snapshot
    from_remote: Callable  # RemoteRecord -> canonical snapshot
    lookup_value: Callable  # (local object, reference) -> what find_by_reference searches


def client_reference(client: Client) -> str:
    return f"SD-C-{client.pk:06d}"


def service_reference(service: Service) -> str:
    return service.sku or f"SD-S-{service.pk:06d}"


PUSH_SPECS = {
    (Provider.ZOHO_BOOKS, Entity.CLIENTS): PushSpec(
        "contacts",
        Client,
        lambda c, ref: client_mappers.to_zoho_books(client_mappers.local_snapshot(c)),
        client_mappers.local_snapshot,
        client_mappers.from_zoho_books,
        # Books contacts have no reference field: the e-mail (our natural key) is looked up.
        lambda c, ref: c.email,
    ),
    (Provider.XERO, Entity.CLIENTS): PushSpec(
        "contacts",
        Client,
        lambda c, ref: client_mappers.to_xero(client_mappers.local_snapshot(c), reference=ref),
        client_mappers.local_snapshot,
        client_mappers.from_xero,
        lambda c, ref: ref,
    ),
    (Provider.ZOHO_BOOKS, Entity.SERVICES): PushSpec(
        "items",
        Service,
        lambda s, ref: service_mappers.to_zoho_books(service_mappers.local_snapshot(s)),
        service_mappers.local_snapshot,
        service_mappers.from_zoho_books,
        lambda s, ref: s.sku,
    ),
    (Provider.XERO, Entity.SERVICES): PushSpec(
        "items",
        Service,
        lambda s, ref: service_mappers.to_xero(service_mappers.local_snapshot(s)),
        service_mappers.local_snapshot,
        service_mappers.from_xero,
        lambda s, ref: s.sku,
    ),
}
REFERENCES = {Entity.CLIENTS: client_reference, Entity.SERVICES: service_reference}
# A push held by a conflict waits as pending with this due time; it is claimable again once its
# binding is no longer in conflict (the admin decided, or a pull found the sides agree).
HELD_UNTIL = datetime(2999, 12, 31, tzinfo=UTC)


def backoff_seconds(attempts: int) -> float:
    """Full jitter: uniform over [0, min(cap, base * 2**attempts)] (AWS architecture blog)."""
    ceiling = min(
        settings.SYNC_OUTBOX_BACKOFF_CAP,
        settings.SYNC_OUTBOX_BACKOFF_BASE * 2 ** max(0, attempts - 1),
    )
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


# --- enqueue ------------------------------------------------------------------------------------
def outbox_enqueue(
    *,
    connection: Connection,
    entity: str,
    obj,
    operation: str | None = None,
    intent: dict | None = None,
    priority: int = Priority.USER,
) -> OutboxItem | None:
    """Queue a push of `obj`; call inside the transaction of the change. An update still waiting
    is not queued twice (it will read the row as it is when it is sent)."""
    if (connection.provider, entity) not in PUSH_SPECS:
        return None
    bound = Binding.objects.filter(
        connection=connection, entity=entity, object_id=obj.pk, remote_id__isnull=False
    ).exists()
    # A create in flight will bind the record: this change is an update that runs after it.
    creating = OutboxItem.objects.filter(
        connection=connection,
        entity=entity,
        object_id=obj.pk,
        operation=Operation.CREATE,
        status=OutboxStatus.IN_FLIGHT,
    ).exists()
    if operation is None:
        operation = Operation.UPDATE if bound or creating else Operation.CREATE
    waiting = OutboxItem.objects.filter(
        connection=connection,
        entity=entity,
        object_id=obj.pk,
        operation__in=[Operation.CREATE, Operation.UPDATE],
        status=OutboxStatus.PENDING,
    )
    if operation in (Operation.CREATE, Operation.UPDATE) and waiting.exists():
        return waiting.first()
    item = OutboxItem.objects.create(
        connection=connection,
        entity=entity,
        operation=operation,
        object_id=obj.pk,
        intent=intent or {},
        reference=REFERENCES[entity](obj),
        priority=priority,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(_kick)
    return item


def outbox_enqueue_many(
    *, connection: Connection, entity: str, objs, priority=Priority.BULK
) -> int:
    """Queue a push of each of `objs` (a bulk write such as an import) in a few queries, with the
    same rules as `outbox_enqueue`: bound or in-flight records get an update, others a create, and
    a record whose create or update still waits is not queued twice. Returns the items queued."""
    if (connection.provider, entity) not in PUSH_SPECS or not objs:
        return 0
    ids = [obj.pk for obj in objs]
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=entity, object_id__in=ids, remote_id__isnull=False
        ).values_list("object_id", flat=True)
    )
    items = OutboxItem.objects.filter(connection=connection, entity=entity, object_id__in=ids)
    creating = set(
        items.filter(operation=Operation.CREATE, status=OutboxStatus.IN_FLIGHT).values_list(
            "object_id", flat=True
        )
    )
    waiting = set(
        items.filter(
            operation__in=[Operation.CREATE, Operation.UPDATE], status=OutboxStatus.PENDING
        ).values_list("object_id", flat=True)
    )
    now = timezone.now()
    new = [
        OutboxItem(
            connection=connection,
            entity=entity,
            operation=Operation.UPDATE
            if obj.pk in bound or obj.pk in creating
            else Operation.CREATE,
            object_id=obj.pk,
            reference=REFERENCES[entity](obj),
            priority=priority,
            next_attempt_at=now,
        )
        for obj in {obj.pk: obj for obj in objs if obj.pk not in waiting}.values()
    ]
    OutboxItem.objects.bulk_create(new, batch_size=500)
    if new:
        transaction.on_commit(_kick)
    return len(new)


def _kick() -> None:
    """Drain soon after commit; the minute sweep is the safety net if this is lost."""
    try:
        from django_q.tasks import async_task

        async_task("apps.sync.tasks.outbox_drain_task", None)
    except Exception:  # the queue being down must not undo the local change
        logger.exception("could not enqueue the outbox drain")


# --- claim --------------------------------------------------------------------------------------
def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"


def outbox_claim(
    *,
    owner: str,
    limit: int = 10,
    connection_id: int | None = None,
    entity: str | None = None,
    exclude_ids: set[int] | None = None,
) -> list[int]:
    """Claim due items (pending, or in flight with a lapsed lease) for `owner`.

    One record is pushed by one worker at a time, in order: an item is skipped while another
    item of the same record is in flight, or while an earlier create of it is still waiting.
    """
    now = timezone.now()
    still_held = Binding.objects.filter(
        connection_id=OuterRef("connection_id"),
        entity=OuterRef("entity"),
        object_id=OuterRef("object_id"),
        status=BindingStatus.CONFLICT,
    )
    due = (
        Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=OutboxStatus.IN_FLIGHT, lease_until__lt=now)
        | (Q(status=OutboxStatus.PENDING, next_attempt_at=HELD_UNTIL) & ~Exists(still_held))
    )
    same_record = OutboxItem.objects.filter(
        connection_id=OuterRef("connection_id"),
        entity=OuterRef("entity"),
        object_id=OuterRef("object_id"),
    ).exclude(pk=OuterRef("pk"))
    busy = Exists(same_record.filter(status=OutboxStatus.IN_FLIGHT)) | Exists(
        same_record.filter(
            operation=Operation.CREATE, status=OutboxStatus.PENDING, pk__lt=OuterRef("pk")
        )
    )
    with transaction.atomic():
        query = OutboxItem.objects.select_for_update(skip_locked=True).filter(due)
        query = query.exclude(connection__status=ConnectionStatus.DISABLED).exclude(busy)
        if connection_id:
            query = query.filter(connection_id=connection_id)
        if entity:
            query = query.filter(entity=entity)
        if exclude_ids:
            query = query.exclude(pk__in=exclude_ids)
        items, seen = [], set()
        for item in query.order_by("priority", "next_attempt_at", "id")[:limit]:
            key = (item.connection_id, item.entity, item.object_id)
            if key not in seen:  # two items of one record: the second waits for the next claim
                seen.add(key)
                items.append(item)
        lease_until = now + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)
        for item in items:
            item.status = OutboxStatus.IN_FLIGHT
            item.lease_until = lease_until
            item.lease_owner = owner
            item.attempts += 1
        OutboxItem.objects.bulk_update(items, ["status", "lease_until", "lease_owner", "attempts"])
    return [item.pk for item in items]


# --- process ------------------------------------------------------------------------------------
def outbox_process(*, item_id: int, owner: str) -> str:
    """Send one claimed item; returns its new status."""
    item = OutboxItem.objects.select_related("connection__credential").get(pk=item_id)
    if item.status != OutboxStatus.IN_FLIGHT or item.lease_owner != owner:
        return item.status  # the lease went to someone else
    from apps.sync import flows

    if flows.handles(item):
        return flows.flow_process(item=item)
    spec = PUSH_SPECS[(item.connection.provider, item.entity)]
    obj = spec.model.objects.filter(pk=item.object_id).first()
    if obj is None:
        return _finish(item, OutboxStatus.DISCARDED, error="The local record no longer exists.")
    adapter = adapter_for(item.connection, priority=item.priority)
    was_uncertain = item.uncertain
    try:
        record = _send(item, spec, obj, adapter)
    except LeaseLost:
        return OutboxItem.objects.get(pk=item.pk).status
    except NoLookupKey as error:
        return _finish(item, OutboxStatus.DEAD, error=str(error))
    except (Rejected, NotFound) as error:
        _settle_uncertain(item, was_uncertain, error)
        return _finish(item, OutboxStatus.DEAD, error=str(error), http_status=error.status)
    except VendorError as error:  # transient, throttled, credentials refused
        _settle_uncertain(item, was_uncertain, error)
        return _retry_later(item, error)
    except RecordHeld as error:
        return _park(item, error)
    with transaction.atomic():
        if not _still_ours(item):
            # The lease lapsed and another worker holds the item: it looks the create up by
            # our reference (marked uncertain before the call) and binds it itself.
            return OutboxItem.objects.get(pk=item.pk).status
        _bind(item, spec, obj, record)
        return _finish_locked(item, OutboxStatus.DONE, remote_id=record.remote_id)


def _settle_uncertain(item: OutboxItem, was_uncertain: bool, error: VendorError) -> None:
    """A create marked as attempted that the vendor answered definitely (a rejection, a 429,
    refused credentials, a connection never made) made nothing: it is certain again."""
    if item.uncertain and not was_uncertain and not getattr(error, "uncertain", False):
        item.uncertain = False
        OutboxItem.objects.filter(pk=item.pk, lease_owner=item.lease_owner).update(uncertain=False)


class LeaseLost(Exception):
    """Our lease on the item went to another worker before the call: we must not send."""


class NoLookupKey(Exception):
    """An uncertain create has nothing to look it up by: sending it again could duplicate it."""


def _still_ours(item: OutboxItem) -> bool:
    """Lock the item and check we still hold it; call inside a transaction."""
    return (
        OutboxItem.objects.select_for_update()
        .filter(pk=item.pk, status=OutboxStatus.IN_FLIGHT, lease_owner=item.lease_owner)
        .exists()
    )


def _mark_attempted(item: OutboxItem) -> None:
    """Before a create leaves: commit that it may reach the vendor (so any later claimer looks
    it up first), renew the lease, and check it is still ours. Raises LeaseLost if it is not."""
    lease_until = timezone.now() + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        marked = OutboxItem.objects.filter(
            pk=item.pk, status=OutboxStatus.IN_FLIGHT, lease_owner=item.lease_owner
        ).update(uncertain=True, lease_until=lease_until)
    if not marked:
        raise LeaseLost(f"Outbox item #{item.pk} is no longer leased to {item.lease_owner}.")
    item.uncertain = True
    item.lease_until = lease_until


def _send(item: OutboxItem, spec: PushSpec, obj, adapter) -> RemoteRecord:
    provider = item.connection.provider
    payload = spec.payload(obj, item.reference)
    binding = Binding.objects.filter(
        connection=item.connection, entity=item.entity, object_id=obj.pk, remote_id__isnull=False
    ).first()
    if item.operation == Operation.UPDATE or (item.operation == Operation.CREATE and binding):
        if binding is None:
            raise Rejected("Nothing to update: the record is not bound to a remote one yet.")
        if item.entity in MERGED_ENTITIES:
            # Re-read the vendor's record and merge first: only the merged result is pushed.
            current = adapter.get(spec.resource, binding.remote_id)
            if not merge_before_push(
                binding=binding,
                obj=obj,
                remote_record=current,
                snapshot=spec.snapshot,
                from_remote=spec.from_remote,
            ):
                return current
            payload = spec.payload(obj, item.reference)
        if provider == Provider.XERO:
            return adapter.update(
                spec.resource, binding.remote_id, payload, idempotency_key=str(item.idempotency_key)
            )
        return adapter.update(spec.resource, binding.remote_id, payload)
    if item.operation == Operation.ACTION:
        if binding is None:
            raise Rejected("Nothing to act on: the record is not bound to a remote one yet.")
        adapter.status_action(spec.resource, binding.remote_id, item.intent["action"])
        return adapter.get(spec.resource, binding.remote_id)
    # A create. If an earlier attempt may have reached the vendor, look before sending again.
    if item.uncertain:
        lookup = spec.lookup_value(obj, item.reference)
        if not lookup:
            raise NoLookupKey(
                f"An earlier attempt to create {item.entity} #{obj.pk} may have reached "
                f"{item.connection.get_provider_display()}, and the record has no key to look "
                "it up by (a client needs an e-mail, a service a SKU). Sending it again could "
                "make a duplicate: check the vendor, then bind or requeue this item."
            )
        found = adapter.find_by_reference(spec.resource, lookup)
        if found is not None:
            return found
    _mark_attempted(item)
    if provider == Provider.XERO:
        return adapter.create(spec.resource, payload, idempotency_key=str(item.idempotency_key))
    return adapter.create(spec.resource, payload)


def _bind(item: OutboxItem, spec: PushSpec, obj, record: RemoteRecord) -> None:
    Binding.objects.update_or_create(
        connection=item.connection,
        entity=item.entity,
        object_id=obj.pk,
        defaults={
            "content_type": ContentType.objects.get_for_model(spec.model),
            "remote_id": record.remote_id,
            "remote_number": record.number[:100],
            "remote_modified_at": record.modified_at,
            "base_snapshot": spec.from_remote(record),
            "status": BindingStatus.SYNCED,
            "synced_at": timezone.now(),
            "last_error": "",
        },
    )


def _finish(item, status, *, error="", http_status=None, remote_id="") -> str:
    with transaction.atomic():
        if not _still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status  # another worker holds it now
        return _finish_locked(
            item, status, error=error, http_status=http_status, remote_id=remote_id
        )


def _finish_locked(item, status, *, error="", http_status=None, remote_id="") -> str:
    item.status = status
    item.lease_until = None
    item.last_error = error[:2000]
    item.last_http_status = http_status
    item.remote_id = remote_id or item.remote_id
    item.finished_at = timezone.now()
    item.save(
        update_fields=[
            "status",
            "lease_until",
            "last_error",
            "last_http_status",
            "remote_id",
            "finished_at",
        ]
    )
    if status == OutboxStatus.DEAD:
        Binding.objects.filter(
            connection=item.connection, entity=item.entity, object_id=item.object_id
        ).update(status=BindingStatus.FAILED, last_error=error[:2000])
    return status


def _park(item: OutboxItem, error: RecordHeld) -> str:
    """Keep a push held by a conflict waiting (not discarded) until the conflict is decided;
    the hold is not a failed attempt."""
    with transaction.atomic():
        if not _still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status
        item.status = OutboxStatus.PENDING
        item.lease_until = None
        item.next_attempt_at = HELD_UNTIL
        item.attempts = max(0, item.attempts - 1)
        item.last_error = str(error)[:2000]
        item.last_http_status = None
        item.save(
            update_fields=[
                "status",
                "lease_until",
                "next_attempt_at",
                "attempts",
                "last_error",
                "last_http_status",
            ]
        )
    return item.status


def _retry_later(item: OutboxItem, error: VendorError) -> str:
    with transaction.atomic():
        if not _still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status  # another worker holds it now
        return _retry_later_locked(item, error)


def _retry_later_locked(item: OutboxItem, error: VendorError) -> str:
    if getattr(error, "uncertain", False) and item.operation == Operation.CREATE:
        item.uncertain = True
    if item.attempts >= settings.SYNC_OUTBOX_MAX_ATTEMPTS:
        item.save(update_fields=["uncertain"])
        return _finish_locked(
            item,
            OutboxStatus.DEAD,
            error=f"{error} (after {item.attempts} attempts)",
            http_status=error.status,
        )
    delay = backoff_seconds(item.attempts)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        delay = max(delay, retry_after * settings.SYNC_CLOCK_SCALE)
    item.status = OutboxStatus.PENDING
    item.lease_until = None
    item.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    item.last_error = str(error)[:2000]
    item.last_http_status = error.status
    item.save(
        update_fields=[
            "status",
            "lease_until",
            "next_attempt_at",
            "last_error",
            "last_http_status",
            "uncertain",
        ]
    )
    return item.status


# --- drain --------------------------------------------------------------------------------------
def outbox_drain(
    *,
    connection_id: int | None = None,
    entity: str | None = None,
    batch: int = 10,
    max_items: int | None = None,
) -> dict[str, int]:
    """Claim and send due items until none is due; returns counts per outcome."""
    owner = _owner()
    counts: dict[str, int] = {}
    handled = 0
    handled_ids: set[int] = set()
    while max_items is None or handled < max_items:
        # An item retried later is not retried again within the same drain.
        ids = outbox_claim(
            owner=owner,
            limit=batch,
            connection_id=connection_id,
            entity=entity,
            exclude_ids=handled_ids,
        )
        if not ids:
            break
        for item_id in ids:
            status = outbox_process(item_id=item_id, owner=owner)
            counts[status] = counts.get(status, 0) + 1
            handled += 1
            handled_ids.add(item_id)
    return counts


# --- admin actions ------------------------------------------------------------------------------
def outbox_requeue(*, items) -> int:
    return items.filter(status__in=[OutboxStatus.DEAD, OutboxStatus.DISCARDED]).update(
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_until=None,
        finished_at=None,
    )


def outbox_discard(*, items) -> int:
    return items.exclude(status=OutboxStatus.DONE).update(
        status=OutboxStatus.DISCARDED, finished_at=timezone.now(), lease_until=None
    )
