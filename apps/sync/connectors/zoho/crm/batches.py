"""Zoho CRM writes of many records (vendor-contracts.md §3.4, ecosystem-notes.md §10(e)): up to
100 records a call, answered 200/201 (all saved), 207 (some) or 400 (none) with one result per
record, in the order sent (`details.json_path` names the index of a refused one). A refused
record gets its own error naming the field (`details.api_name`); the others are saved.
`"trigger": []` so that CRM workflows (customer e-mails) do not run on our writes."""

import re

from apps.sync.connectors.zoho.dates import parse_zoho_time
from apps.sync.engine.records import MalformedAnswer, Rejected, RemoteRecord, TransientError

from .adapter import MODULES, parse_error

MAX_RECORDS = 100
# Our reference on a CRM contact: a unique custom field, upserted on (never the e-mail, which
# two clients may share: CRM would merge them).
REFERENCE_FIELD = "Syncdesk_Reference"
_INDEX = re.compile(r"^\$\.data\[(\d+)\]")


class RecordsRefused(Rejected):
    """A write where CRM refused every record: 400 with the per-record results."""

    def __init__(self, rejected: Rejected, results: list) -> None:
        super().__init__(rejected.message, status=rejected.status, body=rejected.body)
        self.results = results


def _per_record_error(response) -> Rejected | None:
    rejected = parse_error(response)
    try:
        body = response.json()
    except ValueError:
        return rejected
    rows = body.get("data") if isinstance(body, dict) else None
    if rejected is not None and isinstance(rows, list) and rows:
        return RecordsRefused(rejected, rows)
    return rejected


def _ordered(rows: list, count: int) -> list:
    """The results in the order of the records sent: by `json_path` where a result names its
    index, else by position."""
    if len(rows) != count:
        raise MalformedAnswer(f"Zoho CRM answered for {len(rows)} of {count} records.")
    slots: list = [None] * count
    for position, row in enumerate(rows):
        index = position
        details = row.get("details") if isinstance(row, dict) else None
        found = _INDEX.match(str((details or {}).get("json_path") or ""))
        if found and int(found[1]) < count and slots[int(found[1])] is None:
            index = int(found[1])
        if slots[index] is not None:
            index = slots.index(None)
        slots[index] = row
    return slots


def _result(row: object, payload: dict, what: str) -> RemoteRecord | Exception:
    if not isinstance(row, dict):
        return TransientError(f"Zoho CRM's answer for {what} is not an object.", uncertain=True)
    details = row.get("details") if isinstance(row.get("details"), dict) else {}
    if row.get("status") == "success" and details.get("id"):
        return RemoteRecord(
            remote_id=str(details["id"]),
            number="",
            modified_at=parse_zoho_time(details.get("Modified_Time")),
            data={**payload, "id": str(details["id"])},
        )
    field = str(details.get("api_name") or "__all__")
    message = f"{row.get('code')}: {row.get('message')}"
    return Rejected(
        f"Zoho CRM refused {what}: {field}: {message}", status=400, fields={field: [message]}
    )


def write_many(
    adapter, resource: str, payloads: list[dict], *, method: str, path: str = "", **extra
) -> list:
    """POST (insert; `path="upsert"` with `duplicate_check_fields`) or PUT (update, an `id` in
    each record) up to 100 records; per record its RemoteRecord or its Rejected."""
    module, _, _ = MODULES[resource]
    url = f"{adapter.base}/{module}" + (f"/{path}" if path else "")
    try:
        response = adapter.client.request(
            method,
            url,
            json_body={"data": payloads, **extra, "trigger": []},
            error_parser=_per_record_error,
        )
        rows = response.json().get("data")
    except RecordsRefused as refused:
        rows = refused.results
    if not isinstance(rows, list):
        raise MalformedAnswer(f"Zoho CRM {module}: the answer holds no list of results.")
    label = module[:-1].lower()
    return [
        _result(
            row, payload, f"{label} {payload.get(REFERENCE_FIELD) or payload.get('id') or index}"
        )
        for index, (row, payload) in enumerate(
            zip(_ordered(rows, len(payloads)), payloads, strict=True)
        )
    ]
