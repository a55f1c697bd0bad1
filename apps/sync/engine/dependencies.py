"""A document's dependencies at the vendor (its client, its services): found by our reference or
made, and bound, before the document that needs them is sent.

A dependency may have a create of its own queued (a client saved just before its first quote).
While the dependency is found or made here, that outbox item is held by this worker, its lease
renewed with every call like the document's: another worker sending it at the same moment would
find nothing by our reference either, and the vendor would get it twice."""

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from apps.sync.engine import registry
from apps.sync.engine.bindings import binding_bind, bound_remote_id
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.leases import LeaseKeeper, release
from apps.sync.engine.records import NoLookupKey, Rejected
from apps.sync.engine.transport import checked_calls
from apps.sync.models import Operation, OutboxItem, OutboxStatus

# How often a dependency whose own create is in flight with another worker is looked at again.
WAIT_POLL_SECONDS = 0.2


def ensure_bound(ctx, entity: str, obj) -> str:
    """The remote id of a document's dependency on `ctx.connection`: its binding, else the
    record the vendor already has under our reference, else a new one; bound either way.

    Looked up before every create, so a dependency is never made twice however often the
    document that needs it is retried, nor by two workers at once (see the module)."""
    remote_id = bound_remote_id(ctx.connection, entity, obj.pk)
    if remote_id:
        return remote_id
    owner = ctx.lease_owner or f"dependency-{uuid.uuid4().hex}"
    taken = _own_creates_taken(ctx, entity, obj.pk, owner)
    try:
        remote_id = bound_remote_id(ctx.connection, entity, obj.pk)
        if remote_id:  # made and bound by the worker that was sending its own create
            return remote_id
        with checked_calls(LeaseKeeper(taken, owner)):
            return _find_or_make(ctx, entity, obj, taken)
    finally:
        # Back as they were; claimed again, they find the binding (a follow-up at most).
        release(taken, owner)


def _own_creates_taken(ctx, entity: str, object_id: int, owner: str) -> list[int]:
    """Take the dependency's unfinished creates that this worker does not hold already: pending
    ones, or ones whose lease lapsed. One in flight with another worker is waited for: it ends
    bound (then nothing is taken) or its lease lapses."""
    creates = OutboxItem.objects.filter(
        connection_id=ctx.connection.pk,
        entity=entity,
        object_id=object_id,
        operation=Operation.CREATE,
        status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT],
    )
    while True:
        now = timezone.now()
        rows = list(creates.values("pk", "status", "lease_owner", "lease_until"))
        others = [
            row
            for row in rows
            if not (row["status"] == OutboxStatus.IN_FLIGHT and row["lease_owner"] == owner)
        ]
        busy = any(
            row["status"] == OutboxStatus.IN_FLIGHT and (row["lease_until"] or now) > now
            for row in others
        )
        if not busy:
            ids = [row["pk"] for row in others]
            took = (
                creates.filter(pk__in=ids)
                .filter(Q(status=OutboxStatus.PENDING) | Q(lease_until__lt=now))
                .update(
                    status=OutboxStatus.IN_FLIGHT,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS),
                    attempts=F("attempts") + 1,  # as a claim counts it; `release` gives it back
                )
            )
            if took == len(ids):
                return ids
            release(ids, owner)  # another worker claimed one meanwhile: look again
        elif bound_remote_id(ctx.connection, entity, object_id):
            return []
        time.sleep(WAIT_POLL_SECONDS)


def _find_or_make(ctx, entity: str, obj, taken: list[int]) -> str:
    connector = registry.connector(ctx.connection.provider)
    exporter = connector.exporters[(entity, Operation.CREATE)]
    # An earlier attempt of its own create may have reached the vendor: made only if found not.
    uncertain = OutboxItem.objects.filter(pk__in=taken, uncertain=True).exists()
    try:
        try:
            if exporter.lookup is None and uncertain:
                raise NoLookupKey(f"{connector.label} cannot be searched for {obj}.")
            record = exporter.lookup(ctx, obj) if exporter.lookup else None
        except NoLookupKey as error:
            if uncertain:
                raise NoLookupKey(
                    f"An earlier attempt to create the {entity_spec(entity).label} '{obj}' may "
                    f"have reached {connector.label}, which cannot be searched for it: check "
                    "the vendor, then bind or requeue its outbox item."
                ) from error
            record = None  # nothing to find it by: never sent before, so safe to create
        if record is None:
            # A worker that claims the create after this one (its lease lapsed) looks it up.
            OutboxItem.objects.filter(pk__in=taken).update(uncertain=True)
            record = exporter.send(ctx, obj)
    except Rejected as error:
        raise Rejected(
            f"The {entity_spec(entity).label} '{obj}' could not be bound to "
            f"{connector.label}: {error}",
            status=error.status,
        ) from error
    binding_bind(
        ctx.connection,
        entity,
        obj.pk,
        record=record,
        base=exporter.base(record) if exporter.base else {},
    )
    return record.remote_id
