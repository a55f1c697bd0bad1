"""OAuth token endpoints: Zoho Accounts and Xero identity (exchange, refresh, revoke, tenants)."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings

from apps.sync.adapters.base import AuthExpired, Rejected, TokenSet, TransientError
from apps.sync.adapters.http import HttpClient

# Zoho data centres: location -> (accounts server, API domain) (vendor-contracts.md §1.1).
ZOHO_DATA_CENTRES = {
    "com": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "us": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
}
# Items (the catalogue) and webhooks sit under Books' settings scope: reading, creating and
# updating them all happen, so the whole of it is asked for.
ZOHO_SCOPES = (
    "ZohoBooks.contacts.ALL,ZohoBooks.settings.ALL,"
    "ZohoBooks.estimates.ALL,ZohoBooks.invoices.ALL,ZohoBooks.customerpayments.ALL,"
    "ZohoCRM.modules.ALL,ZohoCRM.notifications.ALL"
)
XERO_SCOPES = (
    "openid profile email offline_access accounting.contacts accounting.invoices "
    "accounting.payments accounting.settings.read"
)


class OAuthError(Exception):
    """The token endpoint answered with an OAuth error code (`invalid_grant`, `invalid_code`)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"OAuth error: {code}")
        self.code = code


def zoho_accounts_server(region: str) -> str:
    """The accounts server to use: the configured one (sandbox or override) else the DC's."""
    configured = settings.ZOHO_ACCOUNTS_URL
    if configured.rstrip("/") != "https://accounts.zoho.com":
        return configured.rstrip("/")
    return ZOHO_DATA_CENTRES.get(region or "com", ZOHO_DATA_CENTRES["com"])[0]


def _token_set(payload: dict, *, previous_refresh: str = "") -> TokenSet:
    if "error" in payload:
        # Zoho answers OAuth errors with HTTP 200 and {"error": ...} (vendor-contracts §1.5).
        raise OAuthError(str(payload["error"]))
    if "access_token" not in payload:
        raise TransientError("The token endpoint answered without an access token")
    return TokenSet(
        access_token=payload["access_token"],
        refresh_token=payload.get("refresh_token") or previous_refresh,
        expires_in=int(payload.get("expires_in") or 3600),
        api_domain=payload.get("api_domain", ""),
        scope=payload.get("scope", ""),
    )


def _post_token(client: HttpClient, url: str, **kwargs) -> dict:
    try:
        response = client.request("POST", url, **kwargs)
    except Rejected as error:
        # Xero answers 400 {"error": "invalid_grant"}; read the code from the body.
        import json

        try:
            code = json.loads(error.body or "{}").get("error") or "invalid_request"
        except ValueError:
            code = "invalid_request"
        raise OAuthError(code) from error
    except AuthExpired as error:
        raise OAuthError("invalid_client") from error
    return response.json()


# --- Zoho ---------------------------------------------------------------------------------------
def zoho_authorize_url(*, region: str, state: str, redirect_uri: str) -> str:
    query = urlencode(
        {
            "scope": ZOHO_SCOPES,
            "client_id": settings.ZOHO_CLIENT_ID,
            "response_type": "code",
            "access_type": "offline",
            "redirect_uri": redirect_uri,
            "state": state,
            "prompt": "consent",
        }
    )
    return f"{zoho_accounts_server(region)}/oauth/v2/auth?{query}"


def zoho_exchange_code(
    client: HttpClient, *, accounts_server: str, code: str, redirect_uri: str
) -> TokenSet:
    payload = _post_token(
        client,
        f"{accounts_server.rstrip('/')}/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": settings.ZOHO_CLIENT_ID,
            "client_secret": settings.ZOHO_CLIENT_SECRET,
            "redirect_uri": redirect_uri,
            "code": code,
        },
    )
    return _token_set(payload)


def zoho_refresh(client: HttpClient, *, accounts_server: str, refresh_token: str) -> TokenSet:
    payload = _post_token(
        client,
        f"{accounts_server.rstrip('/')}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": settings.ZOHO_CLIENT_ID,
            "client_secret": settings.ZOHO_CLIENT_SECRET,
            "refresh_token": refresh_token,
        },
    )
    # Zoho does not rotate: the refresh token we sent stays the refresh token.
    return _token_set(payload, previous_refresh=refresh_token)


def zoho_revoke(client: HttpClient, *, accounts_server: str, refresh_token: str) -> None:
    client.request(
        "POST",
        f"{accounts_server.rstrip('/')}/oauth/v2/token/revoke",
        params={"token": refresh_token},
    )


# --- Xero ---------------------------------------------------------------------------------------
def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


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
    payload = _post_token(
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
    return _token_set(payload)


def xero_refresh(client: HttpClient, *, refresh_token: str) -> TokenSet:
    payload = _post_token(
        client,
        f"{settings.XERO_IDENTITY_URL.rstrip('/')}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        basic_auth=_xero_basic(),
    )
    return _token_set(payload)


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
