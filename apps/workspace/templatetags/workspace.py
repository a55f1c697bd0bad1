"""How the staff pages write numbers, dates and states: 2,438.00 ZAR, "3 days overdue", badges."""

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.html import format_html

from apps.workspace.formatting import duration_words, money_text, quantity_text

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """2438 -> "2,438.00 ZAR" (two places, thousands grouped, the currency after)."""
    return money_text(value, currency)


@register.filter
def quantity(value) -> str:
    """1.000 -> "1", 2.500 -> "2.5": no trailing zeros nobody typed."""
    return quantity_text(value)


@register.filter
def percent(value) -> str:
    try:
        return f"{quantity_text(Decimal(value))}%"
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.simple_tag
def when(value, style: str = "DATE_FORMAT"):
    """A date or time in the locale's format, with the full date and time on hover."""
    if not value:
        return "—"
    if isinstance(value, datetime):
        value = timezone.localtime(value)
        shown = date_filter(value, "SHORT_DATETIME_FORMAT" if style == "short" else style)
        full = date_filter(value, "DATETIME_FORMAT")
        iso = value.isoformat()
    else:
        shown = date_filter(value, "SHORT_DATE_FORMAT" if style == "short" else style)
        full = date_filter(value, "DATE_FORMAT")
        iso = value.isoformat()
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, full, shown)


@register.filter
def days_overdue(due: date | None) -> str:
    if not due:
        return ""
    days = (timezone.localdate() - due).days
    if days <= 0:
        return ""
    return f"{days} day{'s' if days != 1 else ''} overdue"


@register.filter
def seconds_words(seconds) -> str:
    """1451 -> "24 minutes": how long, in words a person reads."""
    if seconds is None:
        return "—"
    return duration_words(timedelta(seconds=int(seconds)))


STATUS_TONES = {
    "draft": "neutral",
    "open": "info",
    "pending": "warn",
    "sent": "info",
    "accepted": "good",
    "paid": "good",
    "synced": "good",
    "connected": "good",
    "resolved": "good",
    "partially_paid": "warn",
    "expired": "warn",
    "needs_reauth": "bad",
    "overdue": "bad",
    "rejected": "bad",
    "failed": "bad",
    "conflict": "bad",
    "totals_differ": "bad",
    "gone": "bad",
    "void": "neutral",
    "closed": "neutral",
    "superseded": "neutral",
    "disabled": "neutral",
}


@register.simple_tag
def badge(status: str, label: str = "", title: str = ""):
    """A short coloured status word; the colour only repeats what the word says."""
    tone = STATUS_TONES.get(status, "neutral")
    return format_html(
        '<span class="badge badge-{}"{}>{}</span>',
        tone,
        format_html(' title="{}"', title) if title else "",
        label or str(status).replace("_", " ").capitalize(),
    )
