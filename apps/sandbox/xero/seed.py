"""Seed and reset the Xero side of the sandbox (called by `manage.py sandbox seed` / `reset`)."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from apps.sandbox.xero import identity, services
from apps.sandbox.xero.models import (
    XeroApp,
    XeroContact,
    XeroIdempotentAnswer,
    XeroInvoice,
    XeroItem,
    XeroPayment,
    XeroQuote,
    XeroTenant,
)

DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.contacts accounting.transactions "
    "accounting.settings accounting.invoices accounting.payments"
)


@transaction.atomic
def seed_xero(
    *,
    tenants: int = 2,
    contacts: int = 20,
    items: int = 10,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: list[str] | None = None,
    webhook_url: str = "",
    webhook_key: str | None = None,
    scope: str = DEFAULT_SCOPE,
) -> dict:
    """Organisations with contacts and items, an OAuth client, and a grant connected to them all.

    Safe to run again: organisations, contacts and items are matched by name/code and topped up.
    Returns the client credentials, the tenants and a FRESH refresh token (each call mints one).
    """
    app = identity.app_register(
        name="Syncdesk",
        client_id=client_id or settings.XERO_CLIENT_ID or "SANDBOXXEROCLIENT",
        client_secret=client_secret
        if client_secret is not None
        else (settings.XERO_CLIENT_SECRET or "sandbox-xero-secret"),
        redirect_uris=redirect_uris or [],
        webhook_url=webhook_url,
        webhook_key=webhook_key if webhook_key is not None else settings.XERO_WEBHOOK_KEY,
    )
    seeded = []
    for number in range(1, tenants + 1):
        name = f"Sandbox Xero Organisation {number}"
        tenant = XeroTenant.objects.filter(name=name).first() or services.tenant_create(name=name)
        services.chart_top_up(tenant=tenant)
        _top_up_contacts(tenant, contacts)
        _top_up_items(tenant, items)
        seeded.append(tenant)
    grant = identity.grant_create(app=app, tenants=seeded, scope=scope)
    tokens = identity.refresh_token_issue(grant=grant)
    return {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "webhook_key": app.webhook_key,
        "tenants": [{"tenant_id": str(t.tenant_id), "name": t.name} for t in seeded],
        "refresh_token": tokens.refresh_token,
        "access_token": tokens.access_token,
        "scope": grant.scope,
    }


def _top_up_contacts(tenant: XeroTenant, count: int) -> None:
    existing = set(XeroContact.objects.filter(tenant=tenant).values_list("name", flat=True))
    for number in range(1, count + 1):
        name = f"Xero Customer {number:04d}"
        if name in existing:
            continue
        services.contact_save(
            tenant=tenant,
            data={
                "Name": name,
                "FirstName": "Customer",
                "LastName": f"{number:04d}",
                "EmailAddress": f"customer{number:04d}@xero-sandbox.test",
                "IsCustomer": True,
                "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": f"555-{number:04d}"}],
            },
        )


def _top_up_items(tenant: XeroTenant, count: int) -> None:
    existing = set(XeroItem.objects.filter(tenant=tenant).values_list("code", flat=True))
    for number in range(1, count + 1):
        code = f"SRV-{number:03d}"
        if code in existing:
            continue
        services.item_save(
            tenant=tenant,
            data={
                "Code": code,
                "Name": f"Service {number:03d}",
                "Description": f"Sandbox service {number:03d}",
                "SalesDetails": {
                    "UnitPrice": Decimal(100 + 25 * number),
                    "AccountCode": "200",
                    "TaxType": "OUTPUT",
                },
            },
        )


@transaction.atomic
def reset_xero() -> None:
    """Forget everything the Xero emulator holds (apps, tokens, tenants, records)."""
    XeroIdempotentAnswer.objects.all().delete()
    XeroPayment.objects.all().delete()
    XeroInvoice.objects.all().delete()
    XeroQuote.objects.all().delete()
    XeroTenant.objects.all().delete()
    XeroApp.objects.all().delete()
