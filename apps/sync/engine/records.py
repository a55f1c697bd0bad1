"""The vocabulary every connector speaks to the engine: plain records, pages, token sets and one
error taxonomy (transient, throttled, auth expired, not found, rejected)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


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


class MalformedAnswer(VendorError):
    """The vendor's answer as a whole is unusable (not an object, its list not a list): nothing
    of it can be applied. A single bad record is a BadRecord on its page instead."""

    kind = "malformed"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record of a page that failed the connector's schema: quarantined, never applied."""

    remote_id: str
    reason: str
    payload: object = field(repr=False)


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
    # Records of this page that failed the connector's schema (quarantined by the pull).
    rejected: list[BadRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    api_domain: str = ""
    scope: str = ""


class OAuthError(Exception):
    """A token endpoint answered with an OAuth error code (`invalid_grant`, `invalid_code`)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"OAuth error: {code}")
        self.code = code


class NoLookupKey(Exception):
    """A create has nothing to look it up by (a client without an e-mail): after an uncertain
    attempt, sending it again could make a duplicate."""


class PagedAdapter:
    """What every adapter shares: walking a resource's pages (by number, then by token where
    the vendor switches to tokens) through its own `list_page`."""

    def list_page(self, resource: str, **kwargs) -> Page:
        raise NotImplementedError

    def list_all(self, resource: str, **kwargs) -> Iterator[RemoteRecord]:
        page, token = 1, None
        while True:
            paging = {"page_token": token} if token else {}
            result = self.list_page(resource, page=page, **paging, **kwargs)
            yield from result.records
            if result.next_token:
                token = result.next_token
            elif result.next_page:
                page = result.next_page
            else:
                return


@dataclass(frozen=True, slots=True)
class RemoteDocument:
    """A vendor's document as reconciliation compares it (engine/reconcile.py): its own number,
    our reference as it keeps it ("" when made there), its status in our vocabulary (the local
    model's statuses), and its money."""

    remote_id: str
    number: str
    reference: str
    status: str
    total: Decimal | None
    balance: Decimal | None = None
    issue_date: date | None = None


@dataclass(frozen=True, slots=True)
class VendorDocument:
    """A vendor's document in full, for bringing one we lack in ("take theirs"): its customer by
    the vendor's id, dates, currency and lines as {name, description, quantity, rate,
    tax_rate} (Decimals), and the entity-level discount as an amount."""

    document: RemoteDocument
    record: RemoteRecord
    customer_remote_id: str
    issue_date: date
    due_date: date | None
    currency: str
    lines: list[dict]
    discount: Decimal = Decimal("0")
    notes: str = ""
    terms: str = ""
