"""What happens to our documents in Zoho Books comes back: invoices paid or voided there are
paid or voided here, through the invoices' own services (pulled by modified time, and applied
when a Books invoice webhook arrives). Never echoed back."""

from django.db import transaction

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.pull import check_paging, documents_pull_run
from apps.sync.engine.quarantine import quarantine_store
from apps.sync.engine.records import RemoteRecord
from apps.sync.models import (
    Binding,
    Connection,
    Entity,
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
    return documents_pull_run(
        connection=connection,
        entity=Entity.INVOICES,
        dry_run=dry_run,
        run=run,
        pages=lambda run, adapter, since: _invoice_pages(
            run, connection, adapter, since, None, dry_run
        ),
        noun="invoice",
    )


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
