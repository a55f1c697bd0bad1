"""Xero's wire formats: MS-JSON dates (`/Date(1551399323399+0000)/`) and exact decimal numbers.

Xero writes money as JSON numbers with fixed places (`"UnitAmount": 20.0000`, `"Total": 20.00`).
The standard `json` module can only write floats, so Decimals are written through a marker that
is swapped for the exact literal after encoding: the body carries `20.00`, never `20.0`.
"""

import json
import re
import secrets
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

_MARKER = f"xerodec{secrets.token_hex(6)}:"
_MARKER_PATTERN = re.compile(r'"' + re.escape(_MARKER) + r'(-?[0-9]+(?:\.[0-9]+)?)"')
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class WireValueError(ValueError):
    """A value in a request could not be read as the type Xero expects."""


def ms_datetime(moment: datetime, *, offset: bool = True) -> str:
    """`/Date(<ms since epoch>+0000)/`; without the offset for envelope times (`DateTimeUTC`)."""
    milliseconds = int(moment.astimezone(UTC).timestamp() * 1000)
    return f"/Date({milliseconds}+0000)/" if offset else f"/Date({milliseconds})/"


def ms_date(day: date, *, offset: bool = True) -> str:
    """A calendar date as Xero writes it: midnight UTC of that day."""
    return ms_datetime(datetime.combine(day, time(0), tzinfo=UTC), offset=offset)


def iso_date_string(day: date) -> str:
    """The helper field next to a date (`DateString`: `2020-02-01T00:00:00`)."""
    return f"{day.isoformat()}T00:00:00"


def iso_datetime_string(moment: datetime) -> str:
    """`UpdatedDateUTCString`-style: UTC, seconds, no zone suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_date(value: object, *, field: str) -> date:
    """Dates in requests: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` or `/Date(ms[+zzzz])/`."""
    if not isinstance(value, str) or not value.strip():
        raise WireValueError(f"{field} must be a date like 2024-03-01.")
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError as error:
        raise WireValueError(f"{field} must be a date like 2024-03-01.") from error


def parse_decimal(value: object, *, field: str) -> Decimal:
    """Numbers in requests: JSON numbers (parsed as Decimal) or numeric strings."""
    if isinstance(value, bool) or value is None:
        raise WireValueError(f"{field} must be a number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise WireValueError(f"{field} must be a number.") from error
    if not number.is_finite():
        raise WireValueError(f"{field} must be a number.")
    return number


def decimal_places(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places))


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{_MARKER}{value:f}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: object) -> str:
    """JSON text with Decimals written as exact numeric literals."""
    text = json.dumps(payload, default=_default, ensure_ascii=False)
    return _MARKER_PATTERN.sub(r"\1", text)


def loads(text: str | bytes) -> object:
    """Request bodies: numbers become Decimals so that no amount passes through a float."""
    return json.loads(text, parse_float=Decimal)
