"""What happens to our documents in Xero comes back, through the domain services and never
echoed back: a quote accepted or declined there is accepted or rejected here; a payment made
there against our invoice is recorded here (and bound, so it is not pushed back); an invoice
voided there is void here. Pulled by If-Modified-Since with the largest page each endpoint
takes, and applied when a Xero invoice webhook arrives (webhooks.py)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sync.engine.bindings import binding_bind, binding_mark_gone
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.entities import payment_reference
from apps.sync.engine.pull import check_paging, documents_pull_run
from apps.sync.engine.quarantine import quarantine_store
from apps.sync.engine.records import RemoteRecord
from apps.sync.models import (
    Binding,
    Connection,
    Entity,
    SyncRun,
)

from .dates import parse_xero_time

# Xero quote status -> our move (Quote.Status the service makes). A quote invoiced in Xero was
# accepted there; its invoice is Xero's to keep (it is not made here).
QUOTE_MOVES = {
    "ACCEPTED": Quote.Status.ACCEPTED,
    "INVOICED": Quote.Status.ACCEPTED,
    "DECLINED": Quote.Status.REJECTED,
}


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def quote_apply_remote(*, quote: Quote, record: RemoteRecord) -> str | None:
    """A quote accepted (or invoiced) or declined in Xero is accepted or rejected here, while
    it is sent here."""
    target = QUOTE_MOVES.get(record.data.get("Status"))
    if target is None or quote.status != Quote.Status.SENT:
        return None
    with applying_remote_changes():
        if target == Quote.Status.ACCEPTED:
            quote_services.quote_accept(quote=quote)
            return "accepted"
        quote_services.quote_reject(quote=quote)
        return "rejected"


def _payment_date(data: dict):
    moment = parse_xero_time(data.get("Date"))
    today = timezone.localdate()
    return min(moment.date(), today) if moment else today


def invoice_apply_remote(
    *, connection: Connection, invoice: Invoice, record: RemoteRecord
) -> str | None:
    """Payments made in Xero are recorded here, one for each Xero payment not bound yet (ours
    come back bound, or found by the reference we gave them); a voided invoice is voided.
    Returns what changed."""
    data = record.data
    changed = []
    remote_ids = [str(p.get("PaymentID") or "") for p in data.get("Payments") or []]
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=Entity.PAYMENTS, remote_id__in=remote_ids
        ).values_list("remote_id", flat=True)
    )
    ours = {payment_reference(p): p for p in invoice.payments.all()}
    with applying_remote_changes():
        for remote in data.get("Payments") or []:
            remote_id = str(remote.get("PaymentID") or "")
            if not remote_id or remote_id in bound:
                continue
            reference = str(remote.get("Reference") or "")
            mine = ours.get(reference.split(" ", 1)[0])
            if mine is None:
                invoice.refresh_from_db()
                amount = _money(remote.get("Amount"))
                if invoice.status not in Invoice.OPEN_STATUSES or not 0 < amount <= invoice.balance:
                    continue  # nothing owed here any more: the difference shows in the totals
                mine = invoice_services.payment_record(
                    invoice=invoice,
                    amount=amount,
                    date=_payment_date(remote),
                    mode=Payment.Mode.OTHER,
                    reference=(reference or f"Xero {record.number}")[:100],
                )
                changed.append(f"payment {amount}")
            # Bound either way: a payment made there is never pushed back, ours never re-read.
            binding_bind(
                connection,
                Entity.PAYMENTS,
                mine.pk,
                record=RemoteRecord(
                    remote_id=remote_id,
                    number=reference[:100],
                    modified_at=parse_xero_time(remote.get("UpdatedDateUTC")),
                    data=remote,
                ),
            )
        invoice.refresh_from_db()
        if data.get("Status") == "VOIDED" and invoice.status != Invoice.Status.VOID:
            try:
                invoice_services.invoice_void(invoice=invoice)
                changed.append("void")
            except ValidationError:
                pass  # paid here: voiding is refused, and the totals comparison shows it
    return ", ".join(changed) or None


def _apply_quote(connection, quote, record) -> str | None:
    return quote_apply_remote(quote=quote, record=record)


def _apply_invoice(connection, invoice, record) -> str | None:
    return invoice_apply_remote(connection=connection, invoice=invoice, record=record)


DOCUMENT_PULLS = {
    Entity.QUOTES: ("quotes", Quote, _apply_quote),
    Entity.INVOICES: ("invoices", Invoice, _apply_invoice),
}


def record_apply(*, connection: Connection, entity: str, record: RemoteRecord) -> str | None:
    """Apply one Xero quote or invoice to the local document bound to it; None if not ours."""
    _, model, apply = DOCUMENT_PULLS[entity]
    object_id = (
        Binding.objects.filter(connection=connection, entity=entity, remote_id=record.remote_id)
        .values_list("object_id", flat=True)
        .first()
    )
    document = model.objects.filter(pk=object_id).first() if object_id else None
    if document is None:
        return None
    if record.data.get("Status") == "DELETED":
        # Deleted in Xero: never deleted here; the binding is marked gone for an Admin.
        binding_mark_gone(
            connection=connection,
            entity=entity,
            remote_id=record.remote_id,
            reason=f"Deleted in Xero ({record.number}). Relink, re-push or archive it.",
        )
        return "deleted in Xero: marked gone"
    with transaction.atomic():
        return apply(connection, document, record) or "unchanged"


def _pull(entity: str):
    def run_pull(
        *, connection: Connection, dry_run: bool = False, run: SyncRun | None = None
    ) -> SyncRun:
        return documents_pull(connection=connection, entity=entity, dry_run=dry_run, run=run)

    return run_pull


def documents_pull(
    *, connection: Connection, entity: str, dry_run: bool = False, run: SyncRun | None = None
) -> SyncRun:
    """Xero quotes or invoices modified since the cursor, applied to the local ones bound."""
    return documents_pull_run(
        connection=connection,
        entity=entity,
        dry_run=dry_run,
        run=run,
        pages=lambda run, adapter, since: _pages(run, connection, adapter, entity, since, dry_run),
        noun="document",
    )


def _pages(run, connection, adapter, entity, since, dry_run):
    resource = DOCUMENT_PULLS[entity][0]
    page: int | None = 1
    paging: dict = {}
    quarantined = 0
    newest = None
    while page is not None:
        result = adapter.list_page(resource, page=page, modified_since=since)
        check_paging(run, result, paging)
        if result.rejected and not dry_run:
            quarantined += quarantine_store(
                connection=connection, entity=entity, bad=result.rejected, run_id=run.pk
            )
        run.pages += 1
        run.records += len(result.records)
        for record in result.records:
            if record.modified_at and (newest is None or record.modified_at > newest):
                newest = record.modified_at
            with transaction.atomic():
                changed = record_apply(connection=connection, entity=entity, record=record)
                if dry_run:
                    transaction.set_rollback(True)
            if changed and changed != "unchanged":
                run.updated += 1
            else:
                run.unchanged += 1
        page = result.next_page
    return newest, quarantined


quotes_pull = _pull(Entity.QUOTES)
invoices_pull = _pull(Entity.INVOICES)
