"""Xero exporters, one per (entity, operation): contacts (our reference in ContactNumber) and
items (the SKU as Code), created with PUT and updated with POST; quotes (created SENT, then
accepted, declined, invoiced), ACCREC invoices (DRAFT or AUTHORISED, then authorised, voided)
and payments into the connection's bank account. Every call carries the outbox item's
Idempotency-Key, so a resend inside Xero's replay window is answered from its cache; a create
that may have reached Xero is looked up by our number before any retry.

Each element's payload is built by its own function (`quote_payload(ctx, quote)` and so on:
bound ids, taxes and accounts gathered, then documents.py's pure mapping), apart from the call
that sends it, so that a batch can send many payloads in one call: contacts, items, quotes,
invoices and payments go up to 50 a call (batches.py; engine/batch.py), each element answered
for by itself and matched by our reference, under one Idempotency-Key per call. Documents'
payloads are built a chunk at a time (`invoice_payloads`, `quote_payloads`: what they share read
once) and an invoice chunk's follow-up runs as a whole (`invoices_after`); one document alone is
a chunk of one."""

from dataclasses import replace

from apps.clients.models import Client
from apps.sync.engine import taxes
from apps.sync.engine.bindings import bound_remote_id, bound_remote_ids
from apps.sync.engine.dependencies import ensure_bound
from apps.sync.engine.entities import client_reference, client_snapshot, service_snapshot
from apps.sync.engine.records import (
    NoLookupKey,
    Rejected,
    RemoteRecord,
    TransientError,
    VendorError,
)
from apps.sync.engine.registry import BatchForm, Exporter
from apps.sync.engine.totals import totals_compare
from apps.sync.models import Binding, Entity, Operation

from . import documents, options
from .batches import BATCH_SIZE, find_many, records_by_ids, save_many
from .document_lines import (
    compare,
    compare_many,
    document_payload,
    document_payloads,
    status_move,
)
from .mappers import contact_from_xero, contact_to_xero, item_from_xero, item_to_xero


# --- contacts and items -------------------------------------------------------------------------
def contact_payload(ctx, client) -> dict:
    # The client's own reference, also when it is made as a document's dependency.
    return contact_to_xero(client_snapshot(client), reference=client_reference(client))


def item_payload(ctx, service) -> dict:
    tax_type = ""
    if service.tax_rate_id:
        tax_type = taxes.tax_reference(
            connection=ctx.connection, rate=service.tax_rate.rate, preferred=service.tax_rate
        )
    return item_to_xero(
        service_snapshot(service),
        tax_type=tax_type,
        account_code=options.sales_account_for(ctx.connection, ctx.adapter),
    )


PAYLOADS = {Entity.CLIENTS: contact_payload, Entity.SERVICES: item_payload}


def _payload(ctx, entity: str, obj) -> dict:
    """One contact's or item's element (the batched forms build on it too)."""
    return PAYLOADS[entity](ctx, obj)


def idempotency_key(ctx, entity: str, obj) -> str:
    """The outbox item's key for its own record; for a dependency made on the way (a
    document's contact or item), a key derived from it: Xero refuses a key reused for another
    request, and a retry of the document derives the same key again."""
    item = ctx.item
    if item is None:
        return ""
    if item.entity == entity and item.object_id == obj.pk:
        return ctx.idempotency_key
    return f"{ctx.idempotency_key}-{entity}-{obj.pk}"


def _create(resource: str, entity: str):
    def send(ctx, obj) -> RemoteRecord:
        return ctx.adapter.create(
            resource,
            _payload(ctx, entity, obj),
            idempotency_key=idempotency_key(ctx, entity, obj),
        )

    return send


def _update(resource: str, entity: str):
    def send(ctx, obj) -> RemoteRecord:
        return ctx.adapter.update(
            resource,
            ctx.remote_id,
            _payload(ctx, entity, obj),
            idempotency_key=ctx.idempotency_key,
        )

    return send


def contact_create(ctx, client) -> RemoteRecord:
    """Xero keeps contact names unique. A contact already there under the client's name is
    the client when its e-mail is the client's (or it has none): it is bound, not duplicated.
    Another person of that name is a refusal naming the field, for someone to rename one."""
    try:
        return _create("contacts", Entity.CLIENTS)(ctx, client)
    except Rejected as error:
        if "already assigned" not in error.message:
            raise
        return _same_name(ctx, client, error)


def _same_name(ctx, client, error: Rejected) -> RemoteRecord:
    escaped = client.name.replace('"', '\\"')
    page = ctx.adapter.list_page("contacts", where=f'Name=="{escaped}"')
    for record in page.records:
        email = str(record.data.get("EmailAddress") or "").strip().lower()
        taken = Binding.objects.filter(
            connection=ctx.connection, entity=Entity.CLIENTS, remote_id=record.remote_id
        ).exists()  # another client here is that contact already: not this one
        if (
            not taken
            and str(record.data.get("Name") or "").lower() == client.name.lower()
            and (not email or email == client.email.strip().lower())
        ):
            return record
    raise Rejected(
        f"Xero already has another contact named “{client.name}” (not "
        f"{client.email or 'this client'}), and contact names are unique there: rename "
        "the client here or the contact in Xero, then requeue this item.",
        status=error.status,
        fields={"name": [error.message]},
    ) from error


def contact_find(ctx, client) -> RemoteRecord | None:
    return ctx.adapter.find_by_reference("contacts", client_reference(client))


def item_find(ctx, service) -> RemoteRecord | None:
    if not service.sku:
        raise NoLookupKey(
            f"An earlier attempt to create '{service}' may have reached Xero, and it has no key "
            "to look it up by (it needs a SKU). Sending it again could make a duplicate: check "
            "Xero, then bind or requeue this item."
        )
    return ctx.adapter.find_by_reference("items", service.sku[:30])


def _fetch(resource: str):
    return lambda ctx, remote_id: ctx.adapter.get(resource, remote_id)


# --- quotes -------------------------------------------------------------------------------------
# A move is done when Xero's quote is at the target or past it.
QUOTE_DONE = {
    "SENT": {"SENT", "ACCEPTED", "DECLINED", "INVOICED"},
    "ACCEPTED": {"ACCEPTED", "INVOICED"},
    "DECLINED": {"DECLINED"},
    "INVOICED": {"INVOICED"},
}


def _quote_document(quote, lines, **ids) -> dict:
    return documents.quote_document(quote, lines, status="SENT", **ids)


def quote_payloads(ctxs, quotes) -> list[dict | VendorError]:
    """Every quote's element of a batch, what they share read once (`documents_ids`)."""
    return document_payloads(ctxs, quotes, _quote_document)


def quote_payload(ctx, quote) -> dict:
    return document_payload(ctx, quote, _quote_document)


def quote_create(ctx, quote) -> RemoteRecord:
    return ctx.adapter.create(
        "quotes", quote_payload(ctx, quote), idempotency_key=ctx.idempotency_key
    )


def quote_find(ctx, quote) -> RemoteRecord | None:
    return ctx.adapter.find_by_reference("quotes", quote.number)


def quote_after(ctx, quote, record: RemoteRecord | None) -> None:
    """Xero's totals against ours; a quote an earlier attempt left in DRAFT is marked SENT."""
    if record is None:
        record = ctx.adapter.get("quotes", ctx.remote_id)
    compare(ctx, Entity.QUOTES, "quotes", quote, record)
    _quote_sent(ctx, quote, record)


def quotes_after(ctxs, quotes, records) -> list[VendorError | None]:
    """`quote_after` for a batch's quotes: the totals compared together (`compare_many`), then
    a quote left in DRAFT marked SENT on its own (a call each; an error is that quote's alone)."""
    compare_many(ctxs, Entity.QUOTES, quotes, records)
    errors: list[VendorError | None] = []
    for ctx, quote, record in zip(ctxs, quotes, records, strict=True):
        try:
            _quote_sent(ctx, quote, record)
        except VendorError as error:
            errors.append(error)
        else:
            errors.append(None)
    return errors


def _quote_sent(ctx, quote, record: RemoteRecord) -> None:
    if record.data.get("Status") == "DRAFT":
        contact_id = ensure_bound(ctx, Entity.CLIENTS, quote.client)
        status_move(
            ctx,
            "quotes",
            ctx.remote_id,
            documents.quote_status(quote, contact_id=contact_id, status="SENT"),
            done=QUOTE_DONE["SENT"],
            step="sent",
        )


def quote_action(ctx, quote) -> None:
    status = documents.QUOTE_STATUS.get(ctx.intent.get("status"))
    if status is None:
        raise Rejected(f"Xero quotes have no status for '{ctx.intent.get('status')}'.")
    contact_id = ensure_bound(ctx, Entity.CLIENTS, quote.client)
    status_move(
        ctx,
        "quotes",
        ctx.remote_id,
        documents.quote_status(quote, contact_id=contact_id, status=status),
        done=QUOTE_DONE[status],
    )


# --- invoices -----------------------------------------------------------------------------------
# An invoice's Reference is its quote's number.
INVOICE_RELATED = ("quote",)


def invoice_payloads(ctxs, invoices) -> list[dict | VendorError]:
    """Every invoice's element of a batch, what they share read once (`documents_ids`)."""
    return document_payloads(ctxs, invoices, documents.invoice_document, INVOICE_RELATED)


def invoice_payload(ctx, invoice) -> dict:
    return document_payload(ctx, invoice, documents.invoice_document, INVOICE_RELATED)


def invoice_create(ctx, invoice) -> RemoteRecord:
    return ctx.adapter.create(
        "invoices", invoice_payload(ctx, invoice), idempotency_key=ctx.idempotency_key
    )


def invoice_find(ctx, invoice) -> RemoteRecord | None:
    return ctx.adapter.find_by_reference("invoices", invoice.number)


def invoice_after(ctx, invoice, record: RemoteRecord | None) -> None:
    """Xero's totals against ours, and the invoiced quote marked INVOICED there."""
    compare(ctx, Entity.INVOICES, "invoices", invoice, record)
    if invoice.quote_id:
        _quote_invoiced(
            ctx, invoice, bound_remote_id(ctx.connection, Entity.QUOTES, invoice.quote_id)
        )


def invoices_after(ctxs, invoices, records) -> list[VendorError | None]:
    """`invoice_after` for a batch's invoices: the totals compared together (`compare_many`),
    then each invoiced quote marked INVOICED on its own (a call each; an error is that
    invoice's alone)."""
    compare_many(ctxs, Entity.INVOICES, invoices, records)
    quoted = [invoice.quote_id for invoice in invoices if invoice.quote_id]
    quote_ids = bound_remote_ids(ctxs[0].connection, Entity.QUOTES, quoted) if quoted else {}
    errors: list[VendorError | None] = []
    for ctx, invoice in zip(ctxs, invoices, strict=True):
        try:
            if invoice.quote_id:
                _quote_invoiced(ctx, invoice, quote_ids.get(invoice.quote_id))
        except VendorError as error:
            errors.append(error)
        else:
            errors.append(None)
    return errors


def _quote_invoiced(ctx, invoice, quote_id: str | None) -> None:
    if not quote_id:
        return  # the quote never reached Xero (sent before the connection existed)
    contact_id = ensure_bound(ctx, Entity.CLIENTS, invoice.client)
    status_move(
        ctx,
        "quotes",
        quote_id,
        documents.quote_status(invoice.quote, contact_id=contact_id, status="INVOICED"),
        done=QUOTE_DONE["INVOICED"],
        step="quote-invoiced",
    )


def invoice_action(ctx, invoice) -> None:
    """Sent -> AUTHORISED; void -> VOIDED (a Xero draft cannot be voided: it is DELETED)."""
    intent = ctx.intent.get("status")
    status = documents.INVOICE_STATUS.get(intent)
    if status is None:
        raise Rejected(f"Xero invoices have no status for '{intent}'.")
    if status == "AUTHORISED":
        status_move(ctx, "invoices", ctx.remote_id, {"Status": status}, done={"AUTHORISED", "PAID"})
        return
    current = ctx.adapter.get("invoices", ctx.remote_id).data.get("Status")
    if current in ("VOIDED", "DELETED"):
        return
    if current in ("DRAFT", "SUBMITTED"):
        status = "DELETED"
    status_move(ctx, "invoices", ctx.remote_id, {"Status": status}, done={status})


# --- payments -----------------------------------------------------------------------------------
def payment_payload(ctx, payment) -> dict:
    invoice_id = bound_remote_id(ctx.connection, Entity.INVOICES, payment.invoice_id)
    if not invoice_id:
        raise Rejected(
            f"Invoice {payment.invoice.number} is not in Xero; the payment cannot be applied."
        )
    return documents.payment_document(
        payment, invoice_id=invoice_id, account_code=options.bank_account_for(ctx.connection)
    )


def payment_create(ctx, payment) -> RemoteRecord:
    return ctx.adapter.create(
        "payments", payment_payload(ctx, payment), idempotency_key=ctx.idempotency_key
    )


def payment_find(ctx, payment) -> RemoteRecord | None:
    return ctx.adapter.find_by_reference("payments", documents.payment_reference(payment))


def payment_after(ctx, payment, record: RemoteRecord | None) -> None:
    """After a payment the invoice's AmountDue there must be our balance. A batch read its
    invoices once, after all its payments (payments_read_invoices); alone, it is read here."""
    invoice_id = bound_remote_id(ctx.connection, Entity.INVOICES, payment.invoice_id)
    invoice_record = ctx.prefetched.get(("invoices", invoice_id))
    if invoice_record is None:
        invoice_record = ctx.adapter.get("invoices", invoice_id)
    payment.invoice.refresh_from_db()
    totals_compare(
        connection=ctx.connection,
        entity=Entity.INVOICES,
        document=payment.invoice,
        theirs=documents.xero_totals(invoice_record.data),
    )


# --- batches (engine/batch.py) -----------------------------------------------------------------
def _batch(
    resource: str,
    build,
    *,
    update: bool = False,
    find=None,
    refused=None,
    build_many=None,
    after_many=None,
) -> BatchForm:
    """A BatchForm of `resource`: `build(ctx, obj)` makes one element; `build_many(ctxs,
    objs)`, when given, every element of a batch at once (per element a payload or an error);
    `after_many` the creates' follow-up for the whole batch (BatchForm.after_many)."""
    id_field = {"contacts": "ContactID", "items": "ItemID"}.get(resource, "")

    def payload(ctx, obj) -> dict:
        body = build(ctx, obj)
        return {id_field: ctx.remote_id, **body} if update else body

    def payloads(ctxs, objs) -> list:
        bodies = build_many(ctxs, objs)
        if not update:
            return bodies
        return [
            body if isinstance(body, VendorError) else {id_field: ctx.remote_id, **body}
            for ctx, body in zip(ctxs, bodies, strict=True)
        ]

    def send_many(ctxs, payloads, key) -> list:
        results = save_many(ctxs[0].adapter, resource, payloads, idempotency_key=key, update=update)
        return refused(ctxs, results) if refused is not None else results

    return BatchForm(
        payload=payload,
        send_many=send_many,
        lookup_many=find,
        size=BATCH_SIZE,
        payloads=payloads if build_many is not None else None,
        after_many=after_many,
    )


def contacts_refused(ctxs, results) -> list:
    """An element refused for its name is the client when Xero's contact of that name is the
    same person (contact_create's rule, element by element)."""
    for index, result in enumerate(results):
        if isinstance(result, Rejected) and "already assigned" in result.message:
            ctx = ctxs[index]
            client = Client.objects.get(pk=ctx.item.object_id)
            try:
                results[index] = _same_name(ctx, client, result)
            except Rejected as error:
                results[index] = error
            except VendorError as error:
                # The batch's PUT was answered (the others were made): this element is looked
                # up again before any resend, never sent blind.
                results[index] = TransientError(str(error), uncertain=True)
    return results


def contacts_find(ctxs, clients) -> list:
    return find_many(ctxs[0].adapter, "contacts", [client_reference(c) for c in clients])


def items_find(ctxs, services) -> list:
    answers: list = [None] * len(services)
    keyed = []
    for index, service in enumerate(services):
        if service.sku:
            keyed.append(index)
        else:
            try:
                item_find(ctxs[index], service)
            except NoLookupKey as error:
                answers[index] = error
    if keyed:
        found = find_many(ctxs[0].adapter, "items", [services[i].sku[:30] for i in keyed])
        for index, record in zip(keyed, found, strict=True):
            answers[index] = record
    return answers


def quotes_find(ctxs, quotes) -> list:
    return find_many(ctxs[0].adapter, "quotes", [quote.number for quote in quotes])


def payments_read_invoices(ctxs, results: list) -> list:
    """The invoices of a batch's payments read in one call (`IDs=`) once the batch is answered,
    and handed to each payment's follow-up (payment_after), instead of one read per payment.
    A read that fails leaves each follow-up to read its own invoice."""
    invoice_ids = {}
    for ctx, result in zip(ctxs, results, strict=True):
        if isinstance(result, RemoteRecord):
            invoice = result.data.get("Invoice")
            invoice_id = str(invoice.get("InvoiceID") or "") if isinstance(invoice, dict) else ""
            if invoice_id:
                invoice_ids[ctx.item.pk] = invoice_id
    if not invoice_ids:
        return results
    try:
        invoices = records_by_ids(ctxs[0].adapter, "invoices", list(invoice_ids.values()))
    except VendorError:
        return results
    for ctx in ctxs:
        record = invoices.get(invoice_ids.get(ctx.item.pk, ""))
        if record is not None:
            ctx.prefetched[("invoices", record.remote_id)] = record
    return results


def payments_find(ctxs, payments) -> list:
    answers = find_many(
        ctxs[0].adapter, "payments", [documents.payment_reference(p) for p in payments]
    )
    return payments_read_invoices(ctxs, answers)


def invoices_find(ctxs, invoices) -> list:
    return find_many(ctxs[0].adapter, "invoices", [invoice.number for invoice in invoices])


def _payments_batch() -> BatchForm:
    """Payments many per call, their invoices read once after the call (not per payment)."""
    form = _batch("payments", payment_payload, find=payments_find)

    def send_many(ctxs, payloads, key) -> list:
        return payments_read_invoices(ctxs, form.send_many(ctxs, payloads, key))

    return replace(form, send_many=send_many)


def _document_base(record: RemoteRecord) -> dict:
    return {"status": record.data.get("Status"), "total": str(record.data.get("Total"))}


EXPORTERS = {
    (Entity.CLIENTS, Operation.CREATE): Exporter(
        send=contact_create,
        lookup=contact_find,
        base=contact_from_xero,
        batch=_batch("contacts", contact_payload, find=contacts_find, refused=contacts_refused),
    ),
    (Entity.CLIENTS, Operation.UPDATE): Exporter(
        send=_update("contacts", Entity.CLIENTS),
        base=contact_from_xero,
        fetch=_fetch("contacts"),
        batch=_batch("contacts", contact_payload, update=True),
    ),
    (Entity.SERVICES, Operation.CREATE): Exporter(
        send=_create("items", Entity.SERVICES),
        lookup=item_find,
        base=item_from_xero,
        batch=_batch("items", item_payload, find=items_find),
    ),
    (Entity.SERVICES, Operation.UPDATE): Exporter(
        send=_update("items", Entity.SERVICES),
        base=item_from_xero,
        fetch=_fetch("items"),
        batch=_batch("items", item_payload, update=True),
    ),
    (Entity.QUOTES, Operation.CREATE): Exporter(
        send=quote_create,
        lookup=quote_find,
        base=_document_base,
        after=quote_after,
        batch=_batch(
            "quotes",
            quote_payload,
            find=quotes_find,
            build_many=quote_payloads,
            after_many=quotes_after,
        ),
    ),
    (Entity.QUOTES, Operation.ACTION): Exporter(send=quote_action),
    (Entity.INVOICES, Operation.CREATE): Exporter(
        send=invoice_create,
        lookup=invoice_find,
        base=_document_base,
        after=invoice_after,
        batch=_batch(
            "invoices",
            invoice_payload,
            find=invoices_find,
            build_many=invoice_payloads,
            after_many=invoices_after,
        ),
    ),
    (Entity.INVOICES, Operation.ACTION): Exporter(send=invoice_action),
    (Entity.PAYMENTS, Operation.CREATE): Exporter(
        send=payment_create,
        lookup=payment_find,
        after=payment_after,
        batch=_payments_batch(),
    ),
}
