"""The pull runner: page by page from the vendor into local rows, incremental by remote modified
time with an overlap, checkpointed in the SyncRun after every committed page so a killed run
resumes where it stopped; the cursor moves only when the whole run has been applied."""

import hashlib
import json
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.errors import ApplicationError
from apps.sync.engine import circuit, importer, registry, trace
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.matching import hold_message, review_holding
from apps.sync.engine.quarantine import quarantine_store
from apps.sync.engine.records import BadRecord, MalformedAnswer, Page
from apps.sync.models import Connection, Direction, RunStatus, SyncCursor, SyncRun


class ReviewPending(ApplicationError):
    """The connection's first sync waits for an Admin's matching review: nothing is pulled."""


class ConnectionPaused(ApplicationError):
    """The connection's circuit is open (the vendor down, or credentials refused): a pull
    waits for the probe, as the outbox does, instead of hammering the vendor."""


class PullStopped(ApplicationError):
    """The vendor's paging went wrong (the same page again, or past the page cap): the run ends
    failed rather than spend the day's budget on a loop."""


def _page_digest(page: Page) -> str:
    """What a page holds: two pages in a row with the same digest mean the vendor is looping."""
    content = [
        (record.remote_id, record.modified_at.isoformat() if record.modified_at else None)
        for record in page.records
    ]
    return hashlib.sha256(json.dumps([content, page.next_token]).encode()).hexdigest()


def check_paging(run: SyncRun, page: Page, checkpoint: dict) -> None:
    """Raise PullStopped when the vendor's paging loops (used by connectors' own pulls too)."""
    digest = _page_digest(page)
    if digest == checkpoint.get("last_page_digest"):
        raise PullStopped(
            f"The vendor answered the same page twice (after page {run.pages}) while saying "
            "there are more: the pull stopped instead of looping."
        )
    checkpoint["last_page_digest"] = digest
    if run.pages + 1 > settings.SYNC_PULL_MAX_PAGES:
        raise PullStopped(
            f"The pull passed {settings.SYNC_PULL_MAX_PAGES} pages (SYNC_PULL_MAX_PAGES) and the "
            "vendor still says there are more: stopped."
        )


def pull_entities(provider: str) -> list[str]:
    return list(registry.connector(provider).pulls)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: only the heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _interrupted_run(connection: Connection, entity: str) -> SyncRun | None:
    """The unfinished pull to resume: its process is gone, or its heartbeat has gone quiet."""
    run = (
        SyncRun.objects.filter(
            connection=connection,
            entity=entity,
            direction=Direction.PULL,
            status=RunStatus.RUNNING,
            dry_run=False,
        )
        .order_by("-id")
        .first()
    )
    if run is None:
        return None
    stale = timezone.now() - timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS)
    alive = _owner_alive(run.checkpoint.get("owner", "")) and (
        run.heartbeat_at is None or run.heartbeat_at > stale
    )
    if alive and run.checkpoint.get("owner") != _owner():
        raise ApplicationError(
            f"A pull of {entity} on {connection} is already running (run #{run.pk})."
        )
    return run


def pull(
    *,
    connection: Connection,
    entity: str,
    dry_run: bool = False,
    on_progress: Callable[[SyncRun], None] | None = None,
    queued_run: SyncRun | None = None,
    detail: list | None = None,
) -> SyncRun:
    """Pull `entity` from `connection` now, resuming an interrupted run if there is one.
    `queued_run` is a run row made when the pull was requested (sync_run_request): it becomes
    this run, or, when an interrupted run is resumed instead, says so. `detail` collects what
    each record would do (with `dry_run`: `sync plan`).

    A pull feeds the connection's circuit breaker as a push does: a connection-level failure
    (5xx, unreachable, credentials refused) counts towards opening it, an answer closes it;
    while it is open the pull waits (ConnectionPaused) unless it may go as the due probe."""
    if dry_run:  # a plan, asked for by an Admin: one read, not counted
        return _pull(connection, entity, dry_run, on_progress, queued_run, detail)
    owner = f"pull:{uuid.uuid4().hex[:16]}"
    if not circuit.admits_connection(connection, owner):
        raise ConnectionPaused(
            f"{connection} is {circuit.connection_pause_label(connection) or 'paused'}: "
            "its pulls wait until the vendor answers a probe."
        )
    with circuit.watch_calls(connection.pk, owner):
        return _pull(connection, entity, dry_run, on_progress, queued_run, detail)


def _pull(connection, entity, dry_run, on_progress, queued_run, detail) -> SyncRun:
    spec = registry.connector(connection.provider).pulls.get(entity)
    if spec is None:
        raise ApplicationError(f"{connection.get_provider_display()} has no pull for {entity}.")
    review = review_holding(connection.pk)
    if review is not None and not dry_run:
        raise ReviewPending(hold_message(review))
    if spec.run is not None:
        return spec.run(connection=connection, dry_run=dry_run, run=queued_run)

    if dry_run:  # a plan writes nothing, not even a first cursor
        cursor = SyncCursor.objects.filter(connection=connection, entity=entity).first()
        cursor = cursor or SyncCursor(connection=connection, entity=entity)
    else:
        cursor, _ = SyncCursor.objects.get_or_create(connection=connection, entity=entity)
    previous = None if dry_run else _interrupted_run(connection, entity)
    if previous is not None:
        checkpoint = dict(previous.checkpoint)
        run = previous
        if queued_run is not None:
            queued_run.status = RunStatus.RESUMED
            queued_run.last_error = f"Continued the interrupted run #{previous.pk}."
            queued_run.finished_at = timezone.now()
            queued_run.save(update_fields=["status", "last_error", "finished_at"])
    else:
        since = None
        if cursor.modified_at:
            since = cursor.modified_at - timedelta(seconds=settings.SYNC_PULL_OVERLAP_SECONDS)
        checkpoint = {
            "since": since.isoformat() if since else None,
            "next_page": 1,
            "next_token": None,
            "max_modified": cursor.modified_at.isoformat() if cursor.modified_at else None,
        }
        checkpoint["owner"] = _owner()
        run = queued_run or SyncRun(connection=connection, entity=entity)
        run.direction = Direction.PULL
        run.status = RunStatus.RUNNING
        run.dry_run = dry_run
        run.checkpoint = checkpoint
        if not dry_run:
            run.save()
    checkpoint["owner"] = _owner()

    adapter = adapter_for(connection, run_id=run.pk)
    since = parse_datetime(checkpoint["since"]) if checkpoint.get("since") else None
    page_number: int | None = checkpoint.get("next_page") or 1
    token = checkpoint.get("next_token")
    context = adapter.client.context
    requests_before = run.requests

    def count_requests() -> None:
        run.requests = requests_before + context.request_count

    context.on_request.append(count_requests)
    try:
        while page_number is not None or token:
            kwargs = {"page": page_number or 1, "modified_since": since}
            if token:
                kwargs["page_token"] = token
            page: Page = adapter.list_page(spec.resource, **kwargs)
            check_paging(run, page, checkpoint)
            # Records the vendor's filter let through although older than `since` are dropped;
            # a vendor that ignores the filter must not cost a write per record (notes §2.5).
            mapped, bad = _map(
                spec.mapper,
                [
                    record
                    for record in page.records
                    if since is None or record.modified_at is None or record.modified_at >= since
                ],
            )
            bad = page.rejected + bad
            mapped = importer.keep_pulled(connection=connection, entity=entity, mapped=mapped)
            page_number, token = page.next_page, page.next_token
            _apply(
                run,
                connection,
                entity,
                mapped,
                len(page.records) + len(page.rejected),
                page_number,
                token,
                checkpoint,
                dry_run,
                bad,
                detail,
            )
            if on_progress:
                on_progress(run)
    except (PullStopped, MalformedAnswer) as error:
        # Resuming would meet the same answer again: the run ends failed, its cursor unmoved,
        # the reason kept (the pages before it stay applied).
        run.status = RunStatus.FAILED
        run.last_error = error.message
        run.finished_at = timezone.now()
        if not dry_run:
            SyncRun.objects.filter(pk=run.pk).update(
                status=run.status,
                last_error=run.last_error,
                finished_at=run.finished_at,
                requests=run.requests,
            )
        raise
    except Exception as error:
        if not dry_run:
            # Left RUNNING with its checkpoint: the next run resumes it from the last page.
            SyncRun.objects.filter(pk=run.pk).update(
                last_error=str(error)[:2000], requests=run.requests
            )
        raise
    run.status = RunStatus.SUCCEEDED
    quarantined = checkpoint.get("quarantined", 0)
    if quarantined:
        run.status = RunStatus.PARTIAL
        run.last_error = (
            f"{quarantined} record(s) failed the vendor schema and were quarantined (Sync → "
            f"Quarantined records): {checkpoint.get('first_quarantine_reason', '')}"
        )[:2000]
    run.finished_at = timezone.now()
    if not dry_run:
        with transaction.atomic():
            max_modified = checkpoint.get("max_modified")
            if max_modified:
                SyncCursor.objects.filter(pk=cursor.pk).update(
                    modified_at=_cursor_after(checkpoint, run)
                )
            run.save()
    return run


def _cursor_after(checkpoint: dict, run: SyncRun):
    """Where the next pull starts: the latest change applied, but no later than the earliest
    record refused (so it is fetched again once fixed) nor than the start of this run (a change
    the vendor stamps later than it was listed is not skipped)."""
    cursor = parse_datetime(checkpoint["max_modified"])
    if checkpoint.get("min_refused"):
        cursor = min(cursor, parse_datetime(checkpoint["min_refused"]))
    if run.started_at:
        cursor = min(cursor, run.started_at)
    return cursor


def _map(mapper, records) -> tuple[list, list[BadRecord]]:
    """Each record through the connector's mapper; one the mapper cannot read is quarantined."""
    mapped, bad = [], []
    for record in records:
        try:
            mapped.append((record, mapper(record)))
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as error:
            bad.append(BadRecord(record.remote_id, f"unreadable: {error}", record.data))
    return mapped, bad


def _apply(
    run,
    connection,
    entity,
    mapped,
    fetched,
    next_page,
    next_token,
    checkpoint,
    dry_run,
    bad=(),
    detail=None,
):
    with transaction.atomic():
        result = importer.apply_page(
            connection=connection,
            entity=entity,
            mapped=mapped,
            detail=detail,
            reason=trace.pull_source(run.pk),
        )
        if bad:
            # Quarantined with the page they came on; they count as handled for the cursor
            # (DESIGN.md), so one bad record never stalls the pull.
            quarantine_store(connection=connection, entity=entity, bad=list(bad), run_id=run.pk)
            checkpoint["quarantined"] = checkpoint.get("quarantined", 0) + len(bad)
            checkpoint.setdefault(
                "first_quarantine_reason", f"{bad[0].remote_id or '(no id)'}: {bad[0].reason}"
            )
        if result.max_modified is not None:
            current = checkpoint.get("max_modified")
            if current is None or result.max_modified > parse_datetime(current):
                checkpoint["max_modified"] = result.max_modified.isoformat()
        if result.min_refused is not None:
            current = checkpoint.get("min_refused")
            if current is None or result.min_refused < parse_datetime(current):
                checkpoint["min_refused"] = result.min_refused.isoformat()
        checkpoint["next_page"] = next_page
        checkpoint["next_token"] = next_token
        run.pages += 1
        run.records += fetched
        run.created += result.created
        run.updated += result.updated
        run.linked += result.linked
        run.unchanged += result.unchanged
        run.conflicts += result.conflicts
        run.errors += result.errors
        if result.error_messages:
            run.last_error = "\n".join(result.error_messages)[-2000:]
        run.checkpoint = checkpoint
        run.heartbeat_at = timezone.now()
        if dry_run:
            transaction.set_rollback(True)
        else:
            # The checkpoint commits with the page it describes: never ahead, never behind.
            run.save()


def documents_pull_run(
    *,
    connection: Connection,
    entity: str,
    dry_run: bool,
    run: SyncRun | None,
    pages: Callable,
    noun: str = "record",
) -> SyncRun:
    """A connector's own pull of documents (PullSpec.run): the cursor, the run row, the overlap
    before the cursor, a failed run kept with its reason, and the cursor moved only after the
    whole pass. A dry run (a plan) writes nothing, not even a first cursor.

    `pages(run, adapter, since)` reads and applies the vendor's pages and returns (the newest
    modified time seen, how many records were quarantined)."""
    if dry_run:
        cursor = SyncCursor.objects.filter(connection=connection, entity=entity).first()
        cursor = cursor or SyncCursor(connection=connection, entity=entity)
    else:
        cursor, _ = SyncCursor.objects.get_or_create(connection=connection, entity=entity)
    run = run or SyncRun(connection=connection, entity=entity)
    run.direction, run.status, run.dry_run = Direction.PULL, RunStatus.RUNNING, dry_run
    if not dry_run:
        run.save()
    adapter = adapter_for(connection, run_id=run.pk)
    since = None
    if cursor.modified_at:
        since = cursor.modified_at - timedelta(seconds=settings.SYNC_PULL_OVERLAP_SECONDS)
    try:
        newest, quarantined = pages(run, adapter, since)
    except (PullStopped, MalformedAnswer) as error:
        # The same answer would come again on a retry: the run ends failed with the reason.
        run.status, run.last_error, run.finished_at = (
            RunStatus.FAILED,
            error.message,
            timezone.now(),
        )
        if not dry_run:
            run.save()
        raise
    newest = max(filter(None, [newest, cursor.modified_at]), default=None)
    run.status = RunStatus.PARTIAL if quarantined else RunStatus.SUCCEEDED
    if quarantined:
        run.last_error = f"{quarantined} {noun}(s) failed the vendor schema and were quarantined."
    run.finished_at = timezone.now()
    run.requests = adapter.client.context.request_count
    if not dry_run:
        with transaction.atomic():
            if newest:
                SyncCursor.objects.filter(pk=cursor.pk).update(modified_at=newest)
            run.save()
    return run
