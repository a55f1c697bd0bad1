"""django-q2 entry points of the Zoho flows, by ids: the admin's "Sync now" (one connection,
one entity), inbound webhook processing and the CRM watch channel renewal."""

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


def webhook_process_task(webhook_id: int) -> str:
    """Process one stored inbound webhook (by id): re-fetch from the vendor and apply."""
    from apps.sync.webhook_services import webhook_process

    return webhook_process(webhook_id=webhook_id)


def crm_watch_renew_task() -> list[str]:
    """Renew the Zoho CRM watch channels before they lapse (and enable missing ones); make sure
    every Books organisation has its webhooks (connections made in the admin get them here)."""
    from apps.sync.models import ConnectionStatus, Provider
    from apps.sync.webhook_services import crm_watch_renew_due, webhooks_subscribe

    for books in Connection.objects.filter(
        provider=Provider.ZOHO_BOOKS, status=ConnectionStatus.CONNECTED
    ).select_related("credential"):
        webhooks_subscribe(connection=books)
    return crm_watch_renew_due()
