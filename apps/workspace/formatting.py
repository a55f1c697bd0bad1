"""Plain-words formatting shared by the pages, the PDFs and the CSV export (no Django here)."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation


def money_text(value, currency: str = "") -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip()


def quantity_text(value) -> str:
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number.normalize():,f}"


def duration_words(span: timedelta) -> str:
    """timedelta(seconds=1451) -> "24 minutes"; rounded to the largest sensible unit."""
    seconds = int(abs(span.total_seconds()))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours < 36:
        return f"{hours} hours"
    days = round(seconds / 86400)
    return f"{days} days"
