"""Xero identity: the authorisation code flow with PKCE, refresh (refresh tokens rotate, with a
grace period), revocation, and the tenants a token reaches (/connections)."""

from urllib.parse import urlencode

from django.conf import settings

from apps.sync.engine.oauth import post_token, token_set
from apps.sync.engine.records import TokenSet
from apps.sync.engine.transport import HttpClient

VENDOR = "xero"

XERO_SCOPES = (
    "openid profile email offline_access accounting.contacts accounting.invoices "
    "accounting.payments accounting.settings.read"
)


def xero_authorize_url(*, state: str, code_challenge: str, redirect_uri: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": XERO_SCOPES,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{settings.XERO_LOGIN_URL.rstrip('/')}/identity/connect/authorize?{query}"


def _xero_basic() -> tuple[str, str]:
    return (settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET)


def xero_exchange_code(
    client: HttpClient, *, code: str, redirect_uri: str, code_verifier: str
) -> TokenSet:
    payload = post_token(
        client,
        f"{settings.XERO_IDENTITY_URL.rstrip('/')}/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
        basic_auth=_xero_basic(),
    )
    return token_set(payload)


def xero_refresh(client: HttpClient, *, refresh_token: str) -> TokenSet:
    payload = post_token(
        client,
        f"{settings.XERO_IDENTITY_URL.rstrip('/')}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        basic_auth=_xero_basic(),
    )
    return token_set(payload)


def xero_revoke(client: HttpClient, *, refresh_token: str) -> None:
    client.request(
        "POST",
        f"{settings.XERO_IDENTITY_URL.rstrip('/')}/connect/revocation",
        data={"token": refresh_token},
        basic_auth=_xero_basic(),
        expect_json=False,
    )


def xero_connections(client: HttpClient, *, access_token: str) -> list[dict]:
    response = client.request(
        "GET",
        f"{settings.XERO_API_URL.rstrip('/')}/connections",
        headers={"Authorization": f"Bearer {access_token}"},
    )
    return list(response.json() or [])


def xero_delete_connection(client: HttpClient, *, access_token: str, connection_id: str) -> None:
    client.request(
        "DELETE",
        f"{settings.XERO_API_URL.rstrip('/')}/connections/{connection_id}",
        headers={"Authorization": f"Bearer {access_token}"},
        expect_json=False,
    )
