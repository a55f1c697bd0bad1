"""Writes of the sync engine: connecting (CLI refresh token or OAuth code), disconnecting,
re-encrypting tokens under a new key, pruning logs."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.sync.adapters import oauth
from apps.sync.adapters.base import TokenSet, VendorError
from apps.sync.adapters.http import CallContext, HttpClient
from apps.sync.adapters.zoho_books import ZohoBooksAdapter
from apps.sync.crypto import decrypt_tokens, rotate_ciphertext
from apps.sync.models import (
    Connection,
    ConnectionStatus,
    Credential,
    Provider,
    SyncLog,
    Vendor,
)
from apps.sync.tokens import access_token, credential_create

logger = logging.getLogger(__name__)


def _plain_client() -> HttpClient:
    return HttpClient(context=CallContext(), timeout=settings.SYNC_TOKEN_TIMEOUT)


def _oauth_refused(error: oauth.OAuthError) -> ApplicationError:
    return ApplicationError(
        f"The vendor refused the token ({error.code}); get a new one and connect again.",
        extra={"refresh_token": [error.code]},
    )


def _attach(*, provider, remote_account_id, name, credential, region="", remote_connection_id=""):
    connection = Connection.objects.filter(
        provider=provider, remote_account_id=remote_account_id
    ).first()
    if connection is None:
        if Connection.objects.filter(name=name).exists():
            name = f"{name} ({remote_account_id[:8]})"
        return Connection.objects.create(
            provider=provider,
            remote_account_id=remote_account_id,
            name=name,
            credential=credential,
            region=region,
            remote_connection_id=remote_connection_id,
        )
    old_credential_id = connection.credential_id
    connection.credential = credential
    connection.status = ConnectionStatus.CONNECTED
    connection.region = region or connection.region
    connection.remote_connection_id = remote_connection_id or connection.remote_connection_id
    connection.save()
    if not Connection.objects.filter(credential_id=old_credential_id).exists():
        Credential.objects.filter(pk=old_credential_id).delete()
    return connection


# --- Zoho ---------------------------------------------------------------------------------------
def zoho_organizations(*, credential: Credential) -> list[dict]:
    """The Books organisations a Zoho credential reaches (GET /organizations)."""
    books = ZohoBooksAdapter(
        HttpClient(context=CallContext(), auth=_auth(credential)),
        organization_id="",
        api_base=credential.api_domain or settings.ZOHO_API_URL,
    )
    try:
        return books.organizations()
    except VendorError as error:
        raise ApplicationError(f"Zoho Books did not list the organisations: {error}") from error


def connection_attach_zoho(
    *,
    credential: Credential,
    organizations: list[dict],
    organization_id: str = "",
    region: str = "com",
    name: str = "",
) -> Connection:
    """Bind a Zoho credential to one Books organisation (the default one when none is named)."""
    if organization_id:
        chosen = [o for o in organizations if str(o.get("organization_id")) == organization_id]
    else:
        chosen = [o for o in organizations if o.get("is_default_org")] or organizations[:1]
    if not chosen:
        raise ApplicationError(
            f"Zoho Books has no organisation {organization_id} for this token.",
            extra={"organization_id": ["not among GET /organizations"]},
        )
    org = chosen[0]
    with transaction.atomic():
        return _attach(
            provider=Provider.ZOHO_BOOKS,
            remote_account_id=str(org["organization_id"]),
            name=name or f"Zoho Books - {org.get('name') or org['organization_id']}",
            credential=credential,
            region=region,
        )


def connection_connect_zoho(
    *,
    tokens: TokenSet,
    accounts_server: str,
    region: str = "com",
    organization_id: str = "",
    name: str = "",
) -> Connection:
    with transaction.atomic():
        credential = credential_create(
            vendor=Vendor.ZOHO, tokens=tokens, accounts_server=accounts_server
        )
    try:
        organizations = zoho_organizations(credential=credential)
        return connection_attach_zoho(
            credential=credential,
            organizations=organizations,
            organization_id=organization_id,
            region=region,
            name=name,
        )
    except ApplicationError:
        if not credential.connections.exists():
            credential.delete()
        raise


def connection_connect_zoho_refresh_token(
    *, refresh_token: str, region: str = "com", organization_id: str = "", name: str = ""
) -> Connection:
    accounts_server = oauth.zoho_accounts_server(region)
    try:
        tokens = oauth.zoho_refresh(
            _plain_client(), accounts_server=accounts_server, refresh_token=refresh_token
        )
    except oauth.OAuthError as error:
        raise _oauth_refused(error) from error
    return connection_connect_zoho(
        tokens=tokens,
        accounts_server=accounts_server,
        region=region,
        organization_id=organization_id,
        name=name,
    )


# --- Xero ---------------------------------------------------------------------------------------
def xero_tenants(*, credential: Credential) -> list[dict]:
    token, _ = access_token(credential.pk)
    try:
        return oauth.xero_connections(_plain_client(), access_token=token)
    except VendorError as error:
        raise ApplicationError(f"Xero did not list the connected tenants: {error}") from error


def connection_attach_xero(
    *,
    credential: Credential,
    tenants: list[dict],
    name: str = "",
    tenant_ids: list[str] | None = None,
) -> list[Connection]:
    """One connection per chosen tenant, all on the one credential."""
    if tenant_ids is not None:
        tenants = [t for t in tenants if t.get("tenantId") in tenant_ids]
    if not tenants:
        raise ApplicationError("No Xero organisation chosen (or GET /connections is empty).")
    connections = []
    with transaction.atomic():
        for tenant in tenants:
            label = tenant.get("tenantName") or tenant["tenantId"]
            base = name or f"Xero - {label}"
            if name and len(tenants) > 1:
                base = f"{name} - {label}"
            connections.append(
                _attach(
                    provider=Provider.XERO,
                    remote_account_id=str(tenant["tenantId"]),
                    remote_connection_id=str(tenant.get("id") or ""),
                    name=base,
                    credential=credential,
                )
            )
    return connections


def connection_connect_xero(*, tokens: TokenSet, name: str = "") -> list[Connection]:
    with transaction.atomic():
        # Committed at once: the refresh that produced `tokens` already rotated the old one.
        credential = credential_create(vendor=Vendor.XERO, tokens=tokens)
    return connection_attach_xero(
        credential=credential, tenants=xero_tenants(credential=credential), name=name
    )


def connection_connect_xero_refresh_token(
    *, refresh_token: str, name: str = ""
) -> list[Connection]:
    try:
        tokens = oauth.xero_refresh(_plain_client(), refresh_token=refresh_token)
    except oauth.OAuthError as error:
        raise _oauth_refused(error) from error
    return connection_connect_xero(tokens=tokens, name=name)


# --- Disconnect ---------------------------------------------------------------------------------
def connection_disconnect(*, connection: Connection) -> Connection:
    """Revoke at the vendor (Xero: remove this tenant's connection; the token itself once no
    other tenant uses it) and mark the connection disabled. A vendor error is logged, not fatal:
    the local side is disconnected either way."""
    credential = connection.credential
    others = (
        Connection.objects.filter(credential=credential)
        .exclude(pk=connection.pk)
        .exclude(status=ConnectionStatus.DISABLED)
    )
    client = _plain_client()
    try:
        if connection.provider == Provider.XERO:
            token, _ = access_token(credential.pk)
            if connection.remote_connection_id:
                oauth.xero_delete_connection(
                    client, access_token=token, connection_id=connection.remote_connection_id
                )
            if not others.exists():
                oauth.xero_revoke(client, refresh_token=_refresh_token(credential))
        elif not others.exists():
            oauth.zoho_revoke(
                client,
                accounts_server=credential.accounts_server
                or oauth.zoho_accounts_server(connection.region),
                refresh_token=_refresh_token(credential),
            )
    except (VendorError, oauth.OAuthError) as error:
        logger.warning("revocation of %s failed: %s", connection, error)
    connection.status = ConnectionStatus.DISABLED
    connection.save(update_fields=["status", "updated_at"])
    return connection


def _refresh_token(credential: Credential) -> str:
    return decrypt_tokens(credential.token_ciphertext)["refresh_token"]


def _auth(credential: Credential):
    from apps.sync.tokens import CredentialAuth

    return CredentialAuth(credential.pk, credential.vendor)


# --- Keys and housekeeping ----------------------------------------------------------------------
def credentials_rotate_keys() -> int:
    """Re-encrypt every token set under the first TOKEN_ENCRYPTION_KEYS key; returns how many."""
    count = 0
    for pk in Credential.objects.values_list("pk", flat=True):
        with transaction.atomic():
            credential = Credential.objects.select_for_update().get(pk=pk)
            credential.token_ciphertext = rotate_ciphertext(credential.token_ciphertext)
            credential.save(update_fields=["token_ciphertext", "updated_at"])
            count += 1
    return count


def sync_logs_prune(*, older_than_days: int | None = None) -> int:
    days = older_than_days if older_than_days is not None else settings.SYNC_LOG_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = SyncLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
