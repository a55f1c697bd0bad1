"""Connections with credentials, made directly (no vendor call) for unit tests."""

from datetime import timedelta

from django.utils import timezone

from apps.sync.engine.records import TokenSet
from apps.sync.engine.tokens import credential_create
from apps.sync.models import Connection

ZOHO_API = "https://www.zohoapis.com"
ZOHO_ACCOUNTS = "https://accounts.zoho.com"
XERO_API = "https://api.xero.com"
XERO_IDENTITY = "https://identity.xero.com"


def make_credential(
    vendor,
    *,
    access="access-secret-AAA",
    refresh="refresh-secret-RRR",
    expires_in=3600,
    api_domain="",
):
    credential = credential_create(
        vendor=vendor,
        tokens=TokenSet(
            access_token=access, refresh_token=refresh, expires_in=expires_in, api_domain=api_domain
        ),
        accounts_server=ZOHO_ACCOUNTS if vendor == "zoho" else "",
    )
    return credential


def make_zoho_books(*, name="Books", org="60001", **kwargs) -> Connection:
    credential = make_credential("zoho", api_domain=ZOHO_API, **kwargs)
    return Connection.objects.create(
        provider="zoho_books",
        name=name,
        remote_account_id=org,
        credential=credential,
        region="com",
    )


def make_xero(*, name="Xero", tenant="tenant-1", **kwargs) -> Connection:
    credential = make_credential("xero", **kwargs)
    return Connection.objects.create(
        provider="xero",
        name=name,
        remote_account_id=tenant,
        remote_connection_id="conn-1",
        credential=credential,
    )


def expire(connection: Connection) -> None:
    connection.credential.access_expires_at = timezone.now() - timedelta(seconds=1)
    connection.credential.save()
