"""An outbox item's lease and the state it ends a run in: still ours (locked), marked attempted
before a create leaves, finished, retried later with backoff, parked behind a conflict. Every
write checks the lease first, so a worker whose lease lapsed never overwrites another's work."""

import random
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.sync.engine.bindings import binding_mark_failed
from apps.sync.engine.recording import RecordHeld
from apps.sync.engine.records import VendorError
from apps.sync.models import Operation, OutboxItem, OutboxStatus

# A push held by a conflict waits as pending with this due time; it is claimable again once its
# binding is no longer in conflict (the admin decided, or a pull found the sides agree).
HELD_UNTIL = datetime(2999, 12, 31, tzinfo=UTC)


def backoff_seconds(attempts: int) -> float:
    """Full jitter: a random wait up to base * 2^(attempts-1), capped."""
    ceiling = min(
        settings.SYNC_OUTBOX_BACKOFF_CAP,
        settings.SYNC_OUTBOX_BACKOFF_BASE * 2 ** max(0, attempts - 1),
    )
    # On the vendor's scaled clock like every vendor duration (1 in production; the sandbox's
    # fast clock in drills), so an outage drill's backoff and the vendor's time agree.
    return random.uniform(0, ceiling) * settings.SYNC_CLOCK_SCALE  # noqa: S311 - jitter


def settle_uncertain(item: OutboxItem, was_uncertain: bool, error: VendorError) -> None:
    """A create marked as attempted that the vendor answered definitely (a rejection, a 429,
    refused credentials, a connection never made) made nothing: it is certain again."""
    if item.uncertain and not was_uncertain and not getattr(error, "uncertain", False):
        item.uncertain = False
        OutboxItem.objects.filter(pk=item.pk, lease_owner=item.lease_owner).update(uncertain=False)


class LeaseLost(Exception):
    """Our lease on the item went to another worker before the call: we must not send."""


def still_ours(item: OutboxItem) -> bool:
    """Lock the item and check we still hold it; call inside a transaction."""
    return (
        OutboxItem.objects.select_for_update()
        .filter(pk=item.pk, status=OutboxStatus.IN_FLIGHT, lease_owner=item.lease_owner)
        .exists()
    )


def mark_attempted(item: OutboxItem) -> None:
    """Before a create leaves: commit that it may reach the vendor (so any later claimer looks
    it up first), renew the lease, and check it is still ours. Raises LeaseLost if it is not."""
    lease_until = timezone.now() + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        marked = OutboxItem.objects.filter(
            pk=item.pk, status=OutboxStatus.IN_FLIGHT, lease_owner=item.lease_owner
        ).update(uncertain=True, lease_until=lease_until)
    if not marked:
        raise LeaseLost(f"Outbox item #{item.pk} is no longer leased to {item.lease_owner}.")
    item.uncertain = True
    item.lease_until = lease_until


def finish(item, status, *, error="", http_status=None, remote_id="") -> str:
    with transaction.atomic():
        if not still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status  # another worker holds it now
        return finish_locked(
            item, status, error=error, http_status=http_status, remote_id=remote_id
        )


def finish_locked(item, status, *, error="", http_status=None, remote_id="") -> str:
    item.status = status
    item.lease_until = None
    item.last_error = error[:2000]
    item.last_http_status = http_status
    item.remote_id = remote_id or item.remote_id
    item.finished_at = timezone.now()
    item.save(
        update_fields=[
            "status",
            "lease_until",
            "last_error",
            "last_http_status",
            "remote_id",
            "finished_at",
        ]
    )
    if status == OutboxStatus.DEAD:
        binding_mark_failed(item.connection_id, item.entity, item.object_id, error=error)
    return status


def park(item: OutboxItem, error: RecordHeld) -> str:
    """Keep a push held by a conflict waiting (not discarded) until the conflict is decided;
    the hold is not a failed attempt."""
    with transaction.atomic():
        if not still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status
        item.status = OutboxStatus.PENDING
        item.lease_until = None
        item.next_attempt_at = HELD_UNTIL
        item.attempts = max(0, item.attempts - 1)
        item.last_error = str(error)[:2000]
        item.last_http_status = None
        item.save(
            update_fields=[
                "status",
                "lease_until",
                "next_attempt_at",
                "attempts",
                "last_error",
                "last_http_status",
            ]
        )
    return item.status


def retry_later(item: OutboxItem, error: VendorError) -> str:
    with transaction.atomic():
        if not still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status  # another worker holds it now
        return retry_later_locked(item, error)


def retry_later_locked(item: OutboxItem, error: VendorError) -> str:
    if getattr(error, "uncertain", False) and item.operation == Operation.CREATE:
        item.uncertain = True
    if item.attempts >= settings.SYNC_OUTBOX_MAX_ATTEMPTS:
        item.save(update_fields=["uncertain"])
        return finish_locked(
            item,
            OutboxStatus.DEAD,
            error=f"{error} (after {item.attempts} attempts)",
            http_status=error.status,
        )
    delay = backoff_seconds(item.attempts)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        delay = max(delay, retry_after * settings.SYNC_CLOCK_SCALE)
    item.status = OutboxStatus.PENDING
    item.lease_until = None
    item.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    item.last_error = str(error)[:2000]
    item.last_http_status = error.status
    item.save(
        update_fields=[
            "status",
            "lease_until",
            "next_attempt_at",
            "last_error",
            "last_http_status",
            "uncertain",
        ]
    )
    return item.status


def release(ids: list[int], owner: str) -> int:
    """Put items claimed by `owner` and not yet sent back as they were: pending, due as before,
    the claim's attempt not counted (an uncertain create stays uncertain)."""
    return OutboxItem.objects.filter(
        pk__in=ids, status=OutboxStatus.IN_FLIGHT, lease_owner=owner
    ).update(status=OutboxStatus.PENDING, lease_until=None, attempts=F("attempts") - 1)


def renew(ids: list[int], owner: str) -> int:
    """Extend the leases `owner` still holds on these items (the rest went to other workers)."""
    lease_until = timezone.now() + timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)
    return OutboxItem.objects.filter(
        pk__in=ids, status=OutboxStatus.IN_FLIGHT, lease_owner=owner
    ).update(lease_until=lease_until)


class LeaseKeeper:
    """Checked before each vendor call made for claimed items (transport.checked_calls): when
    the rate governor held the call back, or the last renewal is a third of a lease old (a
    create may need several slow calls first), the items' leases are renewed; if one went to
    another worker meanwhile, LeaseLost: that worker may be sending it, so this call must not."""

    def __init__(self, ids: list[int], owner: str) -> None:
        self.ids, self.owner = sorted(set(ids)), owner
        self.renewed = time.monotonic()

    def __call__(self, waited: bool) -> None:
        if not waited and time.monotonic() - self.renewed < settings.SYNC_OUTBOX_LEASE_SECONDS / 3:
            return
        if renew(self.ids, self.owner) < len(self.ids):
            raise LeaseLost(f"Outbox items {self.ids} went to another worker before a call.")
        self.renewed = time.monotonic()


def wait_behind(item: OutboxItem, blocker: OutboxItem) -> str:
    """Not an attempt: a document waits behind the earliest unfinished one, keeping the order."""
    with transaction.atomic():
        if not still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status
        item.status = OutboxStatus.PENDING
        item.attempts = max(0, item.attempts - 1)
        item.lease_until = None
        item.next_attempt_at = max(timezone.now(), blocker.next_attempt_at) + timedelta(
            microseconds=item.id - blocker.id
        )
        item.last_error = f"Waiting for outbox item #{blocker.pk} to be sent first."
        item.save(
            update_fields=["status", "attempts", "lease_until", "next_attempt_at", "last_error"]
        )
    return item.status
