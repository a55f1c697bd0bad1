"""Writes of sync that the admin, the CLI and the apps above sync (API, staff pages) call:
connecting with a refresh token (through the vendor's registered accounts), disconnecting,
requesting a sync run, deciding conflicts, requeueing dead letters, re-encrypting tokens under a
new key and pruning logs."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from apps.core.errors import ApplicationError
from apps.sync.conflicts.services import (  # noqa: F401 - part of the public surface
    conflict_resolve,
    conflict_revert,
    conflicts_resolve_bulk,
)
from apps.sync.engine import quarantine, registry
from apps.sync.engine.connections import plain_client
from apps.sync.engine.crypto import rotate_ciphertext
from apps.sync.engine.outbox import outbox_discard, outbox_requeue  # noqa: F401 - public surface
from apps.sync.engine.pull import pull_entities
from apps.sync.engine.records import OAuthError, VendorError
from apps.sync.models import (
    Connection,
    ConnectionStatus,
    Credential,
    Direction,
    OutboxStatus,
    QuarantinedRecord,
    RunStatus,
    SyncLog,
    SyncRun,
)

logger = logging.getLogger(__name__)


# --- Connect ------------------------------------------------------------------------------------
def connection_connect(*, vendor: str, refresh_token: str, **options) -> list[Connection]:
    """Connect with a refresh token (the CLI), then subscribe each connection's webhooks.

    `options` are the vendor's own (Zoho: organization_id, region, name, crm; Xero: name,
    bank_account).
    """
    try:
        accounts = registry.accounts(vendor)
    except LookupError as error:
        raise ApplicationError(str(error), extra={"vendor": [str(error)]}) from error
    return accounts.connect_with_refresh_token(refresh_token=refresh_token, **options)


def connection_on_connect(*, connection: Connection) -> str:
    """What the connector does once connected (webhook subscriptions); never fatal."""
    return registry.connector(connection.provider).on_connect(connection)


# --- Disconnect ---------------------------------------------------------------------------------
def connection_disconnect(*, connection: Connection) -> Connection:
    """Revoke at the vendor (the vendor's accounts decide what: Xero removes this tenant's
    connection, and the token itself once no other tenant uses it) and mark the connection
    disabled; its bindings and queued items are kept, so reconnecting resumes. A vendor error
    is logged, not fatal: the local side is disconnected either way."""
    credential = connection.credential
    others = (
        Connection.objects.filter(credential=credential)
        .exclude(pk=connection.pk)
        .exclude(status=ConnectionStatus.DISABLED)
    )
    try:
        registry.accounts(credential.vendor).disconnect(
            plain_client(), connection=connection, credential=credential, last=not others.exists()
        )
    except (VendorError, OAuthError) as error:
        logger.warning("revocation of %s failed: %s", connection, error)
    connection.status = ConnectionStatus.DISABLED
    connection.save(update_fields=["status", "updated_at"])
    return connection


# --- Keys and housekeeping ----------------------------------------------------------------------
def credentials_rotate_keys() -> int:
    """Re-encrypt every token set under the first TOKEN_ENCRYPTION_KEYS key; returns how many."""
    count = 0
    for pk in Credential.objects.values_list("pk", flat=True):
        with transaction.atomic():
            credential = Credential.objects.select_for_update().get(pk=pk)
            credential.token_ciphertext = rotate_ciphertext(credential.token_ciphertext)
            credential.save(update_fields=["token_ciphertext", "updated_at"])
            count += 1
    return count


def sync_logs_prune(*, older_than_days: int | None = None) -> int:
    days = older_than_days if older_than_days is not None else settings.SYNC_LOG_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = SyncLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- Runs ---------------------------------------------------------------------------------------
def sync_run_request(*, connection: Connection, entity: str, direction: str = "both") -> SyncRun:
    """Queue a sync of `entity` on `connection` (pull, push or both) and return its run row,
    status `queued`; the task fills it in (a pull's pages and records, a push's counts)."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ApplicationError(
            f"{connection} is {connection.get_status_display().lower()}: reconnect it first.",
            extra={"connection": ["not connected"]},
        )
    if direction not in (Direction.PULL, Direction.PUSH, "both"):
        raise ApplicationError(
            f"“{direction}” is not a direction.", extra={"direction": ["pull, push or both"]}
        )
    pulls = pull_entities(connection.provider)
    if direction == Direction.PULL and entity not in pulls:
        raise ApplicationError(
            f"{connection.get_provider_display()} has no pull for {entity}.",
            extra={"entity": [f"one of {', '.join(pulls)}"]},
        )
    pulled = direction != Direction.PUSH and entity in pulls
    with transaction.atomic():
        run = SyncRun.objects.create(
            connection=connection,
            entity=entity,
            direction=Direction.PULL if pulled else Direction.PUSH,
            status=RunStatus.QUEUED,
        )
        transaction.on_commit(
            lambda: async_task(
                "apps.sync.tasks.sync_now_task", connection.pk, entity, run.pk, direction
            )
        )
    return run


def sync_run_record_push(*, run: SyncRun, counts: dict[str, int]) -> SyncRun:
    """A requested push run's outcome: items sent, dead-lettered, still waiting."""
    run.records = sum(counts.values())
    run.updated = counts.get(OutboxStatus.DONE, 0)
    run.errors = counts.get(OutboxStatus.DEAD, 0)
    run.status = RunStatus.FAILED if run.errors else RunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["records", "updated", "errors", "status", "finished_at"])
    return run


def dead_letters_requeue(*, items) -> int:
    """Requeue dead letters (the admin's and the API's action): attempts start again."""
    return outbox_requeue(items=items.filter(status=OutboxStatus.DEAD))


def quarantine_retry(*, record: QuarantinedRecord) -> str:
    """An Admin's retry of a quarantined vendor record (engine/quarantine.py)."""
    return quarantine.quarantine_retry(record=record)
