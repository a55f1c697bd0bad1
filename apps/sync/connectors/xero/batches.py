"""Xero batch writes (vendor-contracts.md §4.7-4.9, ecosystem-notes.md §10(e)): many elements per
PUT (create) or POST (update) with `summarizeErrors=false`, so the call answers 200 with every
element and its own `StatusAttributeString` and `ValidationErrors`; each element is matched to
its record by our reference (creates) or Xero's id (updates), never by position; a bad element
is refused alone, with the field its message names. Creates made by an uncertain batch are
looked up many at once: by one list call (`InvoiceNumbers=`) where Xero has one, else by the
records whose reference is one of many (`where` with OR; payments by `Reference.StartsWith`)."""

import re

from django.conf import settings

from apps.sync.engine.records import (
    MalformedAnswer,
    Rejected,
    RemoteRecord,
    TransientError,
    VendorError,
)
from apps.sync.engine.schema import one_record

from .adapter import DOCUMENTS, RESOURCES, XeroAdapter
from .schemas import SCHEMAS

# Xero advises bundles of up to 50 elements (ecosystem-notes.md §10(e)); a setting.
BATCH_SIZE = max(1, settings.SYNC_XERO_BATCH_SIZE)
# References looked up per call: Xero's InvoiceNumbers= takes about 52 in a URL (§10(e)).
LOOKUP_CHUNK = 40
# Ids read per call by `IDs=`: 50 Guids of 36 characters are about 1,900 in a URL.
IDS_CHUNK = 50
# Where a message names a field by words rather than by its API name.
FIELD_WORDS = (
    ("contact name", "Name"),
    ("email", "EmailAddress"),
    ("item code", "Code"),
    ("contact must be specified", "Contact"),
    ("invoice number", "InvoiceNumber"),
    ("invoice #", "InvoiceNumber"),
    ("account code", "AccountCode"),
    ("tax type", "TaxType"),
    ("payment amount", "Amount"),
)


def _field_names(payload: dict) -> set[str]:
    names = set()
    for key, value in payload.items():
        names.add(key)
        rows = value if isinstance(value, list) else [value]
        for row in rows:
            if isinstance(row, dict):
                names |= _field_names(row)
    return names


def field_of(message: str, payload: dict) -> str:
    """The payload field a validation message is about ("__all__" when it names none)."""
    for name in sorted(_field_names(payload), key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", message):
            return name
    lowered = message.lower()
    for words, name in FIELD_WORDS:
        if words in lowered:
            return name
    return "__all__"


def element_error(element: dict, payload: dict, what: str) -> Rejected:
    messages = [
        str(error.get("Message") or "")
        for error in element.get("ValidationErrors") or []
        if isinstance(error, dict)
    ] or ["Xero refused it without a message."]
    fields: dict[str, list[str]] = {}
    for message in messages:
        fields.setdefault(field_of(message, payload), []).append(message)
    text = "; ".join(f"{name}: {'; '.join(found)}" for name, found in fields.items())
    return Rejected(f"Xero refused {what}: {text}", status=200, fields=fields)


def save_many(
    adapter: XeroAdapter,
    resource: str,
    payloads: list[dict],
    *,
    idempotency_key: str,
    update: bool = False,
) -> list[RemoteRecord | VendorError]:
    """One PUT (creates) or POST (updates) for every payload; per payload its record or error."""
    collection, id_field, number_field, *_ = RESOURCES[resource]
    match = id_field if update else number_field
    if update and len(payloads) == 1:
        # One update goes to the record's own URL, as it does outside a batch.
        payload = {k: v for k, v in payloads[0].items() if k != id_field}
        try:
            return [
                adapter.update(
                    resource, payloads[0][id_field], payload, idempotency_key=idempotency_key
                )
            ]
        except Rejected as error:
            return [error]
    params = {"summarizeErrors": "false"}
    if resource in DOCUMENTS:
        params["unitdp"] = "4"  # unit amounts to four places, as one document is sent
    body = adapter._call(
        "POST" if update else "PUT",
        collection,
        params=params,
        json_body={collection: payloads},
        headers={"Idempotency-Key": idempotency_key},
    )
    answers = body.get(collection)
    if not isinstance(answers, list):
        raise MalformedAnswer(f"Xero {collection}: the answer holds no list of {collection}.")
    by_key: dict[str, dict] = {}
    for element in answers:
        if isinstance(element, dict) and element.get(match):
            by_key.setdefault(str(element[match]), element)
    results: list[RemoteRecord | VendorError] = []
    for payload in payloads:
        key = str(payload.get(match) or "")
        what = f"{collection[:-1].lower()} {key}" if key else collection[:-1].lower()
        element = by_key.get(key) if key else None
        if element is None:
            # Sent, and not answered for: it may exist; looked up before it is sent again.
            results.append(TransientError(f"Xero's answer says nothing of {what}.", uncertain=True))
        elif element.get("StatusAttributeString") == "ERROR" or (
            element.get("ValidationErrors")
            and element.get("StatusAttributeString") not in ("OK", "WARNING")
        ):
            results.append(element_error(element, payload, what))
        else:
            try:
                results.append(
                    one_record(
                        element,
                        schema=SCHEMAS[resource],
                        build=lambda row: adapter._record(resource, row),
                        what=f"Xero {what}",
                    )
                )
            except MalformedAnswer as error:
                results.append(TransientError(str(error), uncertain=True))
    return results


def find_many(adapter: XeroAdapter, resource: str, references: list[str]) -> list:
    """The records carrying `references` (in order; None where there is none), LOOKUP_CHUNK a
    call: invoices by Xero's `InvoiceNumbers=` filter, contacts, items and quotes by a `where`
    of comparisons joined by OR, payments by our reference at the start of theirs."""
    if len(references) == 1:
        return [adapter.find_by_reference(resource, references[0])]
    if resource == "payments":
        return _payments_find(adapter, references)
    field = {
        "contacts": "ContactNumber",
        "items": "Code",
        "invoices": "InvoiceNumber",
        "quotes": "QuoteNumber",
    }[resource]
    found: dict[str, RemoteRecord] = {}
    for start in range(0, len(references), LOOKUP_CHUNK):
        chunk = references[start : start + LOOKUP_CHUNK]
        if resource == "invoices":
            records = adapter._filtered(resource, {"InvoiceNumbers": ",".join(chunk)})
        elif resource == "quotes":
            records = _quotes_where(adapter, chunk)
        else:
            records = adapter.list_page(resource, where=_any_of(field, "==", chunk)).records
        for record in records:
            if resource == "quotes" and record.data.get("Status") == "DELETED":
                continue  # a deleted quote is not the one we made (find_by_reference's rule)
            found.setdefault(str(record.data.get(field) or ""), record)
    return [found.get(reference) for reference in references]


def _any_of(field: str, comparison: str, references: list[str]) -> str:
    """A `where` of one comparison per reference, joined by OR (quotes in them escaped)."""
    parts = []
    for reference in references:
        text = reference.replace('"', '\\"')
        if comparison == "StartsWith":
            parts.append(f'{field}.StartsWith("{text}")')
        else:
            parts.append(f'{field}{comparison}"{text}"')
    return " OR ".join(parts)


def _quotes_where(adapter: XeroAdapter, numbers: list[str]) -> list[RemoteRecord]:
    """Quotes whose QuoteNumber is one of `numbers`, in one call where Xero applies the `where`.

    Xero's OAS and docs give GET /Quotes no `where` and no many-numbers filter (QuoteNumber
    takes one): the `where` with OR that contacts use is tried, and an answer holding a quote
    not asked for, or a further page, shows it was not applied; then each number is asked for
    by QuoteNumber= (one call each), so a quote is never missed and sent twice."""
    page = adapter.list_page("quotes", where=_any_of("QuoteNumber", "==", numbers))
    asked = {number.lower() for number in numbers}
    answered = {str(r.data.get("QuoteNumber") or "").lower() for r in page.records}
    if page.next_page is None and answered <= asked:
        return page.records
    records = []
    for number in numbers:
        record = adapter.find_by_reference("quotes", number)
        if record is not None:
            records.append(record)
    return records


def _payments_find(adapter: XeroAdapter, references: list[str]) -> list:
    """Our payments by the reference we put first in theirs (followed by the payer's, if any);
    a deleted payment is not ours any more (find_by_reference's rule)."""
    found: dict[str, RemoteRecord] = {}
    wanted = set(references)
    for start in range(0, len(references), LOOKUP_CHUNK):
        chunk = references[start : start + LOOKUP_CHUNK]
        where, page_number = _any_of("Reference", "StartsWith", chunk), 1
        while page_number is not None:
            page = adapter.list_page("payments", where=where, page=page_number)
            for record in page.records:
                if record.data.get("Status") == "DELETED":
                    continue
                theirs = str(record.data.get("Reference") or "")
                ours = theirs.split(" ", 1)[0]
                if ours in wanted:
                    found.setdefault(ours, record)
            page_number = page.next_page
    return [found.get(reference) for reference in references]


def records_by_ids(adapter: XeroAdapter, resource: str, ids: list[str]) -> dict[str, RemoteRecord]:
    """Records by Xero's ids (`IDs=`, IDS_CHUNK a call), keyed by id."""
    found: dict[str, RemoteRecord] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), IDS_CHUNK):
        chunk = unique[start : start + IDS_CHUNK]
        for record in adapter._filtered(resource, {"IDs": ",".join(chunk)}):
            found[record.remote_id] = record
    return found
