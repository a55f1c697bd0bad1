"""Signal receivers that only enqueue: a saved client or service becomes an outbox row in the
same transaction. Domain apps know nothing of this; what sync itself writes is never echoed."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.catalog.models import Service
from apps.catalog.signals import services_saved_in_bulk
from apps.clients.models import Client
from apps.clients.signals import clients_saved_in_bulk
from apps.sync.models import Connection, ConnectionStatus, Entity, Provider

_applying_remote: ContextVar[bool] = ContextVar("sync_applying_remote", default=False)

ENTITY_OF = {Client: Entity.CLIENTS, Service: Entity.SERVICES}
PUSHING_PROVIDERS = (Provider.ZOHO_BOOKS, Provider.XERO)


@contextmanager
def applying_remote_changes() -> Iterator[None]:
    """Saves inside this block came from a vendor: they must not be pushed back (no echo)."""
    token = _applying_remote.set(True)
    try:
        yield
    finally:
        _applying_remote.reset(token)


@receiver(post_save, sender=Client, dispatch_uid="sync_enqueue_client")
@receiver(post_save, sender=Service, dispatch_uid="sync_enqueue_service")
def enqueue_push(sender, instance, raw=False, **kwargs) -> None:
    if raw or _applying_remote.get():
        return
    from apps.sync.outbox import outbox_enqueue

    connections = Connection.objects.filter(
        status=ConnectionStatus.CONNECTED, provider__in=PUSHING_PROVIDERS
    ).select_related("credential")
    for connection in connections:
        outbox_enqueue(connection=connection, entity=ENTITY_OF[sender], obj=instance)


@receiver(clients_saved_in_bulk, dispatch_uid="sync_enqueue_clients_in_bulk")
@receiver(services_saved_in_bulk, dispatch_uid="sync_enqueue_services_in_bulk")
def enqueue_push_many(sender, instances, **kwargs) -> None:
    """A bulk write (an import): one outbox item per record and connection, in a few queries."""
    if _applying_remote.get():
        return
    from apps.sync.outbox import outbox_enqueue_many

    connections = Connection.objects.filter(
        status=ConnectionStatus.CONNECTED, provider__in=PUSHING_PROVIDERS
    )
    for connection in connections:
        outbox_enqueue_many(connection=connection, entity=ENTITY_OF[sender], objs=list(instances))
