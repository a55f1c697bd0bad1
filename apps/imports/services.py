"""Running an import: read the file, plan every row (what the preview shows, writing nothing),
then write the same plan through the owning apps' services in one transaction, and report it
as the summary the CLI prints and the admin shows."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core.errors import ApplicationError

from .entities import CREATE, ENTITIES, ERROR, SKIP, UNCHANGED, UPDATE, ImportEntity, Row
from .files import Sheet, sheet_read

Progress = Callable[[int, int], None]


@dataclass
class Plan:
    entity: ImportEntity
    sheet: Sheet
    rows: list[Row]
    ignored: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def errors(self) -> list[Row]:
        return [row for row in self.rows if row.action == ERROR]


@dataclass
class Outcome:
    """What an import did (or, dry, would do): the plan and whether anything was written."""

    plan: Plan
    dry_run: bool
    written: bool
    file_name: str

    def summary(self) -> dict:
        """The JSON summary: counts of what was written (a dry run: of what would be, for the
        valid rows), and every error with its row and column."""
        plan = self.plan
        counted = self.written or self.dry_run
        return {
            "entity": plan.entity.name,
            "rows": len(plan.rows),
            "created": plan.count(CREATE) if counted else 0,
            "updated": plan.count(UPDATE) if counted else 0,
            "unchanged": plan.count(UNCHANGED) if counted else 0,
            "skipped": plan.count(SKIP),
            "errors": [
                {"row": row.number, "field": column, "message": message}
                for row in plan.errors
                for column, message in row.errors
            ],
            "dry_run": self.dry_run,
        }


def entity_for(name: str) -> type[ImportEntity]:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ApplicationError(
            f"“{name}” cannot be imported; choose one of: {', '.join(ENTITIES)}.",
            extra={"entity": name},
        ) from None


def import_check_permission(*, user, entity_name: str) -> None:
    """Agents import clients only; Admins everything (the imports app's permissions)."""
    entity = entity_for(entity_name)
    if user is None or not user.is_active or not user.has_perm(entity.permission()):
        who = getattr(user, "email", "Nobody")
        raise PermissionDenied(f"{who} may not import {entity.label}.")


def import_reason(*, file_name: str, actor) -> str:
    """The change reason history keeps for every record an import writes."""
    who = getattr(actor, "email", "") or "the command line"
    return f"Import of “{file_name}” by {who}"[:100]


def import_plan(
    *,
    entity_name: str,
    sheet: Sheet,
    lock: bool = False,
    progress: Progress | None = None,
) -> Plan:
    """What each row would do: create, update (with the changes), unchanged, skip or error.
    Reads only (with `lock`, the matched records are locked for the write that follows)."""
    entity = entity_for(entity_name)()
    entity.progress = progress
    bound, ignored = entity.bind(sheet.headers)
    rows = [
        Row(number=number, record=record, cells=entity.cells(record, bound))
        for number, record in zip(sheet.numbers, sheet.rows, strict=True)
    ]
    if progress:
        progress(0, len(rows))
    entity.prepare(rows, lock=lock)
    return Plan(entity=entity, sheet=sheet, rows=rows, ignored=ignored)


def import_run(
    *,
    entity_name: str,
    content: bytes,
    file_name: str,
    actor,
    file_format: str | None = None,
    dry_run: bool = False,
    valid_rows: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Import a file as `actor`, who must hold the entity's import permission.

    A dry run plans and writes nothing at all. Otherwise the rows are planned again against
    the records as they are now (locked) and written in one transaction: by default one bad row
    imports nothing; with `valid_rows` the valid rows are written and the bad ones reported.
    """
    import_check_permission(user=actor, entity_name=entity_name)
    sheet = sheet_read(content=content, file_name=file_name, file_format=file_format)
    if dry_run:
        plan = import_plan(entity_name=entity_name, sheet=sheet, progress=progress)
        return Outcome(plan=plan, dry_run=True, written=False, file_name=file_name)
    reason = import_reason(file_name=file_name, actor=actor)
    try:
        with transaction.atomic():
            plan = import_plan(entity_name=entity_name, sheet=sheet, lock=True, progress=progress)
            if plan.errors and not valid_rows:
                return Outcome(plan=plan, dry_run=False, written=False, file_name=file_name)
            plan.entity.write(plan.rows, actor=actor, reason=reason, all_or_nothing=not valid_rows)
    except ValidationError:
        # A row refused at write time (changed since it was planned); the entity named it on
        # the row, and the transaction undid everything.
        return Outcome(plan=plan, dry_run=False, written=False, file_name=file_name)
    return Outcome(plan=plan, dry_run=False, written=True, file_name=file_name)


def import_failed_rows_csv(plan: Plan) -> str:
    """The failed rows as they were in the file, with the row number and an Error column, so
    that they can be fixed and imported again."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Row", *plan.sheet.headers, "Error"])
    for row in plan.errors:
        message = "; ".join(f"{column}: {text}" for column, text in row.errors)
        writer.writerow([row.number, *(_safe(value) for value in row.record), message])
    return out.getvalue()


def _safe(value) -> str:
    from .exports import neutralise

    return neutralise(value)


# --- imports that run as a task -----------------------------------------------------------------
def _progress_key(job_id: int) -> str:
    return f"imports:job:{job_id}:progress"


def import_job_progress(*, job) -> tuple[int, int]:
    """Rows done of total: live from the cache while the task runs (its writes are inside one
    transaction, invisible until the end), else as the job row last recorded them."""
    from django.core.cache import cache

    live = cache.get(_progress_key(job.pk)) if job.status == job.Status.RUNNING else None
    return tuple(live) if live else (job.rows_done, job.rows_total)


def import_job_create(
    *,
    entity_name: str,
    content: bytes,
    file_name: str,
    actor,
    rows_total: int,
    file_format: str | None = None,
    valid_rows: bool = False,
):
    """Keep the file and queue its import as a task (after commit); the job shows progress."""
    from django_q.tasks import async_task

    from .models import ImportJob

    import_check_permission(user=actor, entity_name=entity_name)
    job = ImportJob.objects.create(
        entity=entity_name,
        file_name=file_name[:255],
        file_format=file_format or "",
        content=content,
        valid_rows=valid_rows,
        rows_total=rows_total,
        created_by=actor,
    )
    transaction.on_commit(lambda: async_task("apps.imports.tasks.import_job_run_task", job.pk))
    return job


def import_job_run(*, job_id: int) -> None:
    """Run a queued job once (a second delivery of the task finds it no longer queued)."""
    from django.core.cache import cache
    from django.utils import timezone

    from .models import ImportJob

    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)

    def progress(done: int, total: int) -> None:
        cache.set(_progress_key(job.pk), (done, total), 3600)

    try:
        outcome = import_run(
            entity_name=job.entity,
            content=bytes(job.content),
            file_name=job.file_name,
            actor=job.created_by,
            file_format=job.file_format or None,
            valid_rows=job.valid_rows,
            progress=progress,
        )
    except (ApplicationError, PermissionDenied) as error:
        job.status, job.message = ImportJob.Status.FAILED, str(getattr(error, "message", error))
    else:
        job.summary = outcome.summary()
        job.rows_total = job.rows_done = len(outcome.plan.rows)
        job.failed_rows_csv = import_failed_rows_csv(outcome.plan) if outcome.plan.errors else ""
        job.status = ImportJob.Status.DONE if outcome.written else ImportJob.Status.FAILED
        job.message = outcome_message(outcome)
    job.content = b""
    job.finished_at = timezone.now()
    job.save()
    cache.delete(_progress_key(job.pk))


def outcome_message(outcome: Outcome) -> str:
    """One sentence for the admin: what was imported, or why nothing was."""
    summary = outcome.summary()
    label = outcome.plan.entity.label
    counts = (
        f"{summary['created']} created, {summary['updated']} updated, "
        f"{summary['unchanged']} unchanged, {summary['skipped']} skipped"
    )
    failed = len(outcome.plan.errors)
    if outcome.dry_run:
        return f"Preview of {summary['rows']} rows of {label}: {counts}, {failed} with errors."
    if outcome.written:
        left_out = f"; {failed} rows with errors left out" if failed else ""
        return f"Imported {label} from “{outcome.file_name}”: {counts}{left_out}."
    return (
        f"Nothing was imported from “{outcome.file_name}”: {failed} of {summary['rows']} rows "
        "have errors. Fix them, or choose to import the valid rows."
    )
