"""Plain multi-row INSERTs for the pull's two side tables (history rows and bindings), and plain
UPDATEs for a batch's items and bindings: the ORM's per-value preparation costs more than the
database's own work at tens of thousands of rows."""

import json
from datetime import date, datetime
from decimal import Decimal

from django.db import connection as db_connection


def _adapt(value, field):
    if value is None:
        return None
    internal = field.get_internal_type()
    if internal == "JSONField":
        return json.dumps(value, cls=field.encoder)
    if isinstance(value, datetime):
        return db_connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return db_connection.ops.adapt_datefield_value(value)
    if isinstance(value, Decimal):
        return db_connection.ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    return value


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT `rows` (dicts by attname; missing keys take the field's default) into `model`'s
    table without creating instances. No signals, no returned ids: for rows nobody reads back
    in the same breath."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in rows[0]]
    # Django's own default per field ("" for a text field without one); a callable default is
    # called once, so rows must carry their own values for those (a UUID per row).
    defaults = {f.attname: f.get_default() for f in fields}
    columns = ", ".join(db_connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {db_connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
        f"({columns}) VALUES ({placeholders})"
    )
    params = [[_adapt(row.get(f.attname, defaults[f.attname]), f) for f in fields] for row in rows]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, params)


def update_rows(model, fields: list[str], rows: list[dict]) -> None:
    """UPDATE each row's `fields` (attnames) by its "pk", in one executemany: what bulk_update
    does without its CASE per row and field."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{db_connection.ops.quote_name(f.column)} = %s" for f in columns)
    sql = (
        f"UPDATE {db_connection.ops.quote_name(meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {db_connection.ops.quote_name(meta.pk.column)} = %s"
    )
    params = [[*(_adapt(row[f.attname], f) for f in columns), row["pk"]] for row in rows]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, params)


def history_rows(objects, *, history_type: str, reason: str, when: datetime) -> list[dict]:
    """django-simple-history rows for `objects` (the tracked fields plus the history fields)."""
    if not objects:
        return []
    model = type(objects[0])
    history_model = model.history.model
    tracked = [
        f.attname for f in history_model._meta.concrete_fields if not f.name.startswith("history_")
    ]
    return [
        {
            **{name: getattr(obj, name) for name in tracked},
            "history_date": when,
            "history_change_reason": reason,
            "history_type": history_type,
            "history_user_id": None,
        }
        for obj in objects
    ]
