"""django-q2 entry points of the admin's "Sync now": one connection, one entity, by ids."""

from apps.sync import engine, outbox
from apps.sync.models import Connection


def sync_now_task(connection_id: int, entity: str) -> dict:
    """Pull `entity` (when the connection has a pull for it), then push what waits for it."""
    connection = Connection.objects.select_related("credential").get(pk=connection_id)
    result: dict = {"connection": connection.name, "entity": entity}
    if entity in engine.pull_entities(connection.provider):
        result["run"] = engine.pull(connection=connection, entity=entity).pk
    result["push"] = outbox.outbox_drain(connection_id=connection.pk, entity=entity)
    return result
