"""The outbox: local changes waiting to reach a vendor. Rows are written in the same transaction
as the change (one enqueue for every entity), claimed with skip_locked and a lease, sent by one
process loop through the connector's exporter, retried with full-jitter exponential backoff and
dead-lettered after the last attempt. Every create goes the same way: marked attempted
(uncertain) and committed before it is sent, and looked up by our reference before any retry,
so a retry never makes a second remote document. Documents of one connection go out strictly in
the order they were queued (a quote's estimate before its acceptance, its invoice, payments)."""

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django_q.tasks import async_task

from apps.sync.engine import circuit, registry, trace
from apps.sync.engine.batch import batch_form, outbox_process_batch
from apps.sync.engine.bindings import (
    binding_bind,
    binding_mark_gone,
    binding_mark_pending,
    binding_mark_synced,
    bound_remote_id,
)
from apps.sync.engine.bulk import insert_rows
from apps.sync.engine.claim import UNFINISHED, claim_owner, outbox_claim
from apps.sync.engine.context import PushContext
from apps.sync.engine.entities import DOCUMENT_ENTITIES
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.leases import (  # HELD_UNTIL, LeaseLost: the outbox's public surface
    HELD_UNTIL,  # noqa: F401
    LeaseKeeper,
    LeaseLost,
    finish,
    finish_locked,
    mark_attempted,
    park,
    release,
    renew,
    retry_later,
    settle_uncertain,
    still_ours,
    wait_behind,
)
from apps.sync.engine.matching import outbox_wait_for_review, review_holding
from apps.sync.engine.recording import RecordHeld, merge_before_push
from apps.sync.engine.records import NoLookupKey, NotFound, Rejected, RemoteRecord, VendorError
from apps.sync.engine.refresh import BaseRefresh
from apps.sync.engine.transport import checked_calls
from apps.sync.models import (
    Binding,
    Connection,
    Operation,
    OutboxItem,
    OutboxStatus,
    Priority,
)

logger = logging.getLogger(__name__)

# The most documents one claim looks at behind a connection's head (the largest batch).
# The task the queue runs to drain; the path is stored in queued tasks and schedules.
DRAIN_TASK = "apps.sync.tasks.outbox_drain_task"
# In the shared cache while a drain of every connection is queued or running and will claim
# again: a change committed meanwhile needs no drain task of its own (_kick).
WAKE_MARK = "sync:outbox:drain-due"
# How many times one drain sends a connection's head document again after a retryable failure
# (a client time-out, a 5xx), waiting out a short backoff rather than ending the drain.
HEAD_RETRIES_PER_DRAIN = 3


# --- enqueue ------------------------------------------------------------------------------------
def _pushes(connection: Connection, entity: str, operation: str) -> bool:
    return registry.connector(connection.provider).pushes(entity, operation)


def outbox_enqueue(
    *,
    connection: Connection,
    entity: str,
    obj,
    operation: str | None = None,
    intent: dict | None = None,
    priority: int = Priority.USER,
) -> OutboxItem | None:
    """Queue a push of `obj` to `connection`; call inside the transaction of the change.

    Without an operation, a bound record (or one whose create is in flight) is updated and any
    other created. A plain create or update still waiting is not queued twice: it reads the row
    as it is when it is sent. Returns None when the connector does not push this.
    """
    if operation is None:
        bound = bound_remote_id(connection, entity, obj.pk) is not None
        creating = OutboxItem.objects.filter(
            connection=connection,
            entity=entity,
            object_id=obj.pk,
            operation=Operation.CREATE,
            status=OutboxStatus.IN_FLIGHT,
        ).exists()
        operation = Operation.UPDATE if bound or creating else Operation.CREATE
    if not _pushes(connection, entity, operation):
        return None
    if operation in (Operation.CREATE, Operation.UPDATE) and not intent:
        waiting = OutboxItem.objects.filter(
            connection=connection,
            entity=entity,
            object_id=obj.pk,
            operation__in=[Operation.CREATE, Operation.UPDATE],
            status=OutboxStatus.PENDING,
        ).first()
        if waiting is not None:
            return waiting
    spec = entity_spec(entity)
    if spec.document:
        binding_mark_pending(connection, entity, obj.pk)
    item = OutboxItem.objects.create(
        connection=connection,
        entity=entity,
        operation=operation,
        object_id=obj.pk,
        intent=intent or {},
        reference=spec.reference(obj)[:100],
        priority=priority,
        next_attempt_at=timezone.now(),
        correlation_id=trace.current_correlation_id() or uuid.uuid4(),  # journal: what caused it
    )
    transaction.on_commit(_kick)
    return item


def outbox_enqueue_many(
    *, connection: Connection, entity: str, objs, priority: int = Priority.BULK
) -> int:
    """Queue a plain push of each of `objs` (a bulk write: an import, a bulk decision) in a few
    queries, by the rules of `outbox_enqueue`. Returns how many items were queued."""
    if not objs or not (
        _pushes(connection, entity, Operation.CREATE)
        or _pushes(connection, entity, Operation.UPDATE)
    ):
        return 0
    ids = [obj.pk for obj in objs]
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=entity, object_id__in=ids, remote_id__isnull=False
        ).values_list("object_id", flat=True)
    )
    items = OutboxItem.objects.filter(connection=connection, entity=entity, object_id__in=ids)
    # A create in flight will bind the record: the change is an update that runs after it.
    bound |= set(
        items.filter(operation=Operation.CREATE, status=OutboxStatus.IN_FLIGHT).values_list(
            "object_id", flat=True
        )
    )
    waiting = set(
        items.filter(
            operation__in=[Operation.CREATE, Operation.UPDATE], status=OutboxStatus.PENDING
        ).values_list("object_id", flat=True)
    )
    spec = entity_spec(entity)
    now = timezone.now()
    allowed = {op: _pushes(connection, entity, op) for op in (Operation.CREATE, Operation.UPDATE)}
    key_field = OutboxItem._meta.get_field("idempotency_key")
    caused_by = trace.current_correlation_id()  # journal: what caused them, else one each
    # Plain INSERTs (engine/bulk.py): at an import's ten thousand rows the ORM's per-instance
    # preparation costs more than the database's work.
    new = []
    for obj in {obj.pk: obj for obj in objs if obj.pk not in waiting}.values():
        operation = Operation.UPDATE if obj.pk in bound else Operation.CREATE
        if not allowed[operation]:
            continue
        new.append(
            {
                "connection_id": connection.pk,
                "entity": entity,
                "operation": operation,
                "object_id": obj.pk,
                "intent": {},
                "reference": spec.reference(obj)[:100],
                "idempotency_key": key_field.get_db_prep_value(uuid.uuid4(), db_connection),
                "correlation_id": key_field.get_db_prep_value(  # journal
                    caused_by or uuid.uuid4(), db_connection
                ),
                "priority": priority,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    insert_rows(OutboxItem, new)
    if new:
        transaction.on_commit(_kick)
    return len(new)


def _kick() -> None:
    """Drain soon after commit, unless a drain of every connection is already due to claim after
    now (the wake-up mark is set: a queued drain not yet started, or one still running): one
    wake-up stands for any number of changes, where each change queued its own drain task
    (9,000 idle tasks in the 10,000-change chaos run). The minute sweep is the safety net if a
    wake-up is lost, or a killed drain leaves its mark (it lapses after the lease time)."""
    marked = False
    try:
        if _marks_shared():
            marked = cache.add(WAKE_MARK, 1, timeout=_wake_mark_seconds())
            if not marked:
                return
        async_task(DRAIN_TASK, None)
    except Exception:  # the queue being down must not undo the local change
        if marked:
            cache.delete(WAKE_MARK)  # no drain will come: the next change wakes one
        logger.exception("could not enqueue the outbox drain")


def _marks_shared() -> bool:
    """Whether wake-ups are coalesced: when SYNC_OUTBOX_COALESCE_WAKEUPS is on and the cache is
    one for every process (Redis, the database); a per-process memory cache cannot tell the web
    process that a worker's drain is running. Off by default: under the 10,000-change chaos run
    the task queue (FIFO, e-mails too) fell minutes behind, and a queued drain standing for every
    change then came minutes late after each killed worker, where a drain per change spread
    through the queue came within seconds (README, Chaos run)."""
    if not settings.SYNC_OUTBOX_COALESCE_WAKEUPS:
        return False
    return not isinstance(caches["default"], (LocMemCache, DummyCache))


def _wake_mark_seconds() -> int:
    """How long a mark stands without its drain renewing it (before each claim): a drain killed
    holding it stops wake-ups at most this long, as long as it would hold an item."""
    return max(1, settings.SYNC_OUTBOX_LEASE_SECONDS)


# --- process ------------------------------------------------------------------------------------
def outbox_process(*, item_id: int, owner: str, refresh: BaseRefresh | None = None) -> str:
    """Send one claimed item through its connector's exporter; returns its new status.
    `refresh` (one per drain) answers what the vendor has now for updates, from a list."""
    item = OutboxItem.objects.select_related("connection__credential").get(pk=item_id)
    if item.status != OutboxStatus.IN_FLIGHT or item.lease_owner != owner:
        return item.status  # the lease went to someone else
    review = review_holding(item.connection_id)
    if review is not None:
        return outbox_wait_for_review(item, review)
    spec = entity_spec(item.entity)
    if spec.document:
        blocker = _blocker(item)
        if blocker is not None:
            return wait_behind(item, blocker)
    obj = spec.model.objects.filter(pk=item.object_id).first()
    if obj is None:
        return finish(item, OutboxStatus.DISCARDED, error="The local record no longer exists.")
    connector = registry.connector(item.connection.provider)
    exporter = connector.exporters.get((item.entity, item.operation))
    if exporter is None:
        return finish(
            item,
            OutboxStatus.DEAD,
            error=f"{connector.label} has no {item.operation} for {item.entity}.",
        )
    if not circuit.admits(item):  # circuit breaker: paused, or another item is the probe
        return circuit.hold(item)
    ctx = PushContext.for_item(item)
    was_uncertain = item.uncertain
    try:
        # circuit breaker: sees the vendor's answer; each call leaves only while the item is
        # still ours (its lease may lapse while the rate governor holds a call back).
        with circuit.watch(item) as watched, checked_calls(LeaseKeeper([item.pk], owner)):
            record = _push(ctx, exporter, spec, obj, refresh)
    except LeaseLost:
        # Another worker has the item, or a dependency's own create it was holding: then the
        # item goes back as it was for the next claim (not left in flight until its lease ends).
        release([item.pk], owner)
        return OutboxItem.objects.get(pk=item.pk).status
    except NoLookupKey as error:
        return finish(item, OutboxStatus.DEAD, error=str(error))
    except (Rejected, NotFound) as error:
        settle_uncertain(item, was_uncertain, error)
        status = finish(item, OutboxStatus.DEAD, error=str(error), http_status=error.status)
        if isinstance(error, NotFound) and ctx.remote_id:
            # Deleted at the vendor: never deleted here; an Admin decides (engine/gone.py).
            binding_mark_gone(
                connection=item.connection,
                entity=item.entity,
                remote_id=ctx.remote_id,
                reason=f"Not found at the vendor when sending outbox item #{item.pk}: {error}",
            )
        return status
    except VendorError as error:  # transient, throttled, credentials refused
        settle_uncertain(item, was_uncertain, error)
        if watched.paused:  # circuit breaker: a connection-level failure spends no attempt
            return circuit.hold(item)
        return retry_later(item, error)
    except RecordHeld as error:
        return park(item, error)
    with transaction.atomic():
        if not still_ours(item):
            # The lease lapsed and another worker holds the item: it looks the create up by
            # our reference (marked uncertain before the call) and binds it itself.
            return OutboxItem.objects.get(pk=item.pk).status
        if record is not None and item.operation != Operation.ACTION and not ctx.bound:
            _bind(ctx, exporter, record)
            if refresh is not None and exporter.base is not None:
                refresh.remember(item.connection_id, item.entity, record, exporter.base(record))
        else:
            binding_mark_synced(item.connection, item.entity, item.object_id)
        remote_id = record.remote_id if record is not None else ctx.remote_id
        return finish_locked(item, OutboxStatus.DONE, remote_id=remote_id)


def _push(
    ctx: PushContext, exporter, spec, obj, refresh: BaseRefresh | None
) -> RemoteRecord | None:
    item = ctx.item
    remote_id = bound_remote_id(item.connection, item.entity, obj.pk)
    if item.operation == Operation.CREATE and not remote_id:
        return _create(ctx, exporter, obj)
    if item.operation == Operation.CREATE and not spec.merged:
        # Created and bound by an earlier attempt: only the follow-up may be left to do.
        ctx.remote_id = remote_id
        if exporter.after is not None:
            exporter.after(ctx, obj, None)
        return None
    if not remote_id:
        raise Rejected(
            f"Nothing to {item.operation}: the {spec.label} is not bound to a remote record yet."
        )
    ctx.remote_id = remote_id
    if item.operation != Operation.ACTION and spec.merged:
        # A create of a record bound meanwhile is an update. Read the vendor's record and merge
        # first: only the merged result is pushed.
        update = registry.connector(item.connection.provider).exporters.get(
            (item.entity, Operation.UPDATE), exporter
        )
        binding = Binding.objects.get(
            connection=item.connection, entity=item.entity, object_id=obj.pk
        )
        remote = refresh.remote_snapshot(ctx, binding) if refresh is not None else None
        if remote is None and update.fetch is not None:
            remote = update.base(update.fetch(ctx, remote_id))
        if remote is not None and not merge_before_push(
            binding=binding, obj=obj, remote=remote, snapshot=spec.snapshot
        ):
            return None  # the vendor already has every merged value: nothing to send
        return update.send(ctx, obj)
    return exporter.send(ctx, obj)


def _create(ctx: PushContext, exporter, obj) -> RemoteRecord:
    """Look up an uncertain create first; mark it attempted and commit before sending; bind as
    soon as the vendor answers; then the exporter's idempotent follow-up."""
    item = ctx.item
    record = None
    if item.uncertain and not exporter.idempotent:
        if exporter.lookup is None:
            raise NoLookupKey(
                f"An earlier attempt to create {item.entity} #{obj.pk} may have reached "
                f"{item.connection.get_provider_display()}, which cannot be searched for it: "
                "check the vendor, then bind or requeue this item."
            )
        record = exporter.lookup(ctx, obj)
    if record is None:
        mark_attempted(item)
        record = exporter.send(ctx, obj)
    with transaction.atomic():
        if not still_ours(item):
            raise LeaseLost(f"Outbox item #{item.pk} went to another worker during the call.")
        _bind(ctx, exporter, record)
    ctx.bound = True
    ctx.remote_id = record.remote_id
    if exporter.after is not None:
        exporter.after(ctx, obj, record)
    return record


def _bind(ctx: PushContext, exporter, record: RemoteRecord) -> None:
    item = ctx.item
    binding_bind(
        item.connection,
        item.entity,
        item.object_id,
        record=record,
        base=exporter.base(record) if exporter.base else {},
    )


def _blocker(item: OutboxItem) -> OutboxItem | None:
    """The earliest unfinished document item of the connection queued before this one."""
    return (
        OutboxItem.objects.filter(
            connection_id=item.connection_id,
            entity__in=DOCUMENT_ENTITIES,
            id__lt=item.id,
            status__in=UNFINISHED,
        )
        .order_by("id")
        .first()
    )


# --- drain --------------------------------------------------------------------------------------
def outbox_drain(
    *,
    connection_id: int | None = None,
    entity: str | None = None,
    batch: int = 10,
    max_items: int | None = None,
    wake_mark: bool = False,
) -> dict[str, int]:
    """Claim and send due items until none is due; returns counts per outcome.

    With `wake_mark` (the drain of every connection the wake-ups queue), the drain holds the
    wake-up mark while it will claim again, so changes committed meanwhile queue no drain of
    their own; it drops the mark and claims once more before it ends (a change committed after
    that queues the next drain)."""
    owner = claim_owner()
    refresh = BaseRefresh()
    counts: dict[str, int] = {}
    handled = 0
    handled_ids: set[int] = set()
    retried: dict[int, int] = {}
    holding = False  # the wake-up mark
    try:
        while max_items is None or handled < max_items:
            if wake_mark:
                cache.set(WAKE_MARK, 1, timeout=_wake_mark_seconds())
                holding = True
            # An item retried later is not retried again within the same drain, but for a head
            # document whose backoff ends within SYNC_OUTBOX_DRAIN_WAIT (_head_retry).
            claim = {
                "owner": owner,
                "limit": batch,
                "connection_id": connection_id,
                "entity": entity,
                "exclude_ids": handled_ids,
            }
            ids = outbox_claim(**claim)
            if not ids:
                head = _head_retry(handled_ids, retried, connection_id)
                if head is not None:
                    handled_ids.discard(head)
                    continue
                if holding:
                    cache.delete(WAKE_MARK)
                    holding = wake_mark = False
                    ids = outbox_claim(**claim)  # whatever was committed before the mark went
                if not ids:
                    break
            rows = {
                row["pk"]: row
                for row in OutboxItem.objects.filter(pk__in=ids).values(
                    "pk", "connection_id", "connection__provider", "entity", "operation"
                )
            }
            released: set[int] = set()
            renewed = time.monotonic()
            for item_id in ids:
                if item_id in handled_ids or item_id in released:
                    continue
                if time.monotonic() - renewed > settings.SYNC_OUTBOX_LEASE_SECONDS / 3:
                    # A run's last items wait for the ones before them: their leases must not
                    # lapse meanwhile (another worker would take them).
                    renew([pk for pk in ids if pk not in handled_ids | released], owner)
                    renewed = time.monotonic()
                statuses = _send(rows, ids, item_id, owner, refresh, handled_ids)
                for pk, status in statuses.items():
                    counts[status] = counts.get(status, 0) + 1
                    handled += 1
                    handled_ids.add(pk)
                released |= _release_behind(rows, ids, statuses, owner, handled_ids)
    finally:
        if holding:  # stopped early (max_items, an error): the next change wakes a drain
            cache.delete(WAKE_MARK)
    return counts


def _release_behind(rows, ids, statuses, owner, handled_ids) -> set[int]:
    """A document that did not go (a retry later, a hold, a lease lost): the documents of its
    connection claimed behind it (its run) would each only be put back behind it, one
    wait_behind each; they go back untouched in one update instead, for a later claim."""
    stopped = [
        pk
        for pk, status in statuses.items()
        if status in UNFINISHED and pk in rows and rows[pk]["entity"] in DOCUMENT_ENTITIES
    ]
    if not stopped:
        return set()
    first = min(stopped)
    behind = [
        pk
        for pk in ids
        if pk > first
        and pk not in handled_ids
        and rows[pk]["connection_id"] == rows[first]["connection_id"]
        and rows[pk]["entity"] in DOCUMENT_ENTITIES
    ]
    if behind:
        release(behind, owner)
    return set(behind)


def _head_retry(handled_ids: set[int], retried: dict[int, int], connection_id) -> int | None:
    """A connection's head document that this drain sent and put back for a retry, due within
    SYNC_OUTBOX_DRAIN_WAIT seconds: wait for it and send it again here. Every document of its
    connection waits behind it, and the next wake-up may be the minute sweep; waiting a
    moment in this worker is cheaper. At most HEAD_RETRIES_PER_DRAIN times per document."""
    wait = settings.SYNC_OUTBOX_DRAIN_WAIT
    if wait <= 0 or not handled_ids:
        return None
    unfinished = OutboxItem.objects.filter(entity__in=DOCUMENT_ENTITIES, status__in=UNFINISHED)
    if connection_id:
        unfinished = unfinished.filter(connection_id=connection_id)
    heads = unfinished.order_by().values("connection_id").annotate(head=Min("id")).values("head")
    now = timezone.now()
    candidates = [
        row["head"]
        for row in heads
        if row["head"] in handled_ids and retried.get(row["head"], 0) < HEAD_RETRIES_PER_DRAIN
    ]
    head = (
        OutboxItem.objects.filter(
            pk__in=candidates,
            status=OutboxStatus.PENDING,
            next_attempt_at__lte=now + timedelta(seconds=wait),
        )
        .exclude(circuit.paused(now))
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")
        .first()
    )
    if head is None:
        return None
    pk, due = head
    retried[pk] = retried.get(pk, 0) + 1
    pause = (due - timezone.now()).total_seconds()
    if pause > 0:
        time.sleep(pause)
    return pk


def _send(rows, ids, item_id, owner, refresh, handled_ids) -> dict[int, str]:
    """Send one claimed item, or the batch it heads: the claim's other items of its connection,
    entity and operation, topped up with a claim of more of them (engine/batch.py)."""
    row = rows[item_id]
    form = batch_form(row["connection__provider"], row["entity"], row["operation"])
    if form is None:
        return {item_id: outbox_process(item_id=item_id, owner=owner, refresh=refresh)}
    same = (row["connection_id"], row["entity"], row["operation"])
    group = [
        pk
        for pk in ids
        if pk not in handled_ids
        and (rows[pk]["connection_id"], rows[pk]["entity"], rows[pk]["operation"]) == same
    ]
    if len(group) < form.size:
        group += outbox_claim(
            owner=owner,
            limit=form.size - len(group),
            connection_id=row["connection_id"],
            entity=row["entity"],
            operation=row["operation"],
            exclude_ids=handled_ids | set(ids),
        )
    statuses, alone = outbox_process_batch(item_ids=group, owner=owner, refresh=refresh)
    for pk in alone:
        statuses[pk] = outbox_process(item_id=pk, owner=owner, refresh=refresh)
    return statuses


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
