"""Xero batch writes (vendor-contracts.md §4.7-4.9, ecosystem-notes.md §10(e)): many elements per
PUT (create) or POST (update) with `summarizeErrors=false`, so the call answers 200 with every
element and its own `StatusAttributeString` and `ValidationErrors`; each element is matched to
its record by our reference (creates) or Xero's id (updates), never by position; a bad element
is refused alone, with the field its message names. Creates made by an uncertain batch are
looked up many at once: by one list call (`InvoiceNumbers=`) where Xero has one, else by the
records whose reference is one of many (`where` with OR)."""

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
    call: invoices by Xero's `InvoiceNumbers=` filter, contacts and items by a `where` of
    comparisons joined by OR."""
    if len(references) == 1:
        return [adapter.find_by_reference(resource, references[0])]
    field = {"contacts": "ContactNumber", "items": "Code", "invoices": "InvoiceNumber"}[resource]
    found: dict[str, RemoteRecord] = {}
    for start in range(0, len(references), LOOKUP_CHUNK):
        chunk = references[start : start + LOOKUP_CHUNK]
        if resource == "invoices":
            records = adapter._filtered(resource, {"InvoiceNumbers": ",".join(chunk)})
        else:
            where = " OR ".join(
                f'{field}=="{reference.replace(chr(34), chr(92) + chr(34))}"' for reference in chunk
            )
            records = adapter.list_page(resource, where=where).records
        for record in records:
            found.setdefault(str(record.data.get(field) or ""), record)
    return [found.get(reference) for reference in references]
