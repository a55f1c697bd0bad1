"""Zoho Accounts: data centres (accounts server and API domain per location), the scopes we ask
for, the authorisation code flow, refresh (Zoho never rotates) and revocation."""

from urllib.parse import urlencode

from django.conf import settings

from apps.sync.engine.oauth import post_token, token_set
from apps.sync.engine.records import TokenSet
from apps.sync.engine.transport import HttpClient

VENDOR = "zoho"

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


def zoho_accounts_server(region: str) -> str:
    """The accounts server to use: the configured one (sandbox or override) else the DC's."""
    configured = settings.ZOHO_ACCOUNTS_URL
    if configured.rstrip("/") != "https://accounts.zoho.com":
        return configured.rstrip("/")
    return ZOHO_DATA_CENTRES.get(region or "com", ZOHO_DATA_CENTRES["com"])[0]


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
    payload = post_token(
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
    return token_set(payload)


def zoho_refresh(client: HttpClient, *, accounts_server: str, refresh_token: str) -> TokenSet:
    payload = post_token(
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
    return token_set(payload, previous_refresh=refresh_token)


def zoho_revoke(client: HttpClient, *, accounts_server: str, refresh_token: str) -> None:
    client.request(
        "POST",
        f"{accounts_server.rstrip('/')}/oauth/v2/token/revoke",
        params={"token": refresh_token},
    )
