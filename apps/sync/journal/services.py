"""Replaying a failed push from a record's journal: the dead-lettered outbox item goes back to the
queue through the outbox's own requeue (the ordinary path: same item, same reference and
idempotency key, looked up first if its last attempt was uncertain), exactly once per death —
a second click, or a second Admin, finds it already queued and changes nothing."""

import logging

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from apps.core.errors import ApplicationError
from apps.sync.engine import outbox
from apps.sync.journal.selectors import FAILED_WITH, REPLAY_MESSAGE
from apps.sync.models import OutboxItem, OutboxStatus

logger = logging.getLogger(__name__)


class AlreadyReplayed(ApplicationError):
    """The item is not the dead letter the button was shown for: replayed already (or it died
    again since, which needs a fresh look at its error)."""


def _drain_soon() -> None:
    try:
        async_task(outbox.DRAIN_TASK, None)
    except Exception:  # the minute sweep drains it if the queue is down
        logger.exception("could not queue the outbox drain after a replay")


def journal_replay(*, item_id: int, token: str, actor) -> OutboxItem:
    """Requeue dead outbox item `item_id` once, if it is still the death `token` (its
    finished_at as shown) names; log who replayed it, and why it had failed, for the journal.

    Raises ApplicationError when the actor may not, the item is gone or not a dead letter, and
    AlreadyReplayed when it was requeued since the page was drawn (a double click)."""
    if not actor.has_perm("sync.change_outboxitem"):
        raise ApplicationError("Only Admins can replay a failed push.")
    with transaction.atomic():
        item = OutboxItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise ApplicationError(f"Outbox item #{item_id} no longer exists.")
        died = item.finished_at.isoformat() if item.finished_at else ""
        if item.status != OutboxStatus.DEAD or died != token:
            raise AlreadyReplayed(
                f"Outbox item #{item.pk} was already replayed; it is "
                f"{item.get_status_display().lower()} now."
            )
        error = item.last_error
        requeued = outbox.outbox_requeue(
            items=OutboxItem.objects.filter(pk=item.pk, status=OutboxStatus.DEAD)
        )
        if requeued != 1:  # the row lock above makes this unreachable; never requeue twice
            raise AlreadyReplayed(f"Outbox item #{item.pk} was already replayed.")
        LogEntry.objects.create(
            user_id=actor.pk,
            content_type_id=ContentType.objects.get_for_model(OutboxItem).pk,
            object_id=str(item.pk),
            object_repr=str(item)[:200],
            action_flag=CHANGE,
            action_time=timezone.now(),
            change_message=f"{REPLAY_MESSAGE}{FAILED_WITH}{error}"[:2000],
        )
        transaction.on_commit(_drain_soon)
    item.refresh_from_db()
    return item
