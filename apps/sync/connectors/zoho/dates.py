"""Zoho's timestamps: ISO-8601 with a numeric offset."""

from datetime import UTC, datetime


def parse_zoho_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_zoho_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
