"""Batched pushes: many creates or updates of one connection, entity and operation in one vendor
call, for exporters that declare a `BatchForm` (engine/registry.py). The outbox's guarantees hold
per record, as they do one by one:

- the items were claimed together (one record by one worker, per-record order: outbox_claim);
- documents: a batch holds only the earliest unfinished items of the connection, consecutive
  in queue order; the others wait behind the first one that is not in it;
- creates: every item is marked attempted (uncertain) in one commit, with the batch's
  Idempotency-Key and the exact elements (OutboxBatch), before the call; an uncertain item is
  looked up by our reference (many in one call where the vendor allows) and only those not
  found are sent again, under a new key;
- updates: merged with what the vendor has now before they are sent (engine/refresh.py reads
  it a page at a time); a record held by a conflict is parked, the rest of the batch goes;
- elements and follow-ups may be built for the whole batch at once (BatchForm.payloads,
  after_many: what they share is read once), yet each record fails alone and is finished only
  when its own follow-up succeeded;
- the answer is per element: each record bound, dead-lettered or retried on its own; a call
  that failed as a whole (a 429, credentials refused, a time-out) retries every element later
  by the normal rule, the creates among them looked up first when the call may have arrived;
  a call refused as a whole (a 4xx) sends its elements again one per call, so only a bad one
  is refused; its creates are looked up first, as a vendor may have saved the valid ones.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.sync.engine import circuit, registry, trace
from apps.sync.engine.bindings import binding_mark_gone, binding_mark_synced, bindings_bind_many
from apps.sync.engine.bulk import update_rows
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.context import PushContext
from apps.sync.engine.entities import DOCUMENT_ENTITIES
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.leases import (
    LeaseKeeper,
    LeaseLost,
    finish,
    finish_locked,
    park,
    release,
    retry_later,
    settle_uncertain,
    wait_behind,
)
from apps.sync.engine.matching import review_holding
from apps.sync.engine.recording import RecordHeld, merge_before_push
from apps.sync.engine.records import NoLookupKey, NotFound, Rejected, RemoteRecord, VendorError
from apps.sync.engine.refresh import BaseRefresh
from apps.sync.engine.transport import checked_calls
from apps.sync.models import Binding, Operation, OutboxBatch, OutboxItem, OutboxStatus

UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
FINISHED = (OutboxStatus.DONE, OutboxStatus.DEAD, OutboxStatus.DISCARDED)
DONE_FIELDS = (
    "status",
    "lease_until",
    "last_error",
    "last_http_status",
    "remote_id",
    "finished_at",
)


def batch_form(provider: str, entity: str, operation: str):
    """The exporter's BatchForm when (entity, operation) goes out many per call, else None."""
    if operation not in (Operation.CREATE, Operation.UPDATE):
        return None
    exporter = registry.connector(provider).exporters.get((entity, operation))
    return exporter.batch if exporter is not None else None


class _Batch:
    """The claimed items of one batch, their records and what became of each."""

    def __init__(self, items: list[OutboxItem], refresh: BaseRefresh | None) -> None:
        first = items[0]
        self.connection = first.connection
        self.entity = first.entity
        self.operation = first.operation
        self.owner = first.lease_owner
        self.spec = entity_spec(first.entity)
        self.exporter = registry.connector(self.connection.provider).exporters[
            (first.entity, first.operation)
        ]
        self.form = self.exporter.batch
        self.refresh = refresh
        self.items = items
        self.statuses: dict[int, str] = {}
        self.alone: list[int] = []  # left to the one-by-one path
        self.adapter = adapter_for(self.connection, priority=min(i.priority for i in items))

    def context(self, item: OutboxItem) -> PushContext:
        return PushContext(
            connection=self.connection, adapter=self.adapter, item=item, priority=item.priority
        )

    # --- end states ---------------------------------------------------------------------------
    def failed(self, ctx: PushContext, error: VendorError, was_uncertain: bool) -> None:
        item = ctx.item
        settle_uncertain(item, was_uncertain, error)
        if isinstance(error, (Rejected, NotFound)):
            self.statuses[item.pk] = finish(
                item, OutboxStatus.DEAD, error=str(error), http_status=error.status
            )
            if isinstance(error, NotFound) and ctx.remote_id:
                # Deleted at the vendor: never deleted here; an Admin decides (engine/gone.py).
                binding_mark_gone(
                    connection=self.connection,
                    entity=self.entity,
                    remote_id=ctx.remote_id,
                    reason=f"Not found at the vendor when sending outbox item #{item.pk}: {error}",
                )
        else:
            self.statuses[item.pk] = retry_later(item, error)

    def bind_all(self, done: list[tuple[PushContext, object, RemoteRecord]]) -> None:
        """Bind every answered record in one commit (only items still ours); finish them there
        unless a follow-up must run first."""
        if not done:
            return
        exporter = self.exporter
        with transaction.atomic():
            ours = _still_ours([ctx.item.pk for ctx, _, _ in done], self.owner)
            kept = [entry for entry in done if entry[0].item.pk in ours]
            bases = [exporter.base(record) if exporter.base else {} for _, _, record in kept]
            bindings_bind_many(
                self.connection,
                self.entity,
                [
                    (ctx.item.object_id, record, base)
                    for (ctx, _, record), base in zip(kept, bases, strict=True)
                ],
            )
            for (ctx, _, record), base in zip(kept, bases, strict=True):
                if self.refresh is not None and exporter.base is not None:
                    self.refresh.remember(self.connection.pk, self.entity, record, base)
                ctx.bound, ctx.remote_id = True, record.remote_id
            if exporter.after is None or self.operation != Operation.CREATE:
                self.finish_done(kept)
                kept = []
        for ctx, _, _ in done:
            if ctx.item.pk not in ours:
                self.statuses[ctx.item.pk] = _status(ctx.item.pk)
        if kept and self.form.after_many is not None:
            self.after_all(kept)
            return
        for ctx, obj, record in kept:
            try:
                exporter.after(ctx, obj, record)
            except VendorError as error:
                self.statuses[ctx.item.pk] = retry_later(ctx.item, error)
                continue
            self.statuses[ctx.item.pk] = finish(
                ctx.item, OutboxStatus.DONE, remote_id=record.remote_id
            )

    def after_all(self, kept) -> None:
        """The follow-ups of bound creates in one go (BatchForm.after_many); the items whose
        follow-up succeeded finished in one statement, each other one retried on its own."""
        ctxs = [ctx for ctx, _, _ in kept]
        try:
            errors = self.form.after_many(
                ctxs, [obj for _, obj, _ in kept], [record for _, _, record in kept]
            )
        except VendorError as error:  # the follow-up as a whole: each item retried later
            errors = [error] * len(kept)
        succeeded = []
        for entry, error in zip(kept, errors, strict=True):
            if error is None:
                succeeded.append(entry)
            else:
                self.statuses[entry[0].item.pk] = retry_later(entry[0].item, error)
        if not succeeded:
            return
        with transaction.atomic():
            ours = _still_ours([ctx.item.pk for ctx, _, _ in succeeded], self.owner)
            self.finish_done([entry for entry in succeeded if entry[0].item.pk in ours])
        for ctx, _, _ in succeeded:
            if ctx.item.pk not in ours:
                self.statuses[ctx.item.pk] = _status(ctx.item.pk)

    def finish_done(self, done) -> None:
        """finish_locked(DONE) for many items in one statement; inside the lock's transaction."""
        now = timezone.now()
        rows = []
        for ctx, _, record in done:
            item = ctx.item
            item.status, item.lease_until, item.finished_at = OutboxStatus.DONE, None, now
            item.last_error, item.last_http_status = "", None
            item.remote_id = record.remote_id or item.remote_id
            rows.append({name: getattr(item, name) for name in (*DONE_FIELDS, "pk")})
            self.statuses[item.pk] = OutboxStatus.DONE
        update_rows(OutboxItem, list(DONE_FIELDS), rows)

    # --- the call -----------------------------------------------------------------------------
    def prepare(self, pairs) -> list[tuple[PushContext, object, dict]]:
        """Each record's element; a record whose element cannot be built fails alone."""
        if not pairs:
            return []
        if self.form.payloads is not None:
            built = self.form.payloads([ctx for ctx, _ in pairs], [obj for _, obj in pairs])
        else:
            built = [self._payload(ctx, obj) for ctx, obj in pairs]
        ready = []
        for (ctx, obj), payload in zip(pairs, built, strict=True):
            if isinstance(payload, VendorError):
                self.failed(ctx, payload, ctx.item.uncertain)
            else:
                ready.append((ctx, obj, payload))
        return ready

    def _payload(self, ctx: PushContext, obj) -> dict | VendorError:
        try:
            return self.form.payload(ctx, obj)
        except VendorError as error:
            return error

    def send(self, ready, *, fresh_key: bool) -> None:
        """One call for `ready` (at most the form's size), creates marked attempted first."""
        if not ready:
            return
        if not circuit.closed(self.connection.pk, self.connection.status):
            # An earlier chunk paused the connection: the rest wait without spending attempts.
            for ctx, _, _ in ready:
                self.statuses[ctx.item.pk] = circuit.hold(ctx.item)
            return
        creating = self.operation == Operation.CREATE
        # A batch of one keeps its item's own key; a resend after a lookup found nothing, or
        # many items together, go under a new one.
        key = uuid.uuid4() if fresh_key or len(ready) > 1 else ready[0][0].item.idempotency_key
        was = {ctx.item.pk: ctx.item.uncertain for ctx, _, _ in ready}
        lease_until = timezone.now() + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)
        with transaction.atomic():
            ours = _still_ours(list(was), self.owner)
            if creating:
                OutboxItem.objects.filter(pk__in=ours).update(
                    uncertain=True, lease_until=lease_until
                )
            sent = OutboxBatch.objects.create(
                connection=self.connection,
                entity=self.entity,
                operation=self.operation,
                idempotency_key=key,
                body=[payload for ctx, _, payload in ready if ctx.item.pk in ours],
                item_ids=sorted(ours),
            )
            OutboxBatch.items.through.objects.bulk_create(
                [OutboxBatch.items.through(outboxbatch=sent, outboxitem_id=pk) for pk in ours]
            )
        for ctx, _, _ in ready:
            if ctx.item.pk not in ours:
                self.statuses[ctx.item.pk] = _status(ctx.item.pk)
            elif creating:
                ctx.item.uncertain, ctx.item.lease_until = True, lease_until
        ready = [entry for entry in ready if entry[0].item.pk in ours]
        if not ready:
            return
        ctxs = [ctx for ctx, _, _ in ready]
        keeper = LeaseKeeper([ctx.item.pk for ctx in ctxs], self.owner)
        try:
            # The call is logged under the batch's key, which each item's journal finds; each
            # call leaves only while every item is still ours (transport.checked_calls).
            with circuit.watch(ctxs[0].item) as watched, _traced(key), checked_calls(keeper):
                results = self.form.send_many(ctxs, [payload for _, _, payload in ready], str(key))
        except LeaseLost:
            self.not_sent(ctxs)
            return
        except VendorError as error:  # the call as a whole: each element by the normal rule
            if not watched.paused and len(ready) > 1 and isinstance(error, (Rejected, NotFound)):
                self.send_alone(ready, was, error)
                return
            for ctx in ctxs:
                if watched.paused:  # a connection-level failure spends no attempt
                    settle_uncertain(ctx.item, was[ctx.item.pk], error)
                    self.statuses[ctx.item.pk] = circuit.hold(ctx.item)
                else:
                    self.failed(ctx, error, was[ctx.item.pk])
            return
        done = []
        for (ctx, obj, _), result in zip(ready, results, strict=True):
            if isinstance(result, RemoteRecord):
                done.append((ctx, obj, result))
            else:
                self.failed(ctx, result, was[ctx.item.pk])
        self.bind_all(done)

    def not_sent(self, ctxs: list[PushContext]) -> None:
        """A lease went to another worker before one of the batch's calls (the rate governor
        held it back): what is still ours goes back for a later claim, creates still uncertain
        (an earlier call of the same send may have made them: looked up before they go again)."""
        ids = [ctx.item.pk for ctx in ctxs]
        with transaction.atomic():
            release(sorted(_still_ours(ids, self.owner)), self.owner)
        # One read for the batch's statuses, not one per item.
        self.statuses.update(OutboxItem.objects.filter(pk__in=ids).values_list("pk", "status"))

    def send_alone(self, ready, was: dict[int, bool], error: VendorError) -> None:
        """The vendor refused the call as a whole (one element it could not read made it refuse
        the lot, or a body it could not parse): that says nothing of each element. Each element
        goes again by itself, in order, so only a bad one dies, with its field named; documents
        behind one that did not finish wait for it. Creates are looked up first: some vendors
        save the valid elements of a batch they answer 4xx (Xero does, for a batch sent without
        summarizeErrors), so what was made is bound, never sent twice."""
        pending = {ctx.item.pk for ctx, _, _ in ready}
        if self.operation == Operation.CREATE and not self.exporter.idempotent:
            found, missing = _look_up(self, [(ctx, obj) for ctx, obj, _ in ready])
            self.bind_all(found)
            pending = {ctx.item.pk for ctx, _ in missing}
        else:
            for ctx, _, _ in ready:
                settle_uncertain(ctx.item, was[ctx.item.pk], error)
        blocker = None
        for entry in ready:
            item = entry[0].item
            if blocker is not None:
                if self.statuses.get(item.pk) not in FINISHED:
                    self.statuses[item.pk] = wait_behind(item, blocker)
                continue
            if item.pk in pending:
                self.send([entry], fresh_key=True)
            if self.spec.document and self.statuses.get(item.pk) not in FINISHED:
                blocker = OutboxItem.objects.get(pk=item.pk)


def outbox_process_batch(
    *, item_ids: list[int], owner: str, refresh: BaseRefresh | None = None
) -> tuple[dict[int, str], list[int]]:
    """Send claimed items of one connection, entity and operation in batches; returns each
    item's new status, and the ids left to the one-by-one path (outbox_process)."""
    items = list(
        OutboxItem.objects.select_related("connection__credential")
        .filter(pk__in=item_ids, status=OutboxStatus.IN_FLIGHT, lease_owner=owner)
        .order_by("id")
    )
    statuses = {pk: _status(pk) for pk in set(item_ids) - {item.pk for item in items}}
    if not items:
        return statuses, []
    connection = items[0].connection
    if review_holding(connection.pk) is not None or not circuit.closed(
        connection.pk, connection.status
    ):
        # Under a matching review, or paused by the circuit breaker: the one-by-one path,
        # where each item waits for the review or goes as the probe.
        return statuses, [item.pk for item in items]
    batch = _Batch(items, refresh)
    batch.statuses.update(statuses)
    if batch.spec.document:
        items = _in_queue_order(batch, items)
    objs = batch.spec.model.objects.in_bulk([item.object_id for item in items])
    bound = dict(
        Binding.objects.filter(
            connection=batch.connection,
            entity=batch.entity,
            object_id__in=[item.object_id for item in items],
            remote_id__isnull=False,
        ).values_list("object_id", "remote_id")
    )
    pairs = []
    for item in items:
        obj = objs.get(item.object_id)
        if obj is None:
            batch.statuses[item.pk] = finish(
                item, OutboxStatus.DISCARDED, error="The local record no longer exists."
            )
        elif batch.operation == Operation.CREATE and item.object_id in bound:
            # Made by an earlier attempt: its follow-up, or an update merged first.
            batch.alone.append(item.pk)
        else:
            pairs.append((batch.context(item), obj))
    if batch.operation == Operation.CREATE:
        _creates(batch, pairs)
    else:
        _updates(batch, pairs, bound)
    return batch.statuses, batch.alone


def _creates(batch: _Batch, pairs) -> None:
    exporter, form = batch.exporter, batch.form
    uncertain = [(c, o) for c, o in pairs if c.item.uncertain and not exporter.idempotent]
    certain = [(c, o) for c, o in pairs if not (c.item.uncertain and not exporter.idempotent)]
    found, resend = _look_up(batch, uncertain)
    batch.bind_all(found)
    if not batch.spec.document:
        for chunk in _chunks(batch.prepare(certain), form.size):
            batch.send(chunk, fresh_key=False)
        for chunk in _chunks(batch.prepare(resend), form.size):
            batch.send(chunk, fresh_key=True)
        return
    # Documents go in queue order, the ones sent again (under a new key) among the others, and
    # once one is left unfinished (its lookup, its element or its call failed) the rest wait.
    again = {ctx.item.pk for ctx, _ in resend}
    ready = batch.prepare(sorted(certain + resend, key=lambda pair: pair[0].item.pk))
    for start in range(0, len(ready), max(1, form.size)):
        chunk = ready[start : start + form.size]
        blocker = _first_unfinished(batch, below=chunk[0][0].item.pk)
        if blocker is not None:
            for ctx, _, _ in ready[start:]:
                batch.statuses[ctx.item.pk] = wait_behind(ctx.item, blocker)
            return
        batch.send(chunk, fresh_key=any(ctx.item.pk in again for ctx, _, _ in chunk))


def _first_unfinished(batch: _Batch, *, below: int) -> OutboxItem | None:
    """The earliest of the batch's items before `below` that did not finish (waits, retries)."""
    stuck = [pk for pk, status in batch.statuses.items() if pk < below and status not in FINISHED]
    return OutboxItem.objects.get(pk=min(stuck)) if stuck else None


def _look_up(batch: _Batch, pairs) -> tuple[list, list]:
    """Creates that may have reached the vendor, looked up by our reference (many per call
    where the form can): the records found, to bind, and the pairs found missing, to send again
    under a new key. The others get their end state here (held while the circuit is open,
    retried, or dead when the vendor cannot be searched)."""
    found, missing = [], []
    if not pairs:
        return found, missing
    exporter, form = batch.exporter, batch.form
    ctxs, objs = [c for c, _ in pairs], [o for _, o in pairs]
    try:
        with circuit.watch(ctxs[0].item) as watched:  # circuit breaker: sees the answer
            if form.lookup_many is not None:
                answers = form.lookup_many(ctxs, objs)
            else:
                answers = [_lookup_one(exporter, c, o) for c, o in pairs]
    except VendorError as error:
        for ctx in ctxs:
            batch.statuses[ctx.item.pk] = (
                circuit.hold(ctx.item) if watched.paused else retry_later(ctx.item, error)
            )
        return found, missing
    for (ctx, obj), answer in zip(pairs, answers, strict=True):
        if isinstance(answer, RemoteRecord):
            found.append((ctx, obj, answer))
        elif answer is None:
            missing.append((ctx, obj))
        elif isinstance(answer, NoLookupKey):
            batch.statuses[ctx.item.pk] = finish(ctx.item, OutboxStatus.DEAD, error=str(answer))
        else:
            batch.statuses[ctx.item.pk] = retry_later(ctx.item, answer)
    return found, missing


def _lookup_one(exporter, ctx, obj):
    if exporter.lookup is None:
        return NoLookupKey(
            f"An earlier attempt to create {ctx.item.entity} #{obj.pk} may have reached "
            f"{ctx.connection.get_provider_display()}, which cannot be searched for it: "
            "check the vendor, then bind or requeue this item."
        )
    try:
        return exporter.lookup(ctx, obj)
    except NoLookupKey as error:
        return error


def _updates(batch: _Batch, pairs, bound: dict) -> None:
    spec, exporter = batch.spec, batch.exporter
    bindings = {
        b.object_id: b
        for b in Binding.objects.filter(
            connection=batch.connection,
            entity=batch.entity,
            object_id__in=[obj.pk for _, obj in pairs],
        )
    }
    to_send = []
    for ctx, obj in pairs:
        item = ctx.item
        remote_id = bound.get(obj.pk)
        if not remote_id:
            batch.failed(
                ctx,
                Rejected(f"Nothing to update: the {spec.label} is not bound to a remote record."),
                False,
            )
            continue
        ctx.remote_id = remote_id
        if spec.merged:
            try:
                with circuit.watch(item) as watched:  # circuit breaker: sees the answer
                    remote = (
                        batch.refresh.remote_snapshot(ctx, bindings[obj.pk])
                        if batch.refresh is not None
                        else None
                    )
                    if remote is None and exporter.fetch is not None:
                        remote = exporter.base(exporter.fetch(ctx, remote_id))
                if remote is not None and not merge_before_push(
                    binding=bindings[obj.pk], obj=obj, remote=remote, snapshot=spec.snapshot
                ):
                    # The vendor already has every merged value: nothing to send.
                    with transaction.atomic():
                        if _still_ours([item.pk], batch.owner):
                            binding_mark_synced(batch.connection, batch.entity, obj.pk)
                            batch.statuses[item.pk] = finish_locked(
                                item, OutboxStatus.DONE, remote_id=remote_id
                            )
                        else:
                            batch.statuses[item.pk] = _status(item.pk)
                    continue
            except RecordHeld as error:
                batch.statuses[item.pk] = park(item, error)
                continue
            except VendorError as error:
                if watched.paused:  # a connection-level failure spends no attempt
                    batch.statuses[item.pk] = circuit.hold(item)
                else:
                    batch.failed(ctx, error, False)
                continue
        to_send.append((ctx, obj))
    for chunk in _chunks(batch.prepare(to_send), batch.form.size):
        batch.send(chunk, fresh_key=False)


def _in_queue_order(batch: _Batch, items: list[OutboxItem]) -> list[OutboxItem]:
    """Documents: keep the items that are the connection's earliest unfinished ones, in queue
    order with nothing between them; the rest wait behind the first item not in the batch."""
    by_id = {item.pk: item for item in items}
    earliest = (
        OutboxItem.objects.filter(
            connection_id=batch.connection.pk,
            entity__in=DOCUMENT_ENTITIES,
            status__in=UNFINISHED,
            id__lte=max(by_id),
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    kept, blocker_id = [], None
    for pk in earliest:
        if pk not in by_id:
            blocker_id = pk
            break
        kept.append(by_id[pk])
    if blocker_id is not None:
        blocker = OutboxItem.objects.get(pk=blocker_id)
        for item in items:
            if item not in kept:
                batch.statuses[item.pk] = wait_behind(item, blocker)
    return kept


def _traced(correlation_id: uuid.UUID):
    """The batch's vendor calls carry its key as correlation id, and the current source."""
    current = trace.current()
    return trace.tracing(correlation_id=correlation_id, source=current.source if current else "")


def _still_ours(ids: list[int], owner: str) -> set[int]:
    """Lock the items and return those we still hold; call inside a transaction."""
    return set(
        OutboxItem.objects.select_for_update()
        .filter(pk__in=ids, status=OutboxStatus.IN_FLIGHT, lease_owner=owner)
        .values_list("pk", flat=True)
    )


def _status(pk: int) -> str:
    return OutboxItem.objects.filter(pk=pk).values_list("status", flat=True).first() or ""


def _chunks(rows: list, size: int):
    for start in range(0, len(rows), max(1, size)):
        yield rows[start : start + size]
