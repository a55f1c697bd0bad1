"""Validating vendor answers at the connector's edge: a typed schema (pydantic) per record, and
the split of a page's rows into records to apply and records to quarantine."""

import json
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, ValidationError

from apps.sync.engine.records import BadRecord, MalformedAnswer, RemoteRecord

PAYLOAD_LIMIT = 20_000


class VendorRow(BaseModel):
    """Base of a connector's record schemas: the fields we read are typed, the rest pass."""

    model_config = ConfigDict(extra="allow", strict=True)


def problem(schema: type[BaseModel], row: object) -> str | None:
    """Why `row` fails `schema` (field by field, in words), or None when it passes."""
    if not isinstance(row, dict):
        return f"not an object but {type(row).__name__}"
    try:
        schema.model_validate(row)
    except ValidationError as error:
        parts = []
        for item in error.errors()[:5]:
            where = ".".join(str(part) for part in item["loc"]) or "record"
            parts.append(f"{where}: {item['msg']}")
        return "; ".join(parts)
    return None


def object_body(body: object, *, what: str) -> dict:
    """The answer must be a JSON object (an envelope): anything else is a malformed answer."""
    if not isinstance(body, dict):
        raise MalformedAnswer(f"{what}: the answer is {type(body).__name__}, not an object.")
    return body


def list_field(body: dict, key: str, *, what: str) -> list:
    """`body[key]` as a list (absent or null is an empty page)."""
    rows = body.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise MalformedAnswer(f"{what}: '{key}' is {type(rows).__name__}, not a list.")
    return rows


def split_rows(
    rows: list,
    *,
    schema: type[BaseModel],
    id_field: str,
    build: Callable[[dict], RemoteRecord],
) -> tuple[list[RemoteRecord], list[BadRecord]]:
    """Rows that pass `schema` become records; the others are BadRecords with their reason."""
    records: list[RemoteRecord] = []
    rejected: list[BadRecord] = []
    for row in rows:
        reason = problem(schema, row)
        if reason is None:
            try:
                records.append(build(row))
                continue
            except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as error:
                reason = f"unreadable: {error}"
        remote_id = row.get(id_field) if isinstance(row, dict) else None
        rejected.append(
            BadRecord(
                remote_id=str(remote_id)[:100] if isinstance(remote_id, str | int) else "",
                reason=reason[:2000],
                payload=row,
            )
        )
    return records, rejected


def one_record(
    row: object, *, schema: type[BaseModel], build: Callable[[dict], RemoteRecord], what: str
) -> RemoteRecord:
    """A single record (a get): one that fails its schema is a malformed answer."""
    records, rejected = split_rows([row], schema=schema, id_field="", build=build)
    if rejected:
        raise MalformedAnswer(f"{what}: {rejected[0].reason}")
    return records[0]


def payload_text(payload: object) -> str:
    try:
        text = json.dumps(payload, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(payload)
    return text[:PAYLOAD_LIMIT]
