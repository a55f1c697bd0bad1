"""Cell values as people type them: numbers with a decimal point or comma and thousands
separators, dates as ISO or day/month/year (month/day/year where the setting says so)."""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_DATE_PARTS = re.compile(r"^(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})$")
_CURRENCY = re.compile(r"^[A-Z]{3}\s+|\s+[A-Z]{3}$|^[^\d\-+(.,]+")


def header_key(header: str) -> str:
    """A header as compared: any case, no spaces or punctuation, no required-mark (Xero's '*')."""
    return re.sub(r"[^0-9a-z]", "", header.lower())


def parse_decimal(value: object) -> Decimal:
    """A number as typed: "1,234.50", "1 234,50" (with IMPORT_DECIMAL_COMMA), "(12.00)" for a
    negative, a leading currency code or symbol ignored."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip()
    original = text
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    text = _CURRENCY.sub("", _SPACES.sub("", text.strip()))
    if settings.IMPORT_DECIMAL_COMMA:
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"“{original}” is not a number.") from None
    if not number.is_finite():
        raise ValidationError(f"“{original}” is not a number.")
    return -number if negative else number


def parse_date(value: object) -> date:
    """ISO (2026-03-31) always; otherwise day/month/year, or month/day/year when
    IMPORT_DATE_ORDER is MDY. Two-digit years are 20xx."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = _DATE_PARTS.match(text.split(" ")[0].split("T")[0])
    if match:
        first, second, third = match.groups()
        try:
            if len(first) == 4:
                return date(int(first), int(second), int(third))
            year = int(third) + (2000 if len(third) <= 2 else 0)
            if settings.IMPORT_DATE_ORDER.upper() == "MDY":
                return date(year, int(first), int(second))
            return date(year, int(second), int(first))
        except ValueError:
            pass
    order = "month/day/year" if settings.IMPORT_DATE_ORDER.upper() == "MDY" else "day/month/year"
    raise ValidationError(f"“{text}” is not a date (use 2026-03-31 or {order}).")
