"""The Zoho document loop: quotes -> Books estimates and CRM deals, invoices -> Books invoices,
payments -> Books customer payments, through the outbox; and invoices paid or voided in Books
brought back. Document items of one connection go out strictly in the order they were queued,
so a quote's estimate exists before its acceptance, its invoice and that invoice's payments."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote
from apps.sync.adapters.base import (
    AuthExpired,
    NotFound,
    Rejected,
    RemoteRecord,
    TransientError,
    VendorError,
)
from apps.sync.backends import adapter_for
from apps.sync.mappers import clients as client_mappers
from apps.sync.mappers import documents
from apps.sync.mappers import services as service_mappers
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    ConnectionStatus,
    Direction,
    Entity,
    Operation,
    OutboxItem,
    OutboxStatus,
    Provider,
    RunStatus,
    SyncCursor,
    SyncRun,
)

logger = logging.getLogger(__name__)

DOCUMENT_ENTITIES = (Entity.QUOTES, Entity.INVOICES, Entity.PAYMENTS, Entity.DEALS)
HANDLED = {
    (Provider.ZOHO_BOOKS, Entity.QUOTES),
    (Provider.ZOHO_BOOKS, Entity.INVOICES),
    (Provider.ZOHO_BOOKS, Entity.PAYMENTS),
    (Provider.ZOHO_CRM, Entity.DEALS),
}
MODELS = {
    Entity.QUOTES: Quote,
    Entity.INVOICES: Invoice,
    Entity.PAYMENTS: Payment,
    Entity.DEALS: Quote,
    Entity.CLIENTS: Client,
    Entity.SERVICES: Service,
}
UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)


class Waiting(TransientError):
    """An earlier item this one depends on has not reached the vendor yet."""

    kind = "waiting"


def deal_stage(status: str) -> str:
    return {
        Quote.Status.SENT: settings.ZOHO_CRM_DEAL_STAGE_SENT,
        Quote.Status.ACCEPTED: settings.ZOHO_CRM_DEAL_STAGE_WON,
        Quote.Status.REJECTED: settings.ZOHO_CRM_DEAL_STAGE_LOST,
    }[status]


# --- enqueue ------------------------------------------------------------------------------------
def flow_enqueue(
    *,
    connection: Connection,
    entity: str,
    obj,
    operation: str,
    reference: str,
    intent: dict | None = None,
) -> OutboxItem:
    """Queue one document push inside the transaction of the change; the object shows as
    pending until it is sent."""
    from apps.sync.outbox import _kick

    Binding.objects.get_or_create(
        connection=connection,
        entity=entity,
        object_id=obj.pk,
        defaults={
            "content_type": ContentType.objects.get_for_model(MODELS[entity]),
            "status": BindingStatus.PENDING,
        },
    )
    Binding.objects.filter(
        connection=connection, entity=entity, object_id=obj.pk, remote_id__isnull=False
    ).exclude(status=BindingStatus.CONFLICT).update(status=BindingStatus.PENDING, last_error="")
    item = OutboxItem.objects.create(
        connection=connection,
        entity=entity,
        operation=operation,
        object_id=obj.pk,
        intent=intent or {},
        reference=reference[:100],
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(_kick)
    return item


def connections_for(provider: str):
    return Connection.objects.filter(status=ConnectionStatus.CONNECTED, provider=provider)


# --- bindings -----------------------------------------------------------------------------------
def bound_id(connection: Connection, entity: str, object_id: int) -> str | None:
    return (
        Binding.objects.filter(
            connection=connection, entity=entity, object_id=object_id, remote_id__isnull=False
        )
        .values_list("remote_id", flat=True)
        .first()
    )


def bind(
    connection: Connection,
    entity: str,
    object_id: int,
    *,
    remote_id: str,
    number: str = "",
    modified_at=None,
    snapshot: dict | None = None,
) -> None:
    Binding.objects.update_or_create(
        connection=connection,
        entity=entity,
        object_id=object_id,
        defaults={
            "content_type": ContentType.objects.get_for_model(MODELS[entity]),
            "remote_id": remote_id,
            "remote_number": (number or "")[:100],
            "remote_modified_at": modified_at,
            "base_snapshot": snapshot or {},
            "status": BindingStatus.SYNCED,
            "synced_at": timezone.now(),
            "last_error": "",
        },
    )


def ensure_books_customer(connection: Connection, adapter, client: Client) -> str:
    """The Books contact of `client`: its binding, else the contact with its e-mail, else a new
    contact (created in Books directly: the estimate cannot wait for CRM's own sync)."""
    remote_id = bound_id(connection, Entity.CLIENTS, client.pk)
    if remote_id:
        return remote_id
    try:
        record = adapter.find_by_reference("contacts", client.email) if client.email else None
        if record is None:
            payload = client_mappers.to_zoho_books(client_mappers.local_snapshot(client))
            record = adapter.create("contacts", payload)
    except Rejected as error:
        raise Rejected(
            f"Client '{client}' could not be bound to a Zoho Books contact: {error}",
            status=error.status,
        ) from error
    bind(
        connection,
        Entity.CLIENTS,
        client.pk,
        remote_id=record.remote_id,
        number=record.number,
        modified_at=record.modified_at,
        snapshot=client_mappers.from_zoho_books(record),
    )
    return record.remote_id


def ensure_books_items(connection: Connection, adapter, lines) -> dict[int, str]:
    """Books item ids of the lines' services, binding by SKU or creating the item when unbound."""
    item_ids: dict[int, str] = {}
    for line in lines:
        service = line.service
        if service is None or service.pk in item_ids:
            continue
        remote_id = bound_id(connection, Entity.SERVICES, service.pk)
        if not remote_id:
            try:
                record = adapter.find_by_reference("items", service.sku) if service.sku else None
                if record is None:
                    payload = service_mappers.to_zoho_books(service_mappers.local_snapshot(service))
                    record = adapter.create("items", payload)
            except Rejected as error:
                raise Rejected(
                    f"Service '{service.name}' (line '{line.name}') could not be bound to a "
                    f"Zoho Books item: {error}",
                    status=error.status,
                ) from error
            bind(
                connection,
                Entity.SERVICES,
                service.pk,
                remote_id=record.remote_id,
                number=record.number,
                modified_at=record.modified_at,
                snapshot=service_mappers.from_zoho_books(record),
            )
            remote_id = record.remote_id
        item_ids[service.pk] = remote_id
    return item_ids


def ensure_crm_contact(connection: Connection, adapter, client: Client) -> str:
    """The CRM contact of `client`: its binding, else an upsert on Email (naturally idempotent)."""
    remote_id = bound_id(connection, Entity.CLIENTS, client.pk)
    if remote_id:
        return remote_id
    payload = client_mappers.to_zoho_crm(client_mappers.local_snapshot(client))
    remote_id = adapter.upsert("contacts", payload, duplicate_check_field="Email")
    bind(connection, Entity.CLIENTS, client.pk, remote_id=remote_id)
    return remote_id


# --- processing ---------------------------------------------------------------------------------
def _blocker(item: OutboxItem) -> OutboxItem | None:
    if item.entity not in DOCUMENT_ENTITIES:
        return None
    return (
        OutboxItem.objects.filter(
            connection_id=item.connection_id,
            entity__in=DOCUMENT_ENTITIES,
            id__lt=item.id,
            status__in=UNFINISHED,
        )
        .order_by("id")
        .first()
    )


def flow_process(*, item: OutboxItem) -> str:
    """Send one claimed document item (called by outbox_process); returns its new status."""
    from apps.sync import outbox

    blocker = _blocker(item)
    if blocker is not None:
        # Not an attempt: wait behind the earliest unfinished item, keep the order.
        item.status = OutboxStatus.PENDING
        item.attempts = max(0, item.attempts - 1)
        item.lease_until = None
        item.next_attempt_at = max(timezone.now(), blocker.next_attempt_at) + timedelta(
            microseconds=item.id - blocker.id
        )
        item.last_error = f"Waiting for outbox item #{blocker.pk} to be sent first."
        item.save(
            update_fields=["status", "attempts", "lease_until", "next_attempt_at", "last_error"]
        )
        return item.status
    obj = MODELS[item.entity].objects.filter(pk=item.object_id).first()
    if obj is None:
        return outbox._finish(
            item, OutboxStatus.DISCARDED, error="The local record no longer exists."
        )
    adapter = adapter_for(item.connection, priority=item.priority)
    handler = HANDLERS[(item.entity, item.operation)]
    try:
        remote_id = handler(item, adapter, obj)
    except (TransientError, AuthExpired) as error:
        return outbox._retry_later(item, error)
    except (Rejected, NotFound) as error:
        return outbox._finish(item, OutboxStatus.DEAD, error=str(error), http_status=error.status)
    except VendorError as error:
        return outbox._retry_later(item, error)
    Binding.objects.filter(connection=item.connection, entity=item.entity, object_id=obj.pk).update(
        status=BindingStatus.SYNCED, last_error="", synced_at=timezone.now()
    )
    return outbox._finish(item, OutboxStatus.DONE, remote_id=remote_id or "")


def _lines(document):
    return list(document.lines.select_related("service").order_by("position", "id"))


def _mark(adapter, resource: str, remote_id: str, action: str, target: str) -> None:
    """A status action; a refusal because the document already has that status is success."""
    try:
        adapter.status_action(resource, remote_id, action)
    except Rejected:
        if adapter.get(resource, remote_id).data.get("status") != target:
            raise


def quote_create(item: OutboxItem, adapter, quote: Quote) -> str:
    connection = item.connection
    estimate_id = bound_id(connection, Entity.QUOTES, quote.pk)
    record: RemoteRecord | None = None
    if not estimate_id:
        if item.uncertain:
            record = adapter.find_by_reference("estimates", quote.number)
        if record is None:
            lines = _lines(quote)
            customer_id = ensure_books_customer(connection, adapter, quote.client)
            item_ids = ensure_books_items(connection, adapter, lines)
            payload = documents.estimate_payload(
                quote, lines, customer_id=customer_id, item_ids=item_ids
            )
            record = adapter.create("estimates", payload)
        bind(
            connection,
            Entity.QUOTES,
            quote.pk,
            remote_id=record.remote_id,
            number=record.number,
            modified_at=record.modified_at,
            snapshot={"status": record.data.get("status"), "total": record.data.get("total")},
        )
        estimate_id = record.remote_id
    if record is None:
        record = adapter.get("estimates", estimate_id)
    if record.data.get("status") == "draft":
        adapter.status_action("estimates", estimate_id, "status/sent")
    return estimate_id


def quote_status(item: OutboxItem, adapter, quote: Quote) -> str:
    estimate_id = bound_id(item.connection, Entity.QUOTES, quote.pk)
    if not estimate_id:
        raise Rejected(f"Quote {quote.number} has no estimate in Zoho Books to update.")
    status = item.intent["status"]
    action = documents.ESTIMATE_STATUS[status]
    _mark(adapter, "estimates", estimate_id, action, action.removeprefix("status/"))
    return estimate_id


def invoice_create(item: OutboxItem, adapter, invoice: Invoice) -> str:
    connection = item.connection
    invoice_id = bound_id(connection, Entity.INVOICES, invoice.pk)
    if invoice_id:
        return invoice_id
    record = adapter.find_by_reference("invoices", invoice.number) if item.uncertain else None
    if record is None:
        estimate_id = ""
        if invoice.quote_id:
            estimate_id = bound_id(connection, Entity.QUOTES, invoice.quote_id) or ""
        lines = _lines(invoice)
        customer_id = ensure_books_customer(connection, adapter, invoice.client)
        item_ids = ensure_books_items(connection, adapter, lines)
        payload = documents.invoice_payload(
            invoice, lines, customer_id=customer_id, item_ids=item_ids, estimate_id=estimate_id
        )
        record = adapter.create("invoices", payload)
    bind(
        connection,
        Entity.INVOICES,
        invoice.pk,
        remote_id=record.remote_id,
        number=record.number,
        modified_at=record.modified_at,
        snapshot={"status": record.data.get("status"), "total": record.data.get("total")},
    )
    return record.remote_id


def invoice_status(item: OutboxItem, adapter, invoice: Invoice) -> str:
    invoice_id = bound_id(item.connection, Entity.INVOICES, invoice.pk)
    if not invoice_id:
        raise Rejected(f"Invoice {invoice.number} is not in Zoho Books yet.")
    action = documents.INVOICE_STATUS[item.intent["status"]]
    _mark(adapter, "invoices", invoice_id, action, action.removeprefix("status/"))
    return invoice_id


def payment_create(item: OutboxItem, adapter, payment: Payment) -> str:
    connection = item.connection
    payment_id = bound_id(connection, Entity.PAYMENTS, payment.pk)
    if payment_id:
        return payment_id
    invoice_id = bound_id(connection, Entity.INVOICES, payment.invoice_id)
    if not invoice_id:
        raise Rejected(
            f"Invoice {payment.invoice.number} is not in Zoho Books; the payment cannot be applied."
        )
    reference = documents.payment_reference(payment)
    record = adapter.find_by_reference("payments", reference) if item.uncertain else None
    if record is None:
        customer_id = ensure_books_customer(connection, adapter, payment.invoice.client)
        payload = documents.payment_payload(payment, customer_id=customer_id, invoice_id=invoice_id)
        record = adapter.create("payments", payload)
    bind(
        connection,
        Entity.PAYMENTS,
        payment.pk,
        remote_id=record.remote_id,
        number=record.number,
        modified_at=record.modified_at,
    )
    return record.remote_id


def _find_deal(adapter, item: OutboxItem) -> str | None:
    since = item.created_at - timedelta(days=1)
    for record in adapter.list_all("deals", modified_since=since):
        if record.data.get("Description") == item.reference:
            return record.remote_id
    return None


def deal_create(item: OutboxItem, adapter, quote: Quote) -> str:
    connection = item.connection
    deal_id = bound_id(connection, Entity.DEALS, quote.pk)
    if deal_id:
        return deal_id
    deal_id = _find_deal(adapter, item) if item.uncertain else None
    if not deal_id:
        contact_id = ensure_crm_contact(connection, adapter, quote.client)
        payload = documents.deal_payload(
            quote, stage=deal_stage(Quote.Status.SENT), contact_id=contact_id
        )
        deal_id = adapter.create("deals", payload)
    bind(connection, Entity.DEALS, quote.pk, remote_id=deal_id, number=documents.deal_name(quote))
    return deal_id


def deal_status(item: OutboxItem, adapter, quote: Quote) -> str:
    deal_id = bound_id(item.connection, Entity.DEALS, quote.pk)
    if not deal_id:
        raise Rejected(f"Quote {quote.number} has no deal in Zoho CRM to update.")
    adapter.update("deals", deal_id, {"Stage": deal_stage(item.intent["status"])})
    return deal_id


# --- clients: CRM first when the organisation is linked to CRM ---------------------------------
def crm_connection_for(books: Connection) -> Connection | None:
    """The organisation's CRM connection, when it is linked (CRM is then the contacts' master)."""
    return (
        connections_for(Provider.ZOHO_CRM).filter(remote_account_id=books.remote_account_id).first()
    )


def handles(item: OutboxItem) -> bool:
    """Whether this module sends `item` (the outbox sends the rest): the document loop, and the
    creation of a client in a Books organisation linked to CRM."""
    key = (item.connection.provider, item.entity)
    if key in HANDLED:
        return True
    return (
        key == (Provider.ZOHO_BOOKS, Entity.CLIENTS)
        and item.operation == Operation.CREATE
        and not bound_id(item.connection, Entity.CLIENTS, item.object_id)
        and crm_connection_for(item.connection) is not None
    )


def client_create(item: OutboxItem, adapter, client: Client) -> str:
    """A client created here goes to CRM first (the master; an upsert on Email, idempotent),
    then to Books. Zoho links CRM contacts into Books by its own CRM sync, which the sandbox
    does not emulate (and whose delay is unknown): the Books contact is looked up by e-mail and
    created by us when Books does not have it yet; both bindings keep the ids (the CRM contact
    id is the client's binding on the CRM connection)."""
    books = item.connection
    crm = crm_connection_for(books)
    if crm is not None:
        ensure_crm_contact(crm, adapter_for(crm, priority=item.priority), client)
    remote_id = bound_id(books, Entity.CLIENTS, client.pk)
    if remote_id:
        return remote_id
    record = adapter.find_by_reference("contacts", client.email) if client.email else None
    if record is None:
        payload = client_mappers.to_zoho_books(client_mappers.local_snapshot(client))
        record = adapter.create("contacts", payload)
    bind(
        books,
        Entity.CLIENTS,
        client.pk,
        remote_id=record.remote_id,
        number=record.number,
        modified_at=record.modified_at,
        snapshot=client_mappers.from_zoho_books(record),
    )
    return record.remote_id


HANDLERS = {
    (Entity.CLIENTS, Operation.CREATE): client_create,
    (Entity.QUOTES, Operation.CREATE): quote_create,
    (Entity.QUOTES, Operation.ACTION): quote_status,
    (Entity.INVOICES, Operation.CREATE): invoice_create,
    (Entity.INVOICES, Operation.ACTION): invoice_status,
    (Entity.PAYMENTS, Operation.CREATE): payment_create,
    (Entity.DEALS, Operation.CREATE): deal_create,
    (Entity.DEALS, Operation.ACTION): deal_status,
}


# --- what happens in Books comes back -----------------------------------------------------------
def invoice_apply_remote(*, invoice: Invoice, record: RemoteRecord) -> str | None:
    """An invoice paid or voided in Books is paid or voided here; returns what changed."""
    from apps.invoices import services as invoice_services
    from apps.sync.receivers import applying_remote_changes

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


def invoices_pull(*, connection: Connection, dry_run: bool = False, **_) -> SyncRun:
    """Books invoices modified since the cursor, applied to the local invoices bound to them."""
    cursor, _ = SyncCursor.objects.get_or_create(connection=connection, entity=Entity.INVOICES)
    run = SyncRun(
        connection=connection, entity=Entity.INVOICES, direction=Direction.PULL, dry_run=dry_run
    )
    if not dry_run:
        run.save()
    adapter = adapter_for(connection, run_id=run.pk)
    since = None
    if cursor.modified_at:
        since = cursor.modified_at - timedelta(seconds=settings.SYNC_PULL_OVERLAP_SECONDS)
    newest = cursor.modified_at
    page: int | None = 1
    while page is not None:
        result = adapter.list_page("invoices", page=page, modified_since=since)
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
    run.status = RunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.requests = adapter.client.context.request_count
    if not dry_run:
        with transaction.atomic():
            if newest:
                SyncCursor.objects.filter(pk=cursor.pk).update(modified_at=newest)
            run.save()
    return run


PULLERS = {(Provider.ZOHO_BOOKS, Entity.INVOICES): invoices_pull}


def services_keep_pulled(*, connection: Connection, mapped: list) -> list:
    """Only active items come in as services: an inactive item is applied only when it is
    already bound (so its service is deactivated), never created or linked by SKU."""
    inactive = [record.remote_id for record, values in mapped if values.get("active") is False]
    if not inactive:
        return mapped
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=Entity.SERVICES, remote_id__in=inactive
        ).values_list("remote_id", flat=True)
    )
    return [
        (record, values)
        for record, values in mapped
        if values.get("active") is not False or record.remote_id in bound
    ]


# --- connecting CRM -----------------------------------------------------------------------------
def connection_link_zoho_crm(*, books: Connection, name: str = "") -> Connection:
    """The organisation's Zoho CRM on the Books connection's credential (one Zoho token serves
    both). Linked, CRM becomes the master of contacts and the home of deals."""
    connection, _ = Connection.objects.update_or_create(
        provider=Provider.ZOHO_CRM,
        remote_account_id=books.remote_account_id,
        defaults={
            "name": name or f"{books.name} (CRM)",
            "credential": books.credential,
            "region": books.region,
            "status": ConnectionStatus.CONNECTED,
        },
    )
    return connection
