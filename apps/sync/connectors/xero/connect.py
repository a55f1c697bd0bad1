"""Connecting Xero: a credential from an authorisation code or a refresh token, the tenants it
reaches (/connections), and one connection per chosen tenant, all on the one credential."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.errors import ApplicationError
from apps.sync.engine.connections import (
    adapter_for,
    connection_attach,
    oauth_refused,
    plain_client,
)
from apps.sync.engine.records import OAuthError, TokenSet, VendorError
from apps.sync.engine.tokens import access_token, credential_create
from apps.sync.models import Connection, Credential, Priority

from . import options
from .accounts import VENDOR, xero_connections, xero_refresh


def xero_tenants(*, credential: Credential) -> list[dict]:
    token, _ = access_token(credential.pk)
    try:
        return xero_connections(plain_client(), access_token=token)
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
                connection_attach(
                    provider="xero",
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
        credential = credential_create(vendor=VENDOR, tokens=tokens)
    return connection_attach_xero(
        credential=credential, tenants=xero_tenants(credential=credential), name=name
    )


def connection_connect_xero_refresh_token(
    *, refresh_token: str, name: str = "", bank_account: str = ""
) -> list[Connection]:
    try:
        tokens = xero_refresh(plain_client(), refresh_token=refresh_token)
    except OAuthError as error:
        raise oauth_refused(error) from error
    connections = connection_connect_xero(tokens=tokens, name=name)
    if bank_account:
        for connection in connections:
            connection_accounts_read(connection=connection, bank_account=bank_account)
    return connections


def connection_accounts_read(*, connection: Connection, bank_account: str = "") -> dict:
    """The organisation's accounts read (/Accounts): the bank account for payments kept (the
    one named, or the only one) and the default sales account of document lines. A named bank
    account that cannot be checked or is not the organisation's is an error naming it."""
    try:
        accounts = adapter_for(connection, priority=Priority.USER).accounts()
    except VendorError as error:
        if bank_account:
            raise ApplicationError(
                f"Xero did not list the accounts of {connection.name}: {error}",
                extra={"bank_account": [str(error)]},
            ) from error
        return dict(connection.options or {})
    try:
        return options.options_set(
            connection=connection, accounts=accounts, bank_account=bank_account
        )
    except ValidationError as error:
        raise ApplicationError(
            error.message_dict["bank_account"][0], extra=error.message_dict
        ) from error
