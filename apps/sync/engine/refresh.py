"""What the vendor has now, for the updates a drain pushes, at one call per page of changes.

Before an update is sent it is merged with the vendor's current record, so a remote edit made
since our last sync is never overwritten. Reading each record first would double the calls (a
GET, then the PUT). Instead, per connection and entity, one incremental list of the records
changed since the oldest base of the pending updates is read, page by page; a record the list
does not hold has not changed since its base, so its base is what the vendor has. The list is
topped up (changes since the last read, with the pull's overlap) when it is older than
SYNC_PUSH_REFRESH_SECONDS, so a long drain keeps seeing fresh remote edits.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from apps.sync.engine import registry
from apps.sync.models import Binding, Operation, OutboxItem, OutboxStatus


@dataclass
class _Listing:
    # remote id -> (canonical snapshot, the vendor's modified time of that version)
    records: dict = field(default_factory=dict)
    read_at: object = None  # our clock when the last read started
    read_monotonic: float = 0.0


class BaseRefresh:
    """One per drain: the vendor's current snapshots of the records its updates touch."""

    def __init__(self) -> None:
        self._listings: dict[tuple[int, str], _Listing] = {}

    def remote_snapshot(self, ctx, binding: Binding) -> dict | None:
        """The canonical snapshot the vendor holds for `binding`, or None when it cannot be
        known from a list (no list for this entity, or no remote modified time on the base):
        the caller then reads the record itself."""
        connector = registry.connector(ctx.connection.provider)
        spec = connector.pulls.get(binding.entity)
        if spec is None or spec.mapper is None or binding.remote_modified_at is None:
            return None
        listing = self._listing(ctx, binding.entity, spec)
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
            listing.records[record.remote_id] = (snapshot, record.modified_at)

    def _listing(self, ctx, entity: str, spec) -> _Listing:
        key = (ctx.connection.pk, entity)
        listing = self._listings.get(key)
        stale_after = settings.SYNC_PUSH_REFRESH_SECONDS * settings.SYNC_CLOCK_SCALE
        if listing is not None and time.monotonic() - listing.read_monotonic < stale_after:
            return listing
        overlap = timedelta(seconds=settings.SYNC_PULL_OVERLAP_SECONDS)
        if listing is None:
            listing = self._listings[key] = _Listing()
            since = _oldest_pending_base(ctx.connection, entity)
        else:
            since = listing.read_at
        listing.read_at, listing.read_monotonic = timezone.now(), time.monotonic()
        if since is None:
            return listing
        for record in ctx.adapter.list_all(spec.resource, modified_since=since - overlap):
            listing.records[record.remote_id] = (spec.mapper(record), record.modified_at)
        return listing


def _oldest_pending_base(connection, entity: str):
    """The oldest remote modified time among the bases of the updates waiting to be sent."""
    waiting = OutboxItem.objects.filter(
        connection=connection,
        entity=entity,
        operation=Operation.UPDATE,
        status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT],
    ).values("object_id")
    return Binding.objects.filter(
        connection=connection, entity=entity, object_id__in=waiting
    ).aggregate(oldest=Min("remote_modified_at"))["oldest"]
