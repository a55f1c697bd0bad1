"""What the vendor has now, for the updates a drain pushes, at one call per page of changes.

Before an update is sent it is merged with the vendor's current record, so that a remote edit
made since our last sync is never overwritten. Reading each record first would double the calls
(a GET, then the PUT). Instead, per connection and entity, the drain reads one incremental list:
the records changed since the oldest base of the updates waiting, page by page. A record the
list does not hold has not changed since its base, so its base is what the vendor has.

The list is topped up after every SYNC_PUSH_REFRESH_EVERY updates it served (a batch: at Books'
100 calls a minute, half a minute), with the changes since the newest change it has seen (the
vendor's own timestamps, our writes' answers included), so a long drain keeps seeing fresh
remote edits at about one page a batch.
A list that would cost more pages than the updates it serves is abandoned: those updates read
their record one by one, as before (never less safe, only dearer). A read that fails midway is
forgotten (the update that asked fails by the normal rule), so a half list never answers.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min

from apps.sync.engine import registry
from apps.sync.models import Binding, Operation, OutboxItem, OutboxStatus

# Records stamped within this many vendor seconds of a read may have changed after it.
OVERLAP = timedelta(seconds=5)
# A list pays for itself while it costs at most one page per this many updates it serves.
UPDATES_PER_PAGE = 20


@dataclass
class _Listing:
    # remote id -> (canonical snapshot, the vendor's modified time of that version)
    records: dict = field(default_factory=dict)
    newest: datetime | None = None  # the latest vendor timestamp seen
    served: int = 0  # updates answered since the last read
    usable: bool = True

    def keep(self, remote_id: str, snapshot: dict, modified_at: datetime | None) -> None:
        self.records[remote_id] = (snapshot, modified_at)
        if modified_at is not None and (self.newest is None or modified_at > self.newest):
            self.newest = modified_at


class BaseRefresh:
    """One per drain: the vendor's current snapshots of the records its updates touch."""

    def __init__(self) -> None:
        self._listings: dict[tuple[int, str], _Listing] = {}

    def remote_snapshot(self, ctx, binding: Binding) -> dict | None:
        """The canonical snapshot the vendor holds for `binding`, or None when a list cannot
        tell (no list for this entity, no remote modified time on the base, a list too dear):
        the caller then reads the record itself."""
        spec = registry.connector(ctx.connection.provider).pulls.get(binding.entity)
        if spec is None or spec.mapper is None or binding.remote_modified_at is None:
            return None
        listing = self._listing(ctx, binding.entity, spec)
        if not listing.usable:
            return None
        listing.served += 1
        snapshot, modified_at = listing.records.get(binding.remote_id, (None, None))
        # A listed version older than the base (a pull took a newer one since) is not used.
        if snapshot is not None and (
            modified_at is None or modified_at >= binding.remote_modified_at
        ):
            return snapshot
        return binding.base_snapshot or {}  # not changed since the base

    def remember(self, connection_id: int, entity: str, record, snapshot: dict) -> None:
        """Our own write's answer replaces what the list held for that record."""
        listing = self._listings.get((connection_id, entity))
        if listing is not None:
            listing.keep(record.remote_id, snapshot, record.modified_at)

    def _listing(self, ctx, entity: str, spec) -> _Listing:
        key = (ctx.connection.pk, entity)
        listing = self._listings.get(key)
        if listing is not None and (
            not listing.usable or listing.served < settings.SYNC_PUSH_REFRESH_EVERY
        ):
            return listing
        if listing is None:
            listing = self._listings[key] = _Listing()
            since, waiting = _oldest_pending_base(ctx.connection, entity)
        else:
            since, waiting = listing.newest, UPDATES_PER_PAGE
        listing.served = 0
        if since is None:
            return listing
        max_pages = max(1, waiting // UPDATES_PER_PAGE)
        try:
            listing.usable = _read(ctx, spec, since - OVERLAP, listing, max_pages)
        except BaseException:
            # Part of the changes were read: a record on a page not read would look unchanged
            # since its base (its remote edit overwritten), and `newest` may have passed it.
            # Forget the list; the next update reads it again from the oldest base waiting.
            del self._listings[key]
            raise
        return listing


def _read(ctx, spec, since: datetime, listing: _Listing, max_pages: int) -> bool:
    """Page through the records changed since `since`; False when it would take more pages."""
    page, token, pages = 1, None, 0
    while True:
        if pages == max_pages:
            return False
        paging = {"page_token": token} if token else {}
        result = ctx.adapter.list_page(spec.resource, page=page, modified_since=since, **paging)
        pages += 1
        for record in result.records:
            listing.keep(record.remote_id, spec.mapper(record), record.modified_at)
        if result.next_token:
            token = result.next_token
        elif result.next_page:
            page = result.next_page
        else:
            return True


def _oldest_pending_base(connection, entity: str) -> tuple[datetime | None, int]:
    """The oldest remote modified time among the bases of the updates waiting to be sent, and
    how many updates wait."""
    waiting = OutboxItem.objects.filter(
        connection=connection,
        entity=entity,
        operation=Operation.UPDATE,
        status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT],
    ).values("object_id")
    found = Binding.objects.filter(
        connection=connection, entity=entity, object_id__in=waiting
    ).aggregate(oldest=Min("remote_modified_at"), waiting=Count("id"))
    return found["oldest"], found["waiting"]
