"""Signal receivers that only enqueue the Zoho document loop: a sent, accepted or rejected quote,
a created, sent or voided invoice and a recorded payment become outbox rows in the same
transaction. Changes applied from a vendor are never echoed back."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote
from apps.sync import flows
from apps.sync.mappers import documents
from apps.sync.models import Entity, Operation, Provider
from apps.sync.receivers import _applying_remote


def _status_changed(kwargs) -> bool:
    fields = kwargs.get("update_fields")
    return fields is None or "status" in fields


@receiver(post_save, sender=Quote, dispatch_uid="sync_flow_quote")
def quote_saved(sender, instance: Quote, created=False, raw=False, **kwargs) -> None:
    if raw or created or _applying_remote.get() or not _status_changed(kwargs):
        return
    status = instance.status
    if status not in documents.ESTIMATE_STATUS:
        return
    operation = Operation.CREATE if status == Quote.Status.SENT else Operation.ACTION
    for connection in flows.connections_for(Provider.ZOHO_BOOKS):
        flows.flow_enqueue(
            connection=connection,
            entity=Entity.QUOTES,
            obj=instance,
            operation=operation,
            reference=instance.number,
            intent={"status": status},
        )
    for connection in flows.connections_for(Provider.ZOHO_CRM):
        flows.flow_enqueue(
            connection=connection,
            entity=Entity.DEALS,
            obj=instance,
            operation=operation,
            reference=documents.deal_reference(instance),
            intent={"status": status},
        )


@receiver(post_save, sender=Invoice, dispatch_uid="sync_flow_invoice")
def invoice_saved(sender, instance: Invoice, created=False, raw=False, **kwargs) -> None:
    if raw or _applying_remote.get():
        return
    if created:
        operation, intent = Operation.CREATE, {}
    elif _status_changed(kwargs) and instance.status in documents.INVOICE_STATUS:
        operation, intent = Operation.ACTION, {"status": instance.status}
    else:
        return
    for connection in flows.connections_for(Provider.ZOHO_BOOKS):
        flows.flow_enqueue(
            connection=connection,
            entity=Entity.INVOICES,
            obj=instance,
            operation=operation,
            reference=instance.number,
            intent=intent,
        )


@receiver(post_save, sender=Payment, dispatch_uid="sync_flow_payment")
def payment_saved(sender, instance: Payment, created=False, raw=False, **kwargs) -> None:
    if raw or not created or _applying_remote.get():
        return
    for connection in flows.connections_for(Provider.ZOHO_BOOKS):
        flows.flow_enqueue(
            connection=connection,
            entity=Entity.PAYMENTS,
            obj=instance,
            operation=Operation.CREATE,
            reference=documents.payment_reference(instance),
        )
