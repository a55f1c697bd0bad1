"""The Zoho connector: Zoho Books (the books: contacts, items, estimates, invoices, payments)
and Zoho CRM (the master of contacts, and deals), on one Zoho credential; registered with the
engine under "zoho_books" and "zoho_crm" when settings.SYNC_CONNECTORS names this module."""

import logging

from django.conf import settings

from apps.core.schedules import MINUTES, ScheduleSpec
from apps.sync.engine import registry, taxes
from apps.sync.engine.records import TokenSet, VendorError
from apps.sync.engine.registry import Accounts, Connector, PullSpec, WebhookSource
from apps.sync.engine.tokens import access_token, credential_refresh_token
from apps.sync.models import Connection, Entity

from . import accounts, connect, views
from .books import exporters as books_exporters
from .books import webhooks as books_webhooks
from .books.adapter import ZohoBooksAdapter
from .books.importers import invoices_pull
from .books.mappers import (
    contact_from_books,
    contact_match_keys_books,
    item_from_books,
    settings_from_books,
)
from .books.reconcile import books_document_fetch, books_reconcile_lists
from .crm import exporters as crm_exporters
from .crm import webhooks as crm_webhooks
from .crm.adapter import ZohoCrmAdapter
from .crm.mappers import contact_from_crm

logger = logging.getLogger(__name__)


class ZohoAccounts(Accounts):
    vendor = accounts.VENDOR
    label = "Zoho"

    def auth_headers(self, token: str) -> dict:
        return {"Authorization": f"Zoho-oauthtoken {token}"}

    def refresh(self, client, *, credential, refresh_token: str) -> TokenSet:
        return accounts.zoho_refresh(
            client,
            accounts_server=credential.accounts_server or accounts.zoho_accounts_server(""),
            refresh_token=refresh_token,
        )

    def disconnect(self, client, *, connection, credential, last: bool) -> None:
        if last:  # one Zoho token serves Books and CRM: revoked with the last of them
            accounts.zoho_revoke(
                client,
                accounts_server=credential.accounts_server
                or accounts.zoho_accounts_server(connection.region),
                refresh_token=credential_refresh_token(credential),
            )

    def connect_with_refresh_token(
        self, *, refresh_token: str, organization_id="", region="com", name="", crm=False, **_
    ) -> list[Connection]:
        books = connect.connection_connect_zoho_refresh_token(
            refresh_token=refresh_token, region=region, organization_id=organization_id, name=name
        )
        if crm:
            return [books, connect.connection_link_zoho_crm(books=books)]
        return [books]

    def attach_chosen(self, *, credential, chosen: list[str], pending: dict) -> list[Connection]:
        books = connect.connection_attach_zoho(
            credential=credential,
            organizations=connect.zoho_organizations(credential=credential),
            organization_id=(chosen or [""])[0],
            region=pending.get("region", "com"),
        )
        return connect.zoho_with_crm(books)

    def urlpatterns(self) -> list:
        return views.urlpatterns


def zoho_api_base(connection: Connection) -> str:
    """Zoho calls go to the api_domain the token endpoint returned (per data centre)."""
    if not connection.credential.api_domain:
        access_token(connection.credential_id)
        connection.credential.refresh_from_db(fields=["api_domain"])
    return connection.credential.api_domain or settings.ZOHO_API_URL


def _subscribe(connection, subscribe) -> str:
    try:
        return subscribe(connection)
    except VendorError as error:
        logger.warning("webhook subscription for %s failed: %s", connection, error)
        return f"webhook subscription failed: {error}"


class ZohoBooks(Connector):
    key = "zoho_books"
    label = "Zoho Books"
    vendor = accounts.VENDOR
    # vendor-contracts.md §2.8: 100 calls a minute per organisation; the daily quota by plan.
    limits = {"per_window": 100, "concurrent": None, "per_day": 10_000}
    pulls = {
        Entity.CLIENTS: PullSpec(
            "contacts", contact_from_books, match_keys=contact_match_keys_books
        ),
        Entity.SERVICES: PullSpec("items", item_from_books),
        Entity.INVOICES: PullSpec(run=invoices_pull),
    }
    exporters = books_exporters.EXPORTERS
    # POST /settings/webhooks sends the signing secret, and Books echoes it in its answer.
    secret_fields = ("secret",)
    webhook = WebhookSource(
        path="zoho/books/",
        url_name=books_webhooks.URL_NAME,
        verify=books_webhooks.books_verify,
        process=books_webhooks.books_process,
    )

    reads_settings = True
    reconciles = (Entity.INVOICES, Entity.QUOTES)
    imports_documents = (Entity.INVOICES,)

    def adapter(self, connection, client) -> ZohoBooksAdapter:
        return ZohoBooksAdapter(
            client,
            organization_id=connection.remote_account_id,
            api_base=zoho_api_base(connection),
        )

    def read_settings(self, adapter) -> taxes.VendorSettings:
        return settings_from_books(taxes=adapter.taxes(), currencies=adapter.currencies())

    def reconcile_lists(self, adapter, *, entities, since=None) -> dict[str, list]:
        return books_reconcile_lists(adapter, entities=entities, since=since)

    def document_fetch(self, adapter, *, entity: str, remote_id: str):
        return books_document_fetch(adapter, entity=entity, remote_id=remote_id)

    def on_connect(self, connection) -> str:
        """The organisation's taxes mapped and its outgoing webhooks to us; a refusal is
        reported, never fatal (the daily read and the first document try again)."""
        return "; ".join(
            [_subscribe(connection, self._read_taxes), _subscribe(connection, self._register)]
        )

    @staticmethod
    def _read_taxes(connection) -> str:
        found = taxes.vendor_settings_refresh(connection=connection)
        return f"{found['taxes']} Books tax(es) read, {found['mapped']} local rate(s) mapped"

    def webhooks_ensure(self, connection) -> str:
        return _subscribe(connection, self._register)

    @staticmethod
    def _register(connection) -> str:
        created = books_webhooks.books_webhooks_register(connection=connection)
        return f"{created} Books webhook(s) registered"


class ZohoCrm(Connector):
    key = "zoho_crm"
    label = "Zoho CRM"
    vendor = accounts.VENDOR
    # vendor-contracts.md §3.6: 100 a minute, 5 at once; the daily credits by edition.
    limits = {"per_window": 100, "concurrent": 5, "per_day": 50_000}
    pulls = {Entity.CLIENTS: PullSpec("contacts", contact_from_crm)}
    exporters = crm_exporters.EXPORTERS
    # The watch channel's token is the only proof a notification is CRM's (crm/webhooks.py).
    secret_fields = ("token",)
    webhook = WebhookSource(
        path="zoho/crm/",
        url_name=crm_webhooks.URL_NAME,
        verify=crm_webhooks.crm_verify,
        process=crm_webhooks.crm_process,
        secret_fields=("token",),
    )
    schedules = [
        ScheduleSpec(
            # Channels are asked for one day and renewed with 12 hours left (crm/webhooks.py).
            name="syncdesk:sync.crm_watch_renew",
            func="apps.sync.connectors.zoho.tasks.crm_watch_renew_task",
            schedule_type=MINUTES,
            minutes=30,
        )
    ]

    def adapter(self, connection, client) -> ZohoCrmAdapter:
        return ZohoCrmAdapter(client, api_base=zoho_api_base(connection))

    def on_connect(self, connection) -> str:
        """The watch channel; a refusal is reported, never fatal (the renewal tries again)."""
        return _subscribe(connection, self._watch)

    @staticmethod
    def _watch(connection) -> str:
        channel = crm_webhooks.crm_watch_enable(connection=connection)
        return channel.last_error or f"CRM channel {channel.channel_id} until {channel.expires_at}"


registry.register_accounts(ZohoAccounts())
BOOKS = registry.register(ZohoBooks())
CRM = registry.register(ZohoCrm())
