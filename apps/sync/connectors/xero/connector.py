"""The Xero connector: contacts and items of one tenant (Accounting 2.0), on a Xero credential
that may serve several tenants; registered with the engine under "xero" when
settings.SYNC_CONNECTORS names this module."""

from datetime import timedelta

from django.conf import settings

from apps.sync.engine import registry
from apps.sync.engine.records import TokenSet
from apps.sync.engine.registry import Accounts, Connector, PullSpec
from apps.sync.engine.tokens import access_token, credential_refresh_token
from apps.sync.models import Connection, Entity

from . import accounts, connect, views
from .adapter import XeroAdapter
from .exporters import EXPORTERS
from .mappers import contact_from_xero, contact_match_keys_xero, item_from_xero


class XeroAccounts(Accounts):
    vendor = accounts.VENDOR
    label = "Xero"
    # A refresh token expires after 60 days unused (vendor-contracts §4.1).
    refresh_token_disuse_lifetime = timedelta(days=60)

    def refresh(self, client, *, credential, refresh_token: str) -> TokenSet:
        return accounts.xero_refresh(client, refresh_token=refresh_token)

    def disconnect(self, client, *, connection, credential, last: bool) -> None:
        """Remove this tenant's connection; revoke the token itself once no tenant uses it."""
        token, _ = access_token(credential.pk)
        if connection.remote_connection_id:
            accounts.xero_delete_connection(
                client, access_token=token, connection_id=connection.remote_connection_id
            )
        if last:
            accounts.xero_revoke(client, refresh_token=credential_refresh_token(credential))

    def connect_with_refresh_token(self, *, refresh_token: str, name="", **_) -> list[Connection]:
        return connect.connection_connect_xero_refresh_token(refresh_token=refresh_token, name=name)

    def attach_chosen(self, *, credential, chosen: list[str], pending: dict) -> list[Connection]:
        return connect.connection_attach_xero(
            credential=credential,
            tenants=connect.xero_tenants(credential=credential),
            tenant_ids=chosen,
        )

    def urlpatterns(self) -> list:
        return views.urlpatterns


class Xero(Connector):
    key = "xero"
    label = "Xero"
    vendor = accounts.VENDOR
    # vendor-contracts.md §4.8: 60 a minute, 5 at once and 5,000 a day per tenant.
    limits = {"per_window": 60, "concurrent": 5, "per_day": 5_000}
    pulls = {
        Entity.CLIENTS: PullSpec("contacts", contact_from_xero, match_keys=contact_match_keys_xero),
        Entity.SERVICES: PullSpec("items", item_from_xero),
    }
    exporters = EXPORTERS

    def adapter(self, connection, client) -> XeroAdapter:
        return XeroAdapter(
            client, tenant_id=connection.remote_account_id, api_base=settings.XERO_API_URL
        )


registry.register_accounts(XeroAccounts())
XERO = registry.register(Xero())
