"""Records gone from the vendor (deleted or archived there, seen by a pull, a webhook or
reconciliation): never deleted here. Their binding is marked gone, with the reason, and the
record waits for an Admin, who relinks it (the vendor's record found again by our reference),
re-pushes it (a create through the ordinary outbox path) or archives it here."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog import services as catalog_services
from apps.clients import services as client_services
from apps.core.errors import ApplicationError
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice
from apps.sync.engine import registry
from apps.sync.engine.bindings import binding_bind, binding_mark_gone  # noqa: F401 - re-exported
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.context import PushContext
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.outbox import outbox_enqueue
from apps.sync.engine.records import NoLookupKey, VendorError
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    Entity,
    Operation,
    OutboxItem,
    Priority,
)

# The status a document is brought to at the vendor after it is made again there; "overdue"
# is a date, not an action, and a payment moves a document on by itself.
ACTION_STATUS = {
    "overdue": "sent",
    "partially_paid": "sent",
    "paid": "sent",
}
NO_ACTION = ("draft",)


def gone_bindings(*, connection: Connection | None = None):
    rows = Binding.objects.filter(status=BindingStatus.GONE).select_related("connection")
    return rows.filter(connection=connection) if connection is not None else rows


def _local(binding: Binding):
    obj = entity_spec(binding.entity).model.objects.filter(pk=binding.object_id).first()
    if obj is None:
        raise ApplicationError(
            f"The local {entity_spec(binding.entity).label} #{binding.object_id} no longer exists."
        )
    return obj


def document_repush(*, connection: Connection, entity: str, obj, lost: str = "") -> list:
    """Make a document (or record) again at the vendor, through the outbox as a create: its
    binding forgets the lost remote id, then the create is queued, followed by the status
    action that brings it to our status and, for an invoice, its payments (each a create)."""
    connector = registry.connector(connection.provider)
    if not connector.pushes(entity, Operation.CREATE):
        raise ApplicationError(f"{connector.label} has no create for {entity}.")
    note = f"Re-pushed by an Admin; the vendor's {lost} was gone." if lost else ""
    items = []
    with transaction.atomic():
        Binding.objects.filter(connection=connection, entity=entity, object_id=obj.pk).update(
            remote_id=None, status=BindingStatus.PENDING, last_error=note
        )
        items.append(
            outbox_enqueue(
                connection=connection,
                entity=entity,
                obj=obj,
                operation=Operation.CREATE,
                priority=Priority.USER,
            )
        )
        status = ACTION_STATUS.get(getattr(obj, "status", ""), getattr(obj, "status", ""))
        spec = entity_spec(entity)
        acts = spec.document and status and status not in NO_ACTION
        if acts and connector.pushes(entity, Operation.ACTION):
            items.append(
                outbox_enqueue(
                    connection=connection,
                    entity=entity,
                    obj=obj,
                    operation=Operation.ACTION,
                    intent={"status": status},
                )
            )
        if isinstance(obj, Invoice):
            for payment in obj.payments.order_by("id"):
                Binding.objects.filter(
                    connection=connection, entity=Entity.PAYMENTS, object_id=payment.pk
                ).update(remote_id=None, status=BindingStatus.PENDING)
                items.append(
                    outbox_enqueue(
                        connection=connection,
                        entity=Entity.PAYMENTS,
                        obj=payment,
                        operation=Operation.CREATE,
                    )
                )
    return [item for item in items if item is not None]


def gone_repush(*, binding: Binding) -> list[OutboxItem]:
    """An Admin's re-push of a record the vendor lost: made again there as a create."""
    if binding.status != BindingStatus.GONE:
        raise ApplicationError(f"{binding} is not marked gone.")
    return document_repush(
        connection=binding.connection,
        entity=binding.entity,
        obj=_local(binding),
        lost=f"{binding.remote_number or binding.remote_id}",
    )


def gone_relink(*, binding: Binding) -> str:
    """An Admin's relink: the vendor's record found by our reference (an e-mail, a SKU, a
    document's number) is bound instead of the lost one. Returns its remote id."""
    if binding.status != BindingStatus.GONE:
        raise ApplicationError(f"{binding} is not marked gone.")
    connection = binding.connection
    exporter = registry.connector(connection.provider).exporters.get(
        (binding.entity, Operation.CREATE)
    )
    if exporter is None or exporter.lookup is None:
        raise ApplicationError(f"{binding.entity} cannot be looked up at the vendor.")
    obj = _local(binding)
    ctx = PushContext(connection=connection, adapter=_adapter(connection))
    try:
        record = exporter.lookup(ctx, obj)
    except NoLookupKey as error:
        raise ApplicationError(str(error)) from error
    except VendorError as error:
        raise ApplicationError(f"The vendor could not be searched: {error.message}") from error
    if record is None or record.remote_id == binding.remote_id:
        raise ApplicationError(
            f"The vendor has no other record of '{obj}' to link: re-push or archive it."
        )
    binding_bind(
        connection,
        binding.entity,
        obj.pk,
        record=record,
        base=exporter.base(record) if exporter.base else {},
    )
    return record.remote_id


def _adapter(connection: Connection):
    return adapter_for(connection, priority=Priority.USER)


def gone_archive(*, binding: Binding, actor=None) -> str:
    """An Admin's archive: the record leaves the sync (its binding goes) and is retired here
    the way each kind is retired (a client or service made inactive, an open invoice voided),
    never deleted, and nothing is pushed back to the vendor."""
    if binding.status != BindingStatus.GONE:
        raise ApplicationError(f"{binding} is not marked gone.")
    obj = _local(binding)
    done = "unlinked"
    with transaction.atomic(), applying_remote_changes():
        try:
            if binding.entity == Entity.CLIENTS and obj.active:
                client_services.client_deactivate(client=obj, actor=actor)
                done = "made inactive"
            elif binding.entity == Entity.SERVICES and obj.active:
                catalog_services.service_deactivate(service=obj, actor=actor)
                done = "made inactive"
            elif binding.entity == Entity.INVOICES and obj.status != Invoice.Status.VOID:
                invoice_services.invoice_void(invoice=obj)
                done = "voided"
        except ValidationError as error:
            raise ApplicationError(f"'{obj}' cannot be archived: {error.messages[0]}") from error
        binding.delete()
    return f"{obj}: {done} ({timezone.now():%d %b %Y %H:%M})"
