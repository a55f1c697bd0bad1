"""The adapters' shared vocabulary: plain records, pages and one error taxonomy."""

from dataclasses import dataclass, field
from datetime import datetime


class VendorError(Exception):
    """Base of every error an adapter raises; `status` is the HTTP status when there was one."""

    kind = "vendor_error"

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class TransientError(VendorError):
    """Worth retrying later: 5xx, timeouts, connection errors, 429 (with its wait).

    `uncertain` is True when the request may have reached the vendor (a read timeout or a 5xx
    after sending): a create must then be looked up before it is retried.
    """

    kind = "transient"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after
        self.uncertain = uncertain


class RateLimited(TransientError):
    kind = "rate_limited"


class AuthExpired(VendorError):
    """The credential no longer works (refresh refused): the connection needs re-authorisation."""

    kind = "auth_expired"


class NotFound(VendorError):
    kind = "not_found"


class Rejected(VendorError):
    """The vendor refused the request as invalid; `fields` maps field names to its messages."""

    kind = "rejected"

    def __init__(
        self, message: str, *, status: int | None = None, body: str = "", fields=None
    ) -> None:
        super().__init__(message, status=status, body=body)
        self.fields: dict[str, list[str]] = fields or {}


@dataclass(frozen=True, slots=True)
class RemoteRecord:
    """One vendor record as the engine sees it: identity, number, modified time, raw data."""

    remote_id: str
    number: str
    modified_at: datetime | None
    data: dict = field(repr=False)


@dataclass(slots=True)
class Page:
    records: list[RemoteRecord]
    # Where the next page starts: a page number or a token; None when this was the last page.
    next_page: int | None = None
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    api_domain: str = ""
    scope: str = ""
