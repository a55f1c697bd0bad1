"""What happens to our documents in Zoho Books comes back: invoices paid or voided there are
paid or voided here, through the invoices' own services (pulled by modified time, and applied
when a Books invoice webhook arrives). Never echoed back."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.pull import PullStopped, check_paging
from apps.sync.engine.quarantine import quarantine_store
from apps.sync.engine.records import MalformedAnswer, RemoteRecord
from apps.sync.models import (
    Binding,
    Connection,
    Direction,
    Entity,
    RunStatus,
    SyncCursor,
    SyncRun,
)


def invoice_apply_remote(*, invoice: Invoice, record: RemoteRecord) -> str | None:
    """An invoice paid or voided in Books is paid or voided here; returns what changed."""
    status = record.data.get("status")
    with applying_remote_changes():
        if status == "paid" and invoice.status in Invoice.OPEN_STATUSES and invoice.balance > 0:
            invoice_services.payment_record(
                invoice=invoice,
                amount=invoice.balance,
                mode=Payment.Mode.OTHER,
                reference=f"Zoho Books {record.number}"[:100],
            )
            return "paid"
        if status == "void" and invoice.status != Invoice.Status.VOID:
            invoice_services.invoice_void(invoice=invoice)
            return "void"
    return None


def invoices_pull(
    *, connection: Connection, dry_run: bool = False, run: SyncRun | None = None
) -> SyncRun:
    """Books invoices modified since the cursor, applied to the local invoices bound to them."""
    if dry_run:  # a plan writes nothing, not even a first cursor
        cursor = SyncCursor.objects.filter(connection=connection, entity=Entity.INVOICES).first()
        cursor = cursor or SyncCursor(connection=connection, entity=Entity.INVOICES)
    else:
        cursor, _ = SyncCursor.objects.get_or_create(connection=connection, entity=Entity.INVOICES)
    run = run or SyncRun(connection=connection, entity=Entity.INVOICES)
    run.direction, run.status, run.dry_run = Direction.PULL, RunStatus.RUNNING, dry_run
    if not dry_run:
        run.save()
    adapter = adapter_for(connection, run_id=run.pk)
    since = None
    if cursor.modified_at:
        since = cursor.modified_at - timedelta(seconds=settings.SYNC_PULL_OVERLAP_SECONDS)
    newest = cursor.modified_at
    try:
        newest, quarantined = _invoice_pages(run, connection, adapter, since, newest, dry_run)
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
    run.status = RunStatus.PARTIAL if quarantined else RunStatus.SUCCEEDED
    if quarantined:
        run.last_error = f"{quarantined} invoice(s) failed the vendor schema and were quarantined."
    run.finished_at = timezone.now()
    run.requests = adapter.client.context.request_count
    if not dry_run:
        with transaction.atomic():
            if newest:
                SyncCursor.objects.filter(pk=cursor.pk).update(modified_at=newest)
            run.save()
    return run


def _invoice_pages(run, connection, adapter, since, newest, dry_run):
    page: int | None = 1
    paging: dict = {}
    quarantined = 0
    while page is not None:
        result = adapter.list_page("invoices", page=page, modified_since=since)
        check_paging(run, result, paging)
        if result.rejected and not dry_run:
            quarantined += quarantine_store(
                connection=connection, entity=Entity.INVOICES, bad=result.rejected, run_id=run.pk
            )
        run.pages += 1
        run.records += len(result.records)
        bindings = dict(
            Binding.objects.filter(
                connection=connection,
                entity=Entity.INVOICES,
                remote_id__in=[r.remote_id for r in result.records],
            ).values_list("remote_id", "object_id")
        )
        invoices = Invoice.objects.in_bulk(list(bindings.values()))
        for record in result.records:
            if record.modified_at and (newest is None or record.modified_at > newest):
                newest = record.modified_at
            invoice = invoices.get(bindings.get(record.remote_id))
            if invoice is None:
                run.unchanged += 1
                continue
            with transaction.atomic():
                changed = invoice_apply_remote(invoice=invoice, record=record)
                if dry_run:
                    transaction.set_rollback(True)
            if changed:
                run.updated += 1
            else:
                run.unchanged += 1
        page = result.next_page
    return newest, quarantined
