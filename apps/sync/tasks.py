"""django-q2 entry points: each takes ids (never tokens or objects) and calls one service."""

from apps.sync import engine, outbox, services
from apps.sync.models import Connection, ConnectionStatus


def outbox_drain_task(connection_id: int | None = None) -> dict:
    """Drain due outbox items; also the minute sweep (lapsed leases are due again)."""
    return outbox.outbox_drain(connection_id=connection_id)


def pull_task(entity: str) -> list[int]:
    """Pull `entity` from every connected account that has a pull for it; returns run ids."""
    run_ids = []
    for connection in Connection.objects.filter(status=ConnectionStatus.CONNECTED):
        if entity in engine.pull_entities(connection.provider):
            run_ids.append(engine.pull(connection=connection, entity=entity).pk)
    return run_ids


def logs_prune_task() -> int:
    return services.sync_logs_prune()


def health_alert_task() -> bool:
    from apps.sync.selectors import sync_health_alert

    return sync_health_alert()
