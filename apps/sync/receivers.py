"""Signal receivers that only enqueue: a saved client or service, a quote sent, accepted or
rejected, an invoice created, sent or voided, and a recorded payment become outbox items in the
same transaction, for every connection whose connector pushes them. Domain apps know nothing of
this; what sync itself writes from a vendor is never echoed back (engine/echo.py)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.catalog.models import Service
from apps.catalog.signals import services_saved_in_bulk
from apps.clients.models import Client
from apps.clients.signals import clients_saved_in_bulk
from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote
from apps.sync.engine.echo import applying_remote
from apps.sync.engine.outbox import outbox_enqueue, outbox_enqueue_many
from apps.sync.models import Connection, ConnectionStatus, Entity, Operation

ENTITY_OF = {Client: Entity.CLIENTS, Service: Entity.SERVICES}
# The lifecycle moves that vendors mirror; what each becomes is up to the connector's exporter.
QUOTE_STATUSES = ("sent", "accepted", "rejected")
INVOICE_STATUSES = ("sent", "void")


def _connected():
    return Connection.objects.filter(status=ConnectionStatus.CONNECTED).select_related("credential")


def _status_changed(kwargs) -> bool:
    fields = kwargs.get("update_fields")
    return fields is None or "status" in fields


@receiver(post_save, sender=Client, dispatch_uid="sync_enqueue_client")
@receiver(post_save, sender=Service, dispatch_uid="sync_enqueue_service")
def record_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw or applying_remote():
        return
    for connection in _connected():
        outbox_enqueue(connection=connection, entity=ENTITY_OF[sender], obj=instance)


@receiver(clients_saved_in_bulk, dispatch_uid="sync_enqueue_clients_in_bulk")
@receiver(services_saved_in_bulk, dispatch_uid="sync_enqueue_services_in_bulk")
def records_saved_in_bulk(sender, instances, **kwargs) -> None:
    """A bulk write (an import): one outbox item per record and connection, in a few queries."""
    if applying_remote():
        return
    for connection in _connected():
        outbox_enqueue_many(connection=connection, entity=ENTITY_OF[sender], objs=list(instances))


@receiver(post_save, sender=Quote, dispatch_uid="sync_flow_quote")
def quote_saved(sender, instance: Quote, created=False, raw=False, **kwargs) -> None:
    if raw or created or applying_remote() or not _status_changed(kwargs):
        return
    if instance.status not in QUOTE_STATUSES:
        return
    operation = Operation.CREATE if instance.status == Quote.Status.SENT else Operation.ACTION
    for connection in _connected():
        for entity in (Entity.QUOTES, Entity.DEALS):
            outbox_enqueue(
                connection=connection,
                entity=entity,
                obj=instance,
                operation=operation,
                intent={"status": instance.status},
            )


@receiver(post_save, sender=Invoice, dispatch_uid="sync_flow_invoice")
def invoice_saved(sender, instance: Invoice, created=False, raw=False, **kwargs) -> None:
    if raw or applying_remote():
        return
    if created:
        operation, intent = Operation.CREATE, {}
    elif _status_changed(kwargs) and instance.status in INVOICE_STATUSES:
        operation, intent = Operation.ACTION, {"status": instance.status}
    else:
        return
    for connection in _connected():
        outbox_enqueue(
            connection=connection,
            entity=Entity.INVOICES,
            obj=instance,
            operation=operation,
            intent=intent,
        )


@receiver(post_save, sender=Payment, dispatch_uid="sync_flow_payment")
def payment_saved(sender, instance: Payment, created=False, raw=False, **kwargs) -> None:
    if raw or not created or applying_remote():
        return
    for connection in _connected():
        outbox_enqueue(
            connection=connection,
            entity=Entity.PAYMENTS,
            obj=instance,
            operation=Operation.CREATE,
        )
