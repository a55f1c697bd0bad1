"""Zoho Books exporters, one per (entity, operation): contacts and items (created, updated after
the engine's merge), estimates (created and marked sent, then accepted or declined), invoices
(created against their estimate, sent, voided) and customer payments. Each returns the vendor's
record or raises; the outbox binds, finishes and retries. A client created here goes to Zoho CRM
first when the organisation is linked to CRM (CRM is then the master of contacts). Taxes and
currencies go by the ids engine/taxes.py maps; after each document push Books' totals are
compared with ours (engine/totals.py)."""

from apps.sync.engine import taxes
from apps.sync.engine.bindings import bound_remote_id
from apps.sync.engine.dependencies import ensure_bound
from apps.sync.engine.entities import client_snapshot, service_snapshot
from apps.sync.engine.records import NoLookupKey, Rejected, RemoteRecord
from apps.sync.engine.registry import Exporter
from apps.sync.engine.totals import totals_compare
from apps.sync.models import Connection, ConnectionStatus, Entity, Operation

from . import documents
from .mappers import contact_from_books, contact_to_books, item_from_books, item_to_books

CRM_PROVIDER = "zoho_crm"


def _lines(document):
    return list(document.lines.select_related("service").order_by("position", "id"))


def _document_base(record: RemoteRecord) -> dict:
    return {"status": record.data.get("status"), "total": record.data.get("total")}


def _mark(adapter, resource: str, remote_id: str, action: str, target: str) -> None:
    """A status action; a refusal because the document already has that status is success."""
    try:
        adapter.status_action(resource, remote_id, action)
    except Rejected:
        if adapter.get(resource, remote_id).data.get("status") != target:
            raise


def _lookup(resource: str, key):
    """Find our record by `key(obj)` (an e-mail, a SKU, a document's number)."""

    def lookup(ctx, obj) -> RemoteRecord | None:
        value = key(obj)
        if not value:
            key_name = "an e-mail" if resource == "contacts" else "a SKU"
            raise NoLookupKey(
                f"An earlier attempt to create '{obj}' may have reached Zoho Books, and it has "
                f"no key to look it up by (it needs {key_name}). Sending it again could make a "
                "duplicate: check Zoho Books, then bind or requeue this item."
            )
        return ctx.adapter.find_by_reference(resource, value)

    return lookup


def _fetch(resource: str):
    return lambda ctx, remote_id: ctx.adapter.get(resource, remote_id)


def _status_action(resource: str, actions: dict[str, str], label: str):
    """An exporter moving a document to the status named in the item's intent."""

    def send(ctx, document) -> None:
        action = actions.get(ctx.intent.get("status"))
        if action is None:
            raise Rejected(f"Zoho Books {label} have no status for '{ctx.intent.get('status')}'.")
        _mark(ctx.adapter, resource, ctx.remote_id, action, action.removeprefix("status/"))

    return send


# --- contacts and items -------------------------------------------------------------------------
def crm_connection_for(books: Connection) -> Connection | None:
    """The organisation's CRM connection, when it is linked (CRM is then the contacts' master)."""
    return (
        Connection.objects.filter(
            provider=CRM_PROVIDER,
            status=ConnectionStatus.CONNECTED,
            remote_account_id=books.remote_account_id,
        )
        .select_related("credential")
        .first()
    )


def contact_create(ctx, client) -> RemoteRecord:
    """Zoho links CRM contacts into Books by its own CRM sync, which the sandbox does not
    emulate (and whose delay is unknown): the CRM contact is made first (an upsert on e-mail),
    then the Books contact, and both bindings keep the ids."""
    crm = crm_connection_for(ctx.connection)
    if crm is not None:
        ensure_bound(ctx.for_connection(crm), Entity.CLIENTS, client)
        # Zoho's own CRM sync may have brought the contact into Books already.
        found = ctx.adapter.find_by_reference("contacts", client.email) if client.email else None
        if found is not None:
            return found
    return ctx.adapter.create("contacts", contact_to_books(client_snapshot(client)))


def contact_update(ctx, client) -> RemoteRecord:
    payload = contact_to_books(client_snapshot(client))
    return ctx.adapter.update("contacts", ctx.remote_id, payload)


def _item_payload(ctx, service) -> dict:
    tax_id = ""
    if service.tax_rate_id:
        tax_id = taxes.tax_reference(
            connection=ctx.connection, rate=service.tax_rate.rate, preferred=service.tax_rate
        )
    return item_to_books(service_snapshot(service), tax_id=tax_id)


def item_create(ctx, service) -> RemoteRecord:
    return ctx.adapter.create("items", _item_payload(ctx, service))


def item_update(ctx, service) -> RemoteRecord:
    return ctx.adapter.update("items", ctx.remote_id, _item_payload(ctx, service))


# --- what every document carries: tax ids, currency id; its totals compared after --------------
def _tax_ids(ctx, lines) -> dict[int, str]:
    """Each line's Books tax id ("" untaxed); an unmapped rate raises Rejected naming it."""
    found: dict[tuple, str] = {}
    tax_ids = {}
    for line in lines:
        preferred = line.service.tax_rate if line.service and line.service.tax_rate_id else None
        key = (line.tax_rate, preferred.pk if preferred else None)
        if key not in found:
            found[key] = taxes.tax_reference(
                connection=ctx.connection, rate=line.tax_rate, preferred=preferred
            )
        tax_ids[line.pk] = found[key]
    return tax_ids


def _sales_account_id(ctx) -> str:
    """The connection's default sales account (Connection.options "sales_account_id") for lines
    without an item (an item's line takes the item's account in Books)."""
    return str((ctx.connection.options or {}).get("sales_account_id") or "")


def _currency_id(ctx, document) -> str:
    return taxes.currency_reference(connection=ctx.connection, code=document.currency)


def _compare(ctx, entity: str, resource: str, document, record: RemoteRecord | None) -> None:
    """Books' figures beside ours on the binding (a retry re-reads the document). A balance is
    compared only while nothing is paid here: payments reach Books after the invoice, and each
    compares the balance itself."""
    if record is None:
        record = ctx.adapter.get(resource, ctx.remote_id)
    document.refresh_from_db()
    theirs = documents.books_totals(record.data)
    if getattr(document, "amount_paid", 0):
        theirs.pop("balance")
    totals_compare(connection=ctx.connection, entity=entity, document=document, theirs=theirs)


# --- estimates ----------------------------------------------------------------------------------
def estimate_create(ctx, quote) -> RemoteRecord:
    lines = _lines(quote)
    customer_id = ensure_bound(ctx, Entity.CLIENTS, quote.client)
    item_ids = _item_ids(ctx, lines)
    payload = documents.estimate_payload(
        quote,
        lines,
        customer_id=customer_id,
        item_ids=item_ids,
        tax_ids=_tax_ids(ctx, lines),
        currency_id=_currency_id(ctx, quote),
        account_id=_sales_account_id(ctx),
    )
    return ctx.adapter.create("estimates", payload)


def estimate_mark_sent(ctx, quote, record: RemoteRecord | None) -> None:
    """A quote reaches Books when it is sent: its estimate is created as a draft, then sent;
    its totals are compared with ours."""
    if record is None:
        record = ctx.adapter.get("estimates", ctx.remote_id)
    _compare(ctx, Entity.QUOTES, "estimates", quote, record)
    if record.data.get("status") == "draft":
        ctx.adapter.status_action("estimates", ctx.remote_id, "status/sent")


def _item_ids(ctx, lines) -> dict[int, str]:
    """Books item ids of the lines' services, each bound (found by SKU or created) once."""
    item_ids: dict[int, str] = {}
    for line in lines:
        service = line.service
        if service is not None and service.pk not in item_ids:
            item_ids[service.pk] = ensure_bound(ctx, Entity.SERVICES, service)
    return item_ids


# --- invoices and payments ----------------------------------------------------------------------
def invoice_create(ctx, invoice) -> RemoteRecord:
    estimate_id = ""
    if invoice.quote_id:
        estimate_id = bound_remote_id(ctx.connection, Entity.QUOTES, invoice.quote_id) or ""
    lines = _lines(invoice)
    customer_id = ensure_bound(ctx, Entity.CLIENTS, invoice.client)
    item_ids = _item_ids(ctx, lines)
    payload = documents.invoice_payload(
        invoice,
        lines,
        customer_id=customer_id,
        item_ids=item_ids,
        tax_ids=_tax_ids(ctx, lines),
        currency_id=_currency_id(ctx, invoice),
        estimate_id=estimate_id,
        account_id=_sales_account_id(ctx),
    )
    return ctx.adapter.create("invoices", payload)


def invoice_update(ctx, invoice) -> RemoteRecord:
    """Our invoice written over Books' (reconciliation's "push ours"): lines, dates, discount
    and our number as the reference; Books' totals compared with ours after."""
    lines = _lines(invoice)
    payload = documents.invoice_payload(
        invoice,
        lines,
        customer_id=ensure_bound(ctx, Entity.CLIENTS, invoice.client),
        item_ids=_item_ids(ctx, lines),
        tax_ids=_tax_ids(ctx, lines),
        currency_id=_currency_id(ctx, invoice),
    )
    record = ctx.adapter.update("invoices", ctx.remote_id, payload)
    _compare(ctx, Entity.INVOICES, "invoices", invoice, record)
    return record


def invoice_compare(ctx, invoice, record: RemoteRecord | None) -> None:
    """A new invoice's total and balance against ours (it is a draft there: balance = total)."""
    _compare(ctx, Entity.INVOICES, "invoices", invoice, record)


def payment_create(ctx, payment) -> RemoteRecord:
    invoice_id = bound_remote_id(ctx.connection, Entity.INVOICES, payment.invoice_id)
    if not invoice_id:
        raise Rejected(
            f"Invoice {payment.invoice.number} is not in Zoho Books; the payment cannot be applied."
        )
    customer_id = ensure_bound(ctx, Entity.CLIENTS, payment.invoice.client)
    payload = documents.payment_payload(payment, customer_id=customer_id, invoice_id=invoice_id)
    return ctx.adapter.create("payments", payload)


def payment_compare(ctx, payment, record: RemoteRecord | None) -> None:
    """After a payment the invoice's balance there must be ours: compared on its binding."""
    invoice_id = bound_remote_id(ctx.connection, Entity.INVOICES, payment.invoice_id)
    invoice_record = ctx.adapter.get("invoices", invoice_id)
    payment.invoice.refresh_from_db()
    theirs = documents.books_totals(invoice_record.data)
    if payment.invoice.payments.filter(pk__gt=payment.pk).exists():
        # A later payment (still queued: a backlog after an outage) compares the balance
        # itself; Books' balance now is not ours yet, and that is not a difference.
        theirs.pop("balance", None)
    totals_compare(
        connection=ctx.connection,
        entity=Entity.INVOICES,
        document=payment.invoice,
        theirs=theirs,
    )


EXPORTERS = {
    (Entity.CLIENTS, Operation.CREATE): Exporter(
        send=contact_create,
        lookup=_lookup("contacts", lambda client: client.email),
        base=contact_from_books,
    ),
    (Entity.CLIENTS, Operation.UPDATE): Exporter(
        send=contact_update, base=contact_from_books, fetch=_fetch("contacts")
    ),
    (Entity.SERVICES, Operation.CREATE): Exporter(
        send=item_create,
        lookup=_lookup("items", lambda service: service.sku),
        base=item_from_books,
    ),
    (Entity.SERVICES, Operation.UPDATE): Exporter(
        send=item_update, base=item_from_books, fetch=_fetch("items")
    ),
    (Entity.QUOTES, Operation.CREATE): Exporter(
        send=estimate_create,
        lookup=_lookup("estimates", lambda quote: quote.number),
        base=_document_base,
        after=estimate_mark_sent,
    ),
    (Entity.QUOTES, Operation.ACTION): Exporter(
        send=_status_action("estimates", documents.ESTIMATE_STATUS, "estimates")
    ),
    (Entity.INVOICES, Operation.CREATE): Exporter(
        send=invoice_create,
        lookup=_lookup("invoices", lambda invoice: invoice.number),
        base=_document_base,
        after=invoice_compare,
    ),
    (Entity.INVOICES, Operation.UPDATE): Exporter(send=invoice_update, base=_document_base),
    (Entity.INVOICES, Operation.ACTION): Exporter(
        send=_status_action("invoices", documents.INVOICE_STATUS, "invoices")
    ),
    (Entity.PAYMENTS, Operation.CREATE): Exporter(
        send=payment_create,
        lookup=_lookup("payments", documents.payment_reference),
        after=payment_compare,
    ),
}
