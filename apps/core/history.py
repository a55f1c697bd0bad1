"""History rows for bulk writes: what django-simple-history records for a save, for many rows at
once, written with plain multi-row INSERTs (the ORM's per-value preparation of a second model
instance per row costs more than the database's own work at tens of thousands of rows)."""

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection as db_connection

CREATED = "+"
CHANGED = "~"


def _adapter(field):
    """How a value of `field` goes to the database driver, chosen once per field (not per value:
    at tens of thousands of rows the choice itself costs)."""
    internal = field.get_internal_type()
    ops = db_connection.ops
    if internal == "JSONField":
        return lambda value: json.dumps(value, cls=field.encoder)
    if internal == "DateTimeField":
        return ops.adapt_datetimefield_value
    if internal == "DateField":
        return ops.adapt_datefield_value
    if internal == "DecimalField":
        return lambda value: ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    return None


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
    columns_values = [
        (f.attname, _adapter(f), history_values.get(f.attname), f.attname in history_values)
        for f in fields
    ]
    params = []
    for obj in objects:
        row = []
        for attname, adapt, fixed, is_fixed in columns_values:
            value = fixed if is_fixed else getattr(obj, attname)
            row.append(adapt(value) if adapt is not None and value is not None else value)
        params.append(row)
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, params)
