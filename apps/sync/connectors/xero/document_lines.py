"""What every Xero document line carries (item code, tax type, account) and the document's
currency, gathered for a whole batch at once (`documents_ids`: lines, services and tax rates in
one query, bindings in one each, every lookup once); the totals compared with Xero's after a
push (`compare`, `compare_many`); a status posted where "already there" is success
(`status_move`). Used by exporters.py for quotes and invoices."""

from functools import partial

from django.db.models import Prefetch, prefetch_related_objects

from apps.sync.engine import taxes
from apps.sync.engine.bindings import bound_remote_ids
from apps.sync.engine.dependencies import ensure_bound
from apps.sync.engine.records import Rejected, RemoteRecord, VendorError
from apps.sync.engine.totals import totals_compare, totals_compare_many
from apps.sync.models import Entity, RemoteTax

from . import documents, options

# A line with no tax in a taxed document still names a TaxType: Xero's zero-rate "NONE", or
# the organisation's first zero-rate type when it has no "NONE".
NO_TAX = "NONE"


class _Lookups:
    """What the documents of one batch look up, each asked once: a tax type, a currency, the
    default account, a client's or item's Xero id. A failure is kept too: every document that
    needs that answer fails with it, and Xero is not asked again in the same batch."""

    def __init__(self) -> None:
        self.answers: dict[tuple, object] = {}

    def once(self, key: tuple, ask):
        if key not in self.answers:
            try:
                self.answers[key] = ask()
            except VendorError as error:
                self.answers[key] = error
        answer = self.answers[key]
        if isinstance(answer, VendorError):
            raise answer
        return answer


def _read_lines(docs, related: tuple[str, ...]) -> None:
    """Every document's lines (with their services and tax rates) and `related` rows, in one
    query each however many documents and lines there are."""
    line_model = type(docs[0]).lines.rel.related_model
    prefetch_related_objects(
        docs,
        Prefetch(
            "lines",
            queryset=line_model.objects.select_related("service__tax_rate").order_by(
                "position", "id"
            ),
        ),
        *related,
    )


def _item_codes(ctx, lines, lookups: _Lookups) -> dict[int, str]:
    """Each line's Xero item code: its service's SKU, the item bound (found or made) once.
    A service without a SKU has no Xero item: its line goes by description alone."""
    codes = {}
    for line in lines:
        service = line.service
        if service is None or not service.sku:
            continue
        lookups.once(("item", service.pk), partial(ensure_bound, ctx, Entity.SERVICES, service))
        codes[line.pk] = service.sku[:30]
    return codes


def _zero_tax_type(ctx) -> str:
    zero = RemoteTax.objects.filter(connection=ctx.connection, active=True, rate=0)
    if zero.filter(remote_id=NO_TAX).exists():
        return NO_TAX
    return zero.order_by("pk").values_list("remote_id", flat=True).first() or NO_TAX


def _tax_type(ctx, rate, preferred, lookups: _Lookups) -> str:
    return taxes.tax_reference(
        connection=ctx.connection, rate=rate, preferred=preferred
    ) or lookups.once(("zero tax",), partial(_zero_tax_type, ctx))


def _tax_types(ctx, lines, lookups: _Lookups) -> dict[int, str]:
    """Each line's TaxType (engine/taxes.py's mapping); an unmapped rate raises Rejected."""
    tax_types = {}
    for line in lines:
        preferred = line.service.tax_rate if line.service and line.service.tax_rate_id else None
        key = ("tax", line.tax_rate, preferred.pk if preferred else None)
        tax_types[line.pk] = lookups.once(
            key, partial(_tax_type, ctx, line.tax_rate, preferred, lookups)
        )
    return tax_types


def _account_codes(ctx, lines, item_codes: dict[int, str], lookups, codes) -> dict[int, str]:
    """Each line's AccountCode: its item's sales account, else the connection's default (the
    items' accounts read once for all the batch's item `codes`)."""
    connection = ctx.connection
    default = lookups.once(
        ("sales account",), partial(options.sales_account_for, connection, ctx.adapter)
    )
    item_accounts = {}
    if item_codes:
        item_accounts = lookups.once(
            ("item accounts",),
            partial(options.item_sales_accounts, connection, ctx.adapter, codes),
        )
    return {
        line.pk: item_accounts.get(item_codes.get(line.pk, ""), "") or default for line in lines
    }


def documents_ids(ctxs, docs, related: tuple[str, ...]) -> list[dict | VendorError]:
    """Per document (a quote or invoice), in order, the ids its payload names in Xero: its
    lines with their item codes, TaxTypes and AccountCodes, its currency and its contact; or
    the error of that document alone (an unmapped tax, a client Xero refuses).

    Built for a whole batch at once, so that the reads do not grow with its documents and
    lines: the lines with their services and tax rates in one query, the clients' and items'
    bindings in one query each, every tax, currency and account looked up once. Dependencies
    are bound before the items' accounts are read, so an item made here is in that read."""
    if not docs:
        return []
    _read_lines(docs, ("client", *related))
    connection = ctxs[0].connection
    lookups = _Lookups()
    services = {
        line.service_id for document in docs for line in document.lines.all() if line.service_id
    }
    for entity, ids in (
        (Entity.CLIENTS, {document.client_id for document in docs}),
        (Entity.SERVICES, services),
    ):
        kind = "client" if entity == Entity.CLIENTS else "item"
        for object_id, remote_id in bound_remote_ids(connection, entity, ids).items():
            lookups.answers[(kind, object_id)] = remote_id
    found: list[dict | VendorError] = []
    for ctx, document in zip(ctxs, docs, strict=True):
        lines = list(document.lines.all())
        try:
            found.append(
                {
                    "lines": lines,
                    "item_codes": _item_codes(ctx, lines, lookups),
                    "contact_id": lookups.once(
                        ("client", document.client_id),
                        partial(ensure_bound, ctx, Entity.CLIENTS, document.client),
                    ),
                }
            )
        except VendorError as error:
            found.append(error)
    codes = {code for ids in found if isinstance(ids, dict) for code in ids["item_codes"].values()}
    for index, (ctx, document) in enumerate(zip(ctxs, docs, strict=True)):
        ids = found[index]
        if isinstance(ids, VendorError):
            continue
        try:
            ids["tax_types"] = _tax_types(ctx, ids["lines"], lookups)
            ids["account_codes"] = _account_codes(
                ctx, ids["lines"], ids["item_codes"], lookups, codes
            )
            ids["currency_code"] = lookups.once(
                ("currency", document.currency),
                partial(taxes.currency_reference, connection=connection, code=document.currency),
            )
        except VendorError as error:
            found[index] = error
    return found


def document_payloads(ctxs, docs, build, related=()) -> list[dict | VendorError]:
    """`build(document, lines, **ids)` for every document of a batch (`documents_ids`)."""
    payloads: list[dict | VendorError] = []
    for document, ids in zip(docs, documents_ids(ctxs, docs, related), strict=True):
        if isinstance(ids, VendorError):
            payloads.append(ids)
        else:
            payloads.append(build(document, ids.pop("lines"), **ids))
    return payloads


def document_payload(ctx, document, build, related=()) -> dict:
    """One document's payload (sent on its own); raises its error."""
    [payload] = document_payloads([ctx], [document], build, related)
    if isinstance(payload, VendorError):
        raise payload
    return payload


def compare_many(ctxs, entity: str, docs, records) -> None:
    """`compare` for a batch's documents, each against the record Xero answered: the
    documents read again in one query (our totals as they are now) and compared together."""
    fresh = type(docs[0]).objects.in_bulk([document.pk for document in docs])
    pairs = []
    for document, record in zip(docs, records, strict=True):
        document = fresh.get(document.pk, document)
        theirs = documents.xero_totals(record.data)
        if entity == Entity.QUOTES or getattr(document, "amount_paid", 0):
            theirs.pop("balance")
        pairs.append((document, theirs))
    totals_compare_many(connection=ctxs[0].connection, entity=entity, pairs=pairs)


def compare(ctx, entity: str, resource: str, document, record: RemoteRecord | None) -> None:
    """Xero's figures beside ours on the binding. A balance is compared only while nothing is
    paid here: payments reach Xero after the invoice, and each compares the balance itself."""
    if record is None:
        record = ctx.adapter.get(resource, ctx.remote_id)
    document.refresh_from_db()
    theirs = documents.xero_totals(record.data)
    if entity == Entity.QUOTES or getattr(document, "amount_paid", 0):
        theirs.pop("balance")
    totals_compare(connection=ctx.connection, entity=entity, document=document, theirs=theirs)


def status_move(
    ctx, resource: str, remote_id: str, payload: dict, *, done: set[str], step: str = ""
) -> None:
    """Post a status; a refusal because the document is already there (or past it) is success.
    A follow-up of a create (`step`) gets a key of its own: Xero refuses a key reused for
    another request."""
    key = ctx.idempotency_key
    if key and step:
        key = f"{key}-{step}"
    try:
        ctx.adapter.update(resource, remote_id, payload, idempotency_key=key or None)
    except Rejected:
        if ctx.adapter.get(resource, remote_id).data.get("Status") not in done:
            raise
