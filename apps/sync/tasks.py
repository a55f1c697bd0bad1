"""django-q2 entry points: each takes ids (never tokens or objects) and calls one service.
Their dotted paths are stored in queued tasks and schedules: keep them stable (flow_tasks.py
keeps the paths of the previous release working)."""

import logging

from apps.sync import services
from apps.sync.engine import circuit, outbox, pull, reconcile, taxes, token_disuse
from apps.sync.engine.records import VendorError
from apps.sync.models import (
    Connection,
    ConnectionStatus,
    Direction,
    RunStatus,
    SyncRun,
)
from apps.sync.selectors import sync_health_alert
from apps.sync.webhooks.services import webhook_process

logger = logging.getLogger(__name__)


def outbox_drain_task(connection_id: int | None = None) -> dict:
    """Drain due outbox items; also the minute sweep (lapsed leases are due again, and a paused
    connection with nothing queued is probed with a cheap read). A drain of every connection
    holds the wake-up mark while it runs (engine/outbox.py _kick)."""
    counts = outbox.outbox_drain(connection_id=connection_id, wake_mark=connection_id is None)
    circuit.probe_idle()
    return counts


def pull_task(entity: str) -> list[int]:
    """Pull `entity` from every connected account that has a pull for it; returns run ids."""
    run_ids, failed = [], None
    connections = Connection.objects.filter(status=ConnectionStatus.CONNECTED)
    for connection in connections:
        if entity in pull.pull_entities(connection.provider):
            try:
                run_ids.append(pull.pull(connection=connection, entity=entity).pk)
            except (pull.ReviewPending, pull.ConnectionPaused):
                # Its first sync waits for the Admin's matching review, or its circuit is
                # open (the vendor down): it is probed, not pulled.
                continue
            except VendorError as error:
                # Counted by its circuit and logged with its call; the others are still pulled.
                failed = failed or error
            except Exception as error:
                # Anything else (a pull stopped in a page loop, a database error) is this
                # account's failure too: logged, and the other accounts are still pulled.
                logger.exception("Pull of %s from connection #%s failed", entity, connection.pk)
                failed = failed or error
    if failed is not None:
        raise failed  # the task is recorded as failed, with the first reason
    return run_ids


def sync_now_task(
    connection_id: int, entity: str, run_id: int | None = None, direction: str = "both"
) -> dict:
    """Pull `entity` (when the connection has a pull for it), then push what waits for it;
    `run_id` is the run row sync_run_request made, filled in here."""
    connection = Connection.objects.select_related("credential").get(pk=connection_id)
    run = SyncRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).first() if run_id else None
    result: dict = {"connection": connection.name, "entity": entity}
    if direction != Direction.PUSH and entity in pull.pull_entities(connection.provider):
        try:
            result["run"] = pull.pull(connection=connection, entity=entity, queued_run=run).pk
        except (pull.ReviewPending, pull.ConnectionPaused) as error:
            if run is not None:  # the requested run says why it did not happen
                run.status, run.last_error = RunStatus.FAILED, error.message
                run.save(update_fields=["status", "last_error"])
            return {**result, "held": error.message}
        run = None
    if direction != Direction.PULL:
        result["push"] = outbox.outbox_drain(connection_id=connection.pk, entity=entity)
        if run is not None:
            services.sync_run_record_push(run=run, counts=result["push"])
            result["run"] = run.pk
    return result


def webhook_process_task(webhook_id: int) -> str:
    """Process one stored inbound webhook (by id): re-fetch from the vendor and apply."""
    return webhook_process(webhook_id=webhook_id)


def logs_prune_task() -> int:
    return services.sync_logs_prune()


def health_alert_task() -> bool:
    return sync_health_alert()


def vendor_settings_refresh_task() -> dict:
    """Daily: read every account's taxes and currencies and map the local tax rates to them."""
    return taxes.vendor_settings_refresh_all()


def token_disuse_warn_task() -> int:
    """Daily: warn Admins (one e-mail) before a refresh token would expire from disuse."""
    return token_disuse.credentials_warn_disuse()


def reconcile_task() -> list[int]:
    """Weekly: every connected account's documents compared with the vendor's; run ids."""
    return reconcile.reconcile_all()


def reconcile_connection_task(connection_id: int) -> int:
    """An Admin's "reconcile now" for one connection; returns the run id."""
    connection = Connection.objects.select_related("credential").get(pk=connection_id)
    return reconcile.reconcile_run(connection=connection).pk
