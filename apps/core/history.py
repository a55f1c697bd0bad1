"""History rows for bulk writes: what django-simple-history records for a save, for many rows at
once, written with plain multi-row INSERTs (the ORM's per-value preparation of a second model
instance per row costs more than the database's own work at tens of thousands of rows)."""

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from django.db import connection as db_connection

CREATED = "+"
CHANGED = "~"


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


def history_insert(
    objects: Sequence, *, history_type: str, user, reason: str, when: datetime
) -> None:
    """Write one simple-history row per saved object in `objects` (all of one model): the
    tracked fields as they are on the objects, `user` and `reason` as who and why. No signals
    are sent (as for any bulk write); callers send their own."""
    if not objects:
        return
    history_model = type(objects[0]).history.model
    fields = [f for f in history_model._meta.concrete_fields if not f.primary_key]
    history_values = {
        "history_date": when,
        "history_change_reason": reason or None,
        "history_type": history_type,
        "history_user_id": getattr(user, "pk", None),
    }
    quote = db_connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(history_model._meta.db_table)} "  # noqa: S608 (names are ours)
        f"({columns}) VALUES ({placeholders})"
    )
    params = [
        [
            _adapt(
                history_values[f.attname]
                if f.attname in history_values
                else getattr(obj, f.attname),
                f,
            )
            for f in fields
        ]
        for obj in objects
    ]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, params)
