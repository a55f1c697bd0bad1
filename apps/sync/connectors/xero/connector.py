"""The Xero connector: contacts, items, quotes, invoices and payments of one tenant
(Accounting 2.0), on a Xero credential that may serve several tenants, with its webhooks;
registered with the engine under "xero" when settings.SYNC_CONNECTORS names this module."""

import logging
from datetime import timedelta

from django.conf import settings
from django.urls import reverse

from apps.core.schedules import MINUTES, ScheduleSpec
from apps.sync.engine import registry, taxes
from apps.sync.engine.records import TokenSet, VendorError
from apps.sync.engine.registry import Accounts, Connector, PullSpec, WebhookSource
from apps.sync.engine.tokens import access_token, credential_refresh_token
from apps.sync.models import Connection, Entity, RemoteTax

from . import accounts, connect, options, views
from . import webhooks as xero_webhooks
from .adapter import XeroAdapter, tax_percent
from .exporters import EXPORTERS
from .importers import invoices_pull, quotes_pull
from .mappers import contact_from_xero, contact_match_keys_xero, item_from_xero
from .reconcile import xero_reconcile_lists

logger = logging.getLogger(__name__)


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

    def connect_with_refresh_token(
        self, *, refresh_token: str, name="", bank_account="", **_
    ) -> list[Connection]:
        return connect.connection_connect_xero_refresh_token(
            refresh_token=refresh_token, name=name, bank_account=bank_account
        )

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
        Entity.QUOTES: PullSpec(run=quotes_pull),
        Entity.INVOICES: PullSpec(run=invoices_pull),
    }
    exporters = EXPORTERS
    webhook = WebhookSource(
        path="xero/",
        url_name=xero_webhooks.URL_NAME,
        verify=xero_webhooks.xero_verify,
        process=xero_webhooks.xero_process,
    )
    # Lines name their tax by TaxType: /TaxRates is read at connect, daily and on a miss.
    reads_settings = True
    # Compared by reconciliation; a Xero document we lack is reported, not brought in (yet).
    reconciles = (Entity.INVOICES, Entity.QUOTES)

    def reconcile_lists(self, adapter, *, entities, since=None) -> dict[str, list]:
        return xero_reconcile_lists(adapter, entities=entities, since=since)

    # Quotes have no webhooks, and a missed invoice webhook must not be lost: both are pulled
    # by If-Modified-Since every quarter hour (one call each when nothing changed).
    schedules = [
        ScheduleSpec(
            name=f"syncdesk:sync.pull_{entity}",
            func="apps.sync.tasks.pull_task",
            schedule_type=MINUTES,
            minutes=15,
            args=f"'{entity}'",
        )
        for entity in (Entity.QUOTES, Entity.INVOICES)
    ]

    def adapter(self, connection, client) -> XeroAdapter:
        def known_taxes(refresh: bool) -> dict:
            if refresh:  # a TaxType new in Xero: its list read and stored (mapped) again
                taxes.vendor_settings_refresh(connection=connection)
            return dict(
                RemoteTax.objects.filter(connection=connection, active=True).values_list(
                    "remote_id", "rate"
                )
            )

        return XeroAdapter(
            client,
            tenant_id=connection.remote_account_id,
            api_base=settings.XERO_API_URL,
            known_taxes=known_taxes,
        )

    def read_settings(self, adapter) -> taxes.VendorSettings:
        """Active sales tax rates by TaxType; the organisation's base currency (the one Xero assumes
        when a document names none; another is refused by engine/taxes.py, naming it)."""
        rates = []
        for row in adapter.tax_rates():
            percent = tax_percent(row)
            # Only what a sales line may carry (not the purchase types of the same rate).
            sales = row.get("CanApplyToRevenue") is not False
            if percent is not None and sales and row.get("Status", "ACTIVE") == "ACTIVE":
                rates.append(
                    taxes.VendorTax(
                        remote_id=str(row["TaxType"]), name=str(row.get("Name") or ""), rate=percent
                    )
                )
        base = str(adapter.organisation().get("BaseCurrency") or "")
        currencies = [taxes.VendorCurrency(remote_id=base, code=base, is_base=True)] if base else []
        return taxes.VendorSettings(taxes=rates, currencies=currencies)

    def settings_url(self, connection) -> str:
        return reverse("sync:xero-bank-account", args=[connection.pk])

    def settings_text(self, connection) -> str:
        """The options in an office's words for the connection's page (the admin shows the raw
        keys of a connector without this)."""
        chosen = connection.options or {}
        code = chosen.get(options.BANK_ACCOUNT, "")
        name = chosen.get(options.BANK_ACCOUNT_NAME, "")
        bank = f"{name} ({code})" if name and code else code or "not chosen yet"
        sales = chosen.get(options.SALES_ACCOUNT) or "not found yet"
        return f"Bank account for payments: {bank} · Default sales account: {sales}"

    def on_connect(self, connection) -> str:
        """Tax rates mapped and the accounts chosen; a refusal is reported, never fatal (the
        daily read and the first document try again)."""
        done = []
        try:
            found = taxes.vendor_settings_refresh(connection=connection)
            done.append(f"{found['taxes']} Xero tax rate(s) read, {found['mapped']} mapped")
        except VendorError as error:
            logger.warning("reading the tax rates of %s failed: %s", connection, error)
            done.append(f"tax rates not read: {error}")
        chosen = connect.connection_accounts_read(connection=connection)
        done.append(
            f"bank account {chosen.get('bank_account') or 'not chosen'}, "
            f"sales account {chosen.get('sales_account') or 'not found'}"
        )
        return "; ".join(done)


registry.register_accounts(XeroAccounts())
XERO = registry.register(Xero())
