"""Pulls: page by page from the vendor into local rows, incremental by remote modified time
with an overlap, checkpointed in the SyncRun after every committed page so a killed run resumes
where it stopped; the cursor moves only when the whole run has been applied."""

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.errors import ApplicationError
from apps.sync import binder
from apps.sync.adapters.base import Page
from apps.sync.backends import adapter_for
from apps.sync.mappers import clients as client_mappers
from apps.sync.mappers import services as service_mappers
from apps.sync.models import (
    Connection,
    Direction,
    Entity,
    Provider,
    RunStatus,
    SyncCursor,
    SyncRun,
)


@dataclass(frozen=True)
class PullSpec:
    resource: str
    mapper: Callable


PULL_SPECS = {
    (Provider.ZOHO_BOOKS, Entity.CLIENTS): PullSpec("contacts", client_mappers.from_zoho_books),
    (Provider.ZOHO_BOOKS, Entity.SERVICES): PullSpec("items", service_mappers.from_zoho_books),
    (Provider.XERO, Entity.CLIENTS): PullSpec("contacts", client_mappers.from_xero),
    (Provider.XERO, Entity.SERVICES): PullSpec("items", service_mappers.from_xero),
    (Provider.ZOHO_CRM, Entity.CLIENTS): PullSpec("contacts", client_mappers.from_zoho_crm),
}


def pull_entities(provider: str) -> list[str]:
    from apps.sync.flows import PULLERS

    return [entity for (p, entity) in [*PULL_SPECS, *PULLERS] if p == provider]


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
) -> SyncRun:
    from apps.sync.flows import PULLERS

    if (connection.provider, entity) in PULLERS:
        return PULLERS[(connection.provider, entity)](connection=connection, dry_run=dry_run)
    spec = PULL_SPECS.get((connection.provider, entity))
    if spec is None:
        raise ApplicationError(f"{connection.get_provider_display()} has no pull for {entity}.")

    cursor, _ = SyncCursor.objects.get_or_create(connection=connection, entity=entity)
    previous = None if dry_run else _interrupted_run(connection, entity)
    if previous is not None:
        checkpoint = dict(previous.checkpoint)
        run = previous
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
        run = SyncRun(
            connection=connection,
            entity=entity,
            direction=Direction.PULL,
            dry_run=dry_run,
            checkpoint=checkpoint,
        )
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
            # Records the vendor's filter let through although older than `since` are dropped;
            # a vendor that ignores the filter must not cost a write per record (notes §2.5).
            mapped = [
                (record, spec.mapper(record))
                for record in page.records
                if since is None or record.modified_at is None or record.modified_at >= since
            ]
            if entity == Entity.SERVICES:
                from apps.sync.flows import services_keep_pulled

                mapped = services_keep_pulled(connection=connection, mapped=mapped)
            page_number, token = page.next_page, page.next_token
            _apply(
                run,
                connection,
                entity,
                mapped,
                len(page.records),
                page_number,
                token,
                checkpoint,
                dry_run,
            )
            if on_progress:
                on_progress(run)
    except Exception as error:
        if not dry_run:
            # Left RUNNING with its checkpoint: the next run resumes it from the last page.
            SyncRun.objects.filter(pk=run.pk).update(
                last_error=str(error)[:2000], requests=run.requests
            )
        raise
    run.status = RunStatus.SUCCEEDED
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


def _apply(run, connection, entity, mapped, fetched, next_page, next_token, checkpoint, dry_run):
    with transaction.atomic():
        result = binder.apply_page(connection=connection, entity=entity, mapped=mapped)
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
