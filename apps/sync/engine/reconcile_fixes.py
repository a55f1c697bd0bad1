"""The one-click fixes of a reconciliation difference: take theirs (a vendor status that
records money or a cancellation applied through the domain's services, or a document made at
the vendor brought in), push ours (an update and the status action through the ordinary
outbox path, or a document the vendor lost made again there as a create), link an unlinked
pair, or archive ours. What is pushed is sent by the outbox; the next run shows the effect."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.quotes import services as quote_services
from apps.sync.engine import importer, registry
from apps.sync.engine.bindings import binding_bind_found
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.gone import ACTION_STATUS, document_repush, gone_archive
from apps.sync.engine.outbox import outbox_enqueue
from apps.sync.engine.records import RemoteRecord, VendorDocument, VendorError
from apps.sync.models import Binding, Connection, Entity, Operation, Priority
from apps.sync.reconcile.models import DifferenceKind, DifferenceStatus, Fix, ReconcileDifference


def difference_fix(*, difference: ReconcileDifference, fix: str, actor=None) -> str:
    """Apply `fix` (one the difference offers) and record who did it; returns what was done."""
    if difference.status != DifferenceStatus.OPEN:
        raise ApplicationError(f"This difference is already {difference.get_status_display()}.")
    if fix not in difference.fixes:
        offered = ", ".join(Fix(f).label for f in difference.fixes) or "none"
        raise ApplicationError(
            f"“{fix}” is not a fix for this difference (offered: {offered}).",
            extra={"fix": [fix]},
        )
    try:
        outcome = FIXES[(difference.kind, fix)](difference, actor)
    except VendorError as error:
        raise ApplicationError(f"The vendor answered: {error.message}") from error
    except ValidationError as error:
        raise ApplicationError("; ".join(error.messages)) from error
    difference.status = DifferenceStatus.FIXED
    difference.fixed_with = fix
    difference.fixed_by = actor
    difference.fixed_at = timezone.now()
    difference.outcome = outcome[:2000]
    difference.save(update_fields=["status", "fixed_with", "fixed_by", "fixed_at", "outcome"])
    return outcome


def _local(difference: ReconcileDifference):
    spec = entity_spec(difference.entity)
    obj = spec.model.objects.filter(pk=difference.object_id).first()
    if obj is None:
        raise ApplicationError(f"The local {spec.label} #{difference.object_id} no longer exists.")
    return obj


# --- push ours ----------------------------------------------------------------------------------
def _push_values(difference: ReconcileDifference, actor) -> str:
    """Our values sent again: an update for the figures and number, the status action for
    the status, both queued in the outbox (documents go out in order)."""
    obj = _local(difference)
    connection, entity = difference.connection, difference.entity
    connector = registry.connector(connection.provider)
    queued = []
    with transaction.atomic():
        if set(difference.fields) - {"status"} and connector.pushes(entity, Operation.UPDATE):
            outbox_enqueue(
                connection=connection, entity=entity, obj=obj, operation=Operation.UPDATE
            )
            queued.append("update")
        if "status" in difference.fields and connector.pushes(entity, Operation.ACTION):
            status = ACTION_STATUS.get(obj.status, obj.status)
            outbox_enqueue(
                connection=connection,
                entity=entity,
                obj=obj,
                operation=Operation.ACTION,
                intent={"status": status},
            )
            queued.append(f"mark {status}")
    if not queued:
        raise ApplicationError(f"{connector.label} takes no update of {entity} from us.")
    return f"Queued for {connector.label}: {', '.join(queued)} of {obj}."


def _push_again(difference: ReconcileDifference, actor) -> str:
    items = document_repush(
        connection=difference.connection,
        entity=difference.entity,
        obj=_local(difference),
        lost=difference.remote_number or difference.remote_id,
    )
    return f"Queued {len(items)} outbox item(s) to make {difference.local_number} again."


def _archive(difference: ReconcileDifference, actor) -> str:
    binding = Binding.objects.filter(
        connection=difference.connection,
        entity=difference.entity,
        object_id=difference.object_id,
    ).first()
    if binding is None:
        raise ApplicationError("The record is no longer linked to the vendor.")
    return gone_archive(binding=binding, actor=actor)


# --- take theirs --------------------------------------------------------------------------------
def _pull_status(difference: ReconcileDifference, actor) -> str:
    """A vendor status that records money (paid), a cancellation (void) or the client's answer
    to a quote (accepted, rejected), applied here through the domain's services, never pushed
    back."""
    document = _local(difference)
    status = difference.theirs.get("status")
    if difference.entity == Entity.QUOTES:
        take = {"accepted": quote_services.quote_accept, "rejected": quote_services.quote_reject}
        if status not in take:
            raise ApplicationError(f"A status of “{status}” is not taken from the vendor.")
        with transaction.atomic(), applying_remote_changes():
            take[status](quote=document)
        return f"{document} is {status} here, as at the vendor."
    invoice = document
    with transaction.atomic(), applying_remote_changes():
        if status == "paid" and invoice.balance > 0:
            invoice_services.payment_record(
                invoice=invoice,
                amount=invoice.balance,
                mode=Payment.Mode.OTHER,
                reference=f"{difference.connection} {difference.remote_number}"[:100],
            )
        elif status == "void":
            invoice_services.invoice_void(invoice=invoice)
        else:
            raise ApplicationError(f"A status of “{status}” is not taken from the vendor.")
    return f"{invoice} is {status} here, as at the vendor."


def _client_for(connection: Connection, adapter, customer_remote_id: str):
    """The local client of a vendor customer: its binding, else the contact pulled now."""
    binding = Binding.objects.filter(
        connection=connection, entity=Entity.CLIENTS, remote_id=customer_remote_id
    ).first()
    if binding is None:
        spec = registry.connector(connection.provider).pulls.get(Entity.CLIENTS)
        if spec is None or spec.mapper is None:
            raise ApplicationError(
                f"The vendor's customer {customer_remote_id} is not linked to a client here."
            )
        record = adapter.get(spec.resource, customer_remote_id)
        importer.apply_one(
            connection=connection, entity=Entity.CLIENTS, record=record, mapper=spec.mapper
        )
        binding = Binding.objects.get(
            connection=connection, entity=Entity.CLIENTS, remote_id=customer_remote_id
        )
    return entity_spec(Entity.CLIENTS).model.objects.get(pk=binding.object_id)


def invoice_bring_in(*, connection: Connection, vendor: VendorDocument) -> Invoice:
    """A vendor invoice we lack becomes ours, through the invoices' services: its lines and
    dates, its status (a sent one is not e-mailed again: the vendor sent it) and what was paid
    there as one payment; bound to the vendor's record; nothing is pushed back."""
    document = vendor.document
    adapter = adapter_for(connection, priority=Priority.USER)
    client = _client_for(connection, adapter, vendor.customer_remote_id)
    with transaction.atomic(), applying_remote_changes():
        invoice = invoice_services.invoice_create(
            client=client,
            issue_date=vendor.issue_date,
            due_date=vendor.due_date,
            currency=vendor.currency or None,
            discount_value=vendor.discount,
            notes=vendor.notes,
            terms=vendor.terms,
            lines=vendor.lines,
        )
        if document.status == "void":
            invoice_services.invoice_void(invoice=invoice)
        elif document.status != "draft":
            # Sent at the vendor: recorded as sent, and as e-mailed (by the vendor), so the
            # client is not mailed a second time from here.
            now = timezone.now()
            invoice.status, invoice.sent_at, invoice.emailed_at = Invoice.Status.SENT, now, now
            invoice.save(update_fields=["status", "sent_at", "emailed_at", "updated_at"])
            paid = (document.total or 0) - (document.balance or 0)
            if paid > 0:
                invoice_services.payment_record(
                    invoice=invoice,
                    amount=paid,
                    mode=Payment.Mode.OTHER,
                    reference=f"{connection} {document.number}"[:100],
                )
        binding_bind_found(connection, Entity.INVOICES, invoice.pk, vendor.record)
    return invoice


def _pull_document(difference: ReconcileDifference, actor) -> str:
    connection = difference.connection
    connector = registry.connector(connection.provider)
    if difference.entity not in connector.imports_documents:
        raise ApplicationError(f"{connector.label} {difference.entity} are not brought in here.")
    adapter = adapter_for(connection, priority=Priority.USER)
    vendor = connector.document_fetch(
        adapter, entity=difference.entity, remote_id=difference.remote_id
    )
    invoice = invoice_bring_in(connection=connection, vendor=vendor)
    difference.object_id = invoice.pk
    difference.local_number = invoice.number
    difference.save(update_fields=["object_id", "local_number"])
    return f"{connector.label} {difference.remote_number} is invoice {invoice.number} here."


def _link(difference: ReconcileDifference, actor) -> str:
    obj = _local(difference)
    connection = difference.connection
    record = RemoteRecord(
        remote_id=difference.remote_id,
        number=difference.remote_number,
        modified_at=None,
        data=dict(difference.theirs),
    )
    if Binding.objects.filter(
        connection=connection, entity=difference.entity, remote_id=difference.remote_id
    ).exists():
        raise ApplicationError(f"{difference.remote_number} is already linked to another record.")
    binding_bind_found(connection, difference.entity, obj.pk, record)
    return f"{obj} is linked to {difference.remote_number}."


FIXES = {
    (DifferenceKind.MISMATCH, Fix.PUSH): _push_values,
    (DifferenceKind.MISMATCH, Fix.PULL): _pull_status,
    (DifferenceKind.MISSING_REMOTE, Fix.PUSH): _push_again,
    (DifferenceKind.MISSING_REMOTE, Fix.ARCHIVE): _archive,
    (DifferenceKind.MISSING_LOCAL, Fix.PULL): _pull_document,
    (DifferenceKind.UNLINKED, Fix.LINK): _link,
}
