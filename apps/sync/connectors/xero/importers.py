"""What happens to our documents in Xero comes back, through the domain services and never
echoed back: a quote accepted or declined there is accepted or rejected here; a draft invoice
approved there is sent here (not e-mailed: Xero delivers it); a payment made there against our
invoice is recorded here (and bound, so it is not pushed back), one deleted there is deleted
here; an invoice voided there is void here; and a quote of ours converted to an invoice there
is invoiced here, the invoice brought in and bound. Pulled by If-Modified-Since with the
largest page each endpoint takes, and applied when a Xero invoice webhook arrives
(webhooks.py)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.sync.engine.bindings import (
    binding_bind,
    binding_bind_found,
    binding_forget,
    binding_mark_failed,
    binding_mark_gone,
)
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.entities import payment_reference
from apps.sync.engine.pull import check_paging, documents_pull_run
from apps.sync.engine.quarantine import quarantine_store
from apps.sync.engine.records import NotFound, RemoteRecord
from apps.sync.engine.totals import totals_compare
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    Entity,
    SyncRun,
)

from .dates import parse_xero_time
from .documents import xero_totals

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


# Xero statuses of an invoice that has been approved there (a payment makes AUTHORISED PAID).
APPROVED = ("AUTHORISED", "PAID")


def _remote_payment_ids(data: dict) -> set[str]:
    return {str(p.get("PaymentID") or "") for p in data.get("Payments") or []} - {""}


def payments_deleted_in_xero(
    *, connection: Connection, invoice_id: int, record: RemoteRecord, adapter
) -> dict[str, RemoteRecord | None]:
    """Our payments of this invoice bound to a Xero payment the invoice no longer lists, each
    read again from /Payments: {remote id: the DELETED payment, or None when Xero has no such
    payment}. A payment still AUTHORISED there (the invoice was read before it was made) is
    left out. Read before any transaction is opened: these are vendor calls."""
    bound = set(
        Binding.objects.filter(
            connection=connection,
            entity=Entity.PAYMENTS,
            object_id__in=Payment.objects.filter(invoice_id=invoice_id).values("pk"),
            remote_id__isnull=False,
        )
        .exclude(status=BindingStatus.GONE)
        .values_list("remote_id", flat=True)
    )
    missing = sorted(set(bound) - _remote_payment_ids(record.data))
    deleted: dict[str, RemoteRecord | None] = {}
    for remote_id in missing:
        try:
            payment = adapter.get("payments", remote_id)
        except NotFound:
            deleted[remote_id] = None
            continue
        if payment.data.get("Status") == "DELETED":
            deleted[remote_id] = payment
    return deleted


def _approve(connection: Connection, invoice: Invoice, data: dict) -> str | None:
    """A draft here approved in Xero is sent here, and not e-mailed from here (sending it to
    the client is done from Xero). One the invoices refuse to send stays a draft, its binding
    failed with the reason, for an Admin to see."""
    if invoice.status != Invoice.Status.DRAFT or data.get("Status") not in APPROVED:
        return None
    try:
        invoice_services.invoice_send(invoice=invoice, email_client=False)
    except ValidationError as error:
        reason = f"Approved in Xero, still a draft here: {' '.join(error.messages)}"
        binding_mark_failed(connection.pk, Entity.INVOICES, invoice.pk, error=reason)
        return reason
    return "sent (approved in Xero)"


def _payments_delete(
    connection: Connection, invoice: Invoice, deleted: dict[str, RemoteRecord | None]
) -> list[str]:
    """Our payments deleted in Xero are deleted here (Xero keeps the books: the money was not
    received), through the invoices' service; one it refuses to delete, or one Xero no longer
    knows at all, marks its binding gone with the reason, for an Admin."""
    changed = []
    bindings = Binding.objects.filter(
        connection=connection, entity=Entity.PAYMENTS, remote_id__in=list(deleted)
    )
    for binding in bindings:
        remote = deleted[binding.remote_id]
        payment = Payment.objects.filter(pk=binding.object_id, invoice=invoice).first()
        if payment is None:
            binding_forget(binding)
            continue
        if remote is None:
            binding_mark_gone(
                connection=connection,
                entity=Entity.PAYMENTS,
                remote_id=binding.remote_id,
                reason=f"Xero no longer has payment {binding.remote_id} of {invoice.number}. "
                "Re-push or archive it.",
            )
            changed.append(f"payment {payment.amount} gone from Xero")
            continue
        try:
            with transaction.atomic():
                invoice_services.payment_delete(
                    payment=payment, reason=f"Deleted in Xero ({binding.remote_id})"
                )
                binding_forget(binding)
        except ValidationError as error:
            binding_mark_gone(
                connection=connection,
                entity=Entity.PAYMENTS,
                remote_id=binding.remote_id,
                reason=f"Deleted in Xero, kept here: {' '.join(error.messages)}",
            )
            changed.append(f"payment {payment.amount} deleted in Xero, kept here for an Admin")
            continue
        changed.append(f"payment {payment.amount} deleted")
    return changed


def invoice_apply_remote(
    *,
    connection: Connection,
    invoice: Invoice,
    record: RemoteRecord,
    deleted_payments: dict[str, RemoteRecord | None] | None = None,
) -> str | None:
    """A draft approved in Xero is sent; our payments deleted there (`deleted_payments`, from
    payments_deleted_in_xero) are deleted; payments made there are recorded here, one for each
    Xero payment not bound yet (ours come back bound, or found by the reference we gave them);
    a voided invoice is voided. In that order: a payment deleted and entered again in Xero
    fits the balance. Returns what changed."""
    data = record.data
    changed = []
    remote_ids = [str(p.get("PaymentID") or "") for p in data.get("Payments") or []]
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=Entity.PAYMENTS, remote_id__in=remote_ids
        ).values_list("remote_id", flat=True)
    )
    with applying_remote_changes():
        approved = _approve(connection, invoice, data)
        if approved:
            changed.append(approved)
        if deleted_payments:
            changed += _payments_delete(connection, invoice, deleted_payments)
        # After the deletions: a payment entered again in Xero with the deleted one's reference
        # is recorded anew, not bound to the payment just deleted.
        ours = {payment_reference(p): p for p in invoice.payments.all()}
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


def _quote_converted(connection: Connection, data: dict) -> Quote | None:
    """Our quote a Xero invoice was made from: Xero copies the quote's reference (ours is our
    quote number) to the invoice's Reference, and the invoice is for the quote's contact.
    None when the invoice is not such a conversion, or the quote is invoiced here already
    (our own invoice, whose push binds it)."""
    reference = str(data.get("Reference") or "").strip()
    if (
        data.get("Type") != "ACCREC"
        or not reference
        or data.get("Status")
        not in (
            "DRAFT",
            "SUBMITTED",
            *APPROVED,
        )
    ):
        return None
    quote = Quote.objects.filter(number=reference).select_related("client").first()
    if quote is None or Invoice.objects.filter(quote=quote).exists():
        return None
    bound = Binding.objects.filter(connection=connection, remote_id__isnull=False)
    if not bound.filter(entity=Entity.QUOTES, object_id=quote.pk).exists():
        return None  # not a quote this organisation had from us
    contact = data.get("Contact") if isinstance(data.get("Contact"), dict) else {}
    client_remote_id = (
        bound.filter(entity=Entity.CLIENTS, object_id=quote.client_id)
        .values_list("remote_id", flat=True)
        .first()
    )
    if client_remote_id and str(contact.get("ContactID") or "") != client_remote_id:
        return None
    return quote


def invoice_bring_in_converted(
    *, connection: Connection, quote: Quote, record: RemoteRecord
) -> str:
    """Our quote converted to an invoice in Xero: accepted here if it was still sent, invoiced
    through the invoices' service (the same lines, credited to the quote's seller), bound to
    Xero's invoice and brought to its status (approved, paid); Xero's totals are kept beside
    ours on the binding, so lines changed there show as "totals differ". Nothing is pushed."""
    try:
        due = parse_xero_time(record.data.get("DueDate"))
    except ValueError:
        due = None  # the default terms stand
    due_date = due.date() if due and due.date() >= timezone.localdate() else None
    changes = []
    with applying_remote_changes():
        if quote.status == Quote.Status.SENT:
            quote_services.quote_accept(quote=quote)
            changes.append(f"quote {quote.number} accepted")
        invoice = invoice_services.invoice_create_from_quote(quote=quote, due_date=due_date)
        binding_bind_found(connection, Entity.INVOICES, invoice.pk, record)
    changes.append(f"invoiced here as {invoice.number}")
    applied = invoice_apply_remote(connection=connection, invoice=invoice, record=record)
    if applied:
        changes.append(applied)
    invoice.refresh_from_db()
    totals_compare(
        connection=connection,
        entity=Entity.INVOICES,
        document=invoice,
        theirs=xero_totals(record.data),
    )
    return f"converted in Xero from quote {quote.number}: " + ", ".join(changes)


def _apply_quote(connection, quote, record, deleted) -> str | None:
    return quote_apply_remote(quote=quote, record=record)


def _apply_invoice(connection, invoice, record, deleted) -> str | None:
    return invoice_apply_remote(
        connection=connection, invoice=invoice, record=record, deleted_payments=deleted
    )


DOCUMENT_PULLS = {
    Entity.QUOTES: ("quotes", Quote, _apply_quote),
    Entity.INVOICES: ("invoices", Invoice, _apply_invoice),
}


def _bound_object_id(connection: Connection, entity: str, remote_id: str) -> int | None:
    return (
        Binding.objects.filter(connection=connection, entity=entity, remote_id=remote_id)
        .values_list("object_id", flat=True)
        .first()
    )


def record_reads(
    *, connection: Connection, entity: str, record: RemoteRecord, adapter
) -> dict[str, RemoteRecord | None]:
    """What applying `record` needs read from Xero first, outside any transaction: the bound
    invoice's payments it no longer lists (payments_deleted_in_xero)."""
    if entity != Entity.INVOICES or record.data.get("Status") == "DELETED":
        return {}
    object_id = _bound_object_id(connection, entity, record.remote_id)
    if object_id is None:
        return {}
    return payments_deleted_in_xero(
        connection=connection, invoice_id=object_id, record=record, adapter=adapter
    )


def record_apply(
    *,
    connection: Connection,
    entity: str,
    record: RemoteRecord,
    deleted_payments: dict[str, RemoteRecord | None] | None = None,
) -> str | None:
    """Apply one Xero quote or invoice to the local document bound to it, or bring in the
    invoice Xero made from one of our quotes; None if it is not ours. `deleted_payments` is
    what record_reads found (read before the caller's transaction)."""
    _, model, apply = DOCUMENT_PULLS[entity]
    object_id = _bound_object_id(connection, entity, record.remote_id)
    document = model.objects.filter(pk=object_id).first() if object_id else None
    if document is None:
        quote = _quote_converted(connection, record.data) if entity == Entity.INVOICES else None
        if quote is None:
            return None
        try:
            with transaction.atomic():
                return invoice_bring_in_converted(connection=connection, quote=quote, record=record)
        except ValidationError as error:
            return f"converted in Xero from quote {quote.number}, not invoiced here: " + (
                " ".join(error.messages)
            )
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
        return apply(connection, document, record, deleted_payments or {}) or "unchanged"


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
            reads = record_reads(
                connection=connection, entity=entity, record=record, adapter=adapter
            )
            with transaction.atomic():
                changed = record_apply(
                    connection=connection, entity=entity, record=record, deleted_payments=reads
                )
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
