"""django-q2 entry points of the Zoho connector, by ids only."""

from apps.sync.models import Connection, ConnectionStatus

from .connector import BOOKS
from .crm.webhooks import crm_watch_renew_due


def crm_watch_renew_task() -> list[str]:
    """Renew the Zoho CRM watch channels before they lapse (and enable missing ones); make sure
    every Books organisation has its webhooks (connections made in the admin get them here)."""
    for books in Connection.objects.filter(
        provider=BOOKS.key, status=ConnectionStatus.CONNECTED
    ).select_related("credential"):
        BOOKS.webhooks_ensure(books)  # not on_connect: the taxes are read daily, not half-hourly
    return crm_watch_renew_due()
