"""The outbox's claim: which due items one worker takes now, leased to it.

One record is pushed by one worker at a time, in order; a connection's documents go in queue
order, so a document behind the connection's earliest unfinished one (its head) is not claimed,
but for the run just behind the head that this worker may send with it (`_run_end`): one batch
where the connector sends that kind many per call (engine/batch.py), else the next documents,
sent one after another (engine/outbox.py's drain)."""

import os
import random
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from apps.sync.engine import circuit, registry
from apps.sync.engine.batch import batch_form
from apps.sync.engine.entities import DOCUMENT_ENTITIES
from apps.sync.engine.leases import HELD_UNTIL
from apps.sync.models import (
    Binding,
    BindingStatus,
    ConnectionStatus,
    Operation,
    OutboxItem,
    OutboxStatus,
)

UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
# The most unfinished documents read to find the run behind a head (a batch is at most this).
BATCH_RUN_CAP = 100


# --- claim --------------------------------------------------------------------------------------
def claim_owner() -> str:
    """A name for one drain: host, process and a random part (a process drains many times)."""
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"


def outbox_claim(
    *,
    owner: str,
    limit: int = 10,
    connection_id: int | None = None,
    entity: str | None = None,
    operation: str | None = None,
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
    # A document behind the earliest unfinished one of its connection (the head) is not
    # claimed at all: a claim would only put it back, each drain walking the whole backlog.
    # One aggregate finds the heads; a correlated subquery per row cost seconds at 5,000 rows.
    heads = (
        OutboxItem.objects.filter(entity__in=DOCUMENT_ENTITIES, status__in=UNFINISHED)
        .order_by()
        .values("connection_id", "connection__provider")
        .annotate(head=Min("id"))
    )
    behind = Q()
    for head in heads:
        last = _run_end(
            head["connection_id"],
            head["connection__provider"],
            head["head"],
            owner,
            limit,
            exclude_ids or set(),
        )
        behind |= Q(connection_id=head["connection_id"], entity__in=DOCUMENT_ENTITIES, pk__gt=last)
    with transaction.atomic():
        query = OutboxItem.objects.select_for_update(skip_locked=True).filter(due)
        if behind:  # its own condition, so the database checks it before the subqueries
            query = query.exclude(behind)
        query = query.exclude(connection__status=ConnectionStatus.DISABLED).exclude(busy)
        query = query.exclude(circuit.paused(now))  # circuit breaker: paused connections wait
        if connection_id:
            query = query.filter(connection_id=connection_id)
        if entity:
            query = query.filter(entity=entity)
        if operation:
            query = query.filter(operation=operation)
        if exclude_ids:
            query = query.exclude(pk__in=exclude_ids)
        items, seen = [], set()
        # In the order queued, not by due time: a drain taking documents out of order would
        # leave each behind an earlier one until the next wake-up (one per sweep).
        for item in query.order_by("priority", "id")[:limit]:
            key = (item.connection_id, item.entity, item.object_id)
            if key not in seen:  # two items of one record: the second waits for the next claim
                seen.add(key)
                items.append(item)
        lease_until = now + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)
        # One UPDATE (bulk_update's CASE per row costs ~10 ms an item at a batch's hundred).
        OutboxItem.objects.filter(pk__in=[item.pk for item in items]).update(
            status=OutboxStatus.IN_FLIGHT,
            lease_until=lease_until,
            lease_owner=owner,
            attempts=F("attempts") + 1,
        )
    return [item.pk for item in items]


def _run_end(
    connection_id: int, provider: str, head_id: int, owner: str, limit: int, exclude_ids
) -> int:
    """The last document of a connection that may be claimed now: the head and the run just
    behind it, or the head alone while it is in flight with another worker (nothing may overtake
    it). Where the connector sends the head's (entity, operation) many per call, the run is the
    unfinished items of that same kind (one batch, sent in queue order by engine/batch.py);
    where it sends documents one per call, the next `limit` documents of any kind, which this
    worker then sends one after another, in queue order, without a claim for each (each waits
    for the one before it: outbox_process's _blocker, the drain's _release_behind)."""
    exporters = registry.connector(provider).exporters
    batches = any(e.batch for (name, _), e in exporters.items() if name in DOCUMENT_ENTITIES)
    rows = list(
        OutboxItem.objects.filter(
            connection_id=connection_id, entity__in=DOCUMENT_ENTITIES, status__in=UNFINISHED
        )
        .order_by("id")
        .values_list(
            "id",
            "entity",
            "operation",
            "status",
            "lease_owner",
            "object_id",
            "next_attempt_at",
            "lease_until",
        )[: BATCH_RUN_CAP if batches else max(1, limit)]
    )
    if not rows or rows[0][0] != head_id:
        return head_id
    if not batches:
        _pk, _name, _operation, status, head_owner, _record, due_at, lease_until = rows[0]
        now = timezone.now()
        if status == OutboxStatus.PENDING:
            takeable = due_at <= now
        else:  # in flight: ours, or another's whose lease lapsed (a killed worker's)
            takeable = head_owner == owner or (lease_until is not None and lease_until < now)
        if head_id in exclude_ids or not takeable:
            return head_id  # the head waits (a backoff, another worker): so does its run
        # Up to the second item of one record: a claim takes one item per record at a time.
        last, records = head_id, set()
        for pk, name, *_, object_id, _due_at, _lease_until in rows:
            if (name, object_id) in records:
                break
            records.add((name, object_id))
            last = pk
        return last
    if rows[0][3] == OutboxStatus.IN_FLIGHT and rows[0][4] != owner:
        return head_id
    form = batch_form(provider, rows[0][1], rows[0][2])
    if form is None:
        return head_id
    last = head_id
    for pk, name, operation, *_ in rows[1 : form.size]:
        if (name, operation) != (rows[0][1], rows[0][2]):
            break
        last = pk
    return last
