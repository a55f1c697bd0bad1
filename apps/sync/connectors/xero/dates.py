"""Xero's timestamps: MS-JSON dates in answers, ISO for If-Modified-Since."""

import re
from datetime import UTC, datetime

_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_xero_time(value: str | None) -> datetime | None:
    """'/Date(1439434356790+0000)/' (UTC milliseconds) or an ISO string."""
    if not value:
        return None
    match = _MS_DATE.search(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_http_time(value: datetime) -> str:
    """ISO UTC, to the second, for If-Modified-Since (Xero's OAS example is ISO)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
