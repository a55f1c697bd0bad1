"""Zoho Accounts services: clients, organisations, grant codes, token minting and revocation.

Facts (vendor-contracts.md §1): access tokens live 3600 s; refresh tokens never expire and do
not rotate; at most 20 refresh tokens per user and client (the 21st evicts the oldest); a
refresh token mints at most 10 access tokens in 10 minutes; errors are `{"error": code}`.
Assumptions (UNCONFIRMED there): grant codes live 180 s; the minting limit answers
`{"error": "Access Denied", "error_description": ...}`.

API calls must say `Authorization: Zoho-oauthtoken <token>` (§1.4: no other scheme is accepted)
and the token's scopes must cover the call (`scope_allows`). Scope syntax is documented
(`Service.scope_name.OPERATION`, §1.2); which scope name guards which Books resource is not,
beyond `ZohoBooks.settings.READ` for `/organizations`: the sandbox ASSUMES items and webhooks
sit under `settings` (as Zoho's API pages list them), POST needs CREATE (status actions too),
PUT UPDATE, DELETE DELETE, GET READ; `ALL` and `ZohoBooks.fullaccess.all` cover everything.
"""

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.sandbox import clock, faults, ratelimit
from apps.sandbox.zoho import books_settings
from apps.sandbox.zoho.models import (
    ZohoAccessToken,
    ZohoClient,
    ZohoGrant,
    ZohoOrganization,
    ZohoRefreshToken,
)

VENDOR = "zoho"
ACCESS_TOKEN_SECONDS = 3600
GRANT_CODE_SECONDS = 180
REFRESH_TOKENS_PER_CLIENT = 20
MINTS_PER_WINDOW = 10
MINT_WINDOW_SECONDS = 600
SANDBOX_CLIENT_ID = "1000.SANDBOXCLIENT0000000000000000"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret-0000000000000000000000"  # noqa: S105 (public demo value)
DEFAULT_SCOPE = (
    "ZohoBooks.fullaccess.all,ZohoBooks.settings.READ,ZohoCRM.modules.ALL,ZohoCRM.notifications.ALL"
)


class TokenError(Exception):
    """An OAuth refusal; `body` is what the token endpoint answers (HTTP 200)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.body = {"error": error}
        if description:
            self.body["error_description"] = description


@dataclass(frozen=True)
class TokenCheck:
    token: ZohoAccessToken | None
    problem: str = ""  # "", "missing", "invalid", "expired"


def client_register(
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: str | list[str] | None = None,
    name: str = "Syncdesk",
) -> ZohoClient:
    """Register (or update) a client. Redirect URIs are matched exactly; none registered means
    the consent page refuses every redirect. `None` keeps what an existing client has."""
    defaults = {"client_secret": client_secret, "name": name}
    if redirect_uris is not None:
        uris = redirect_uris.split() if isinstance(redirect_uris, str) else list(redirect_uris)
        defaults["redirect_uris"] = " ".join(uris)
    client, _ = ZohoClient.objects.update_or_create(client_id=client_id, defaults=defaults)
    return client


def organization_create(*, name: str, currency_code: str = "ZAR") -> ZohoOrganization:
    organization = ZohoOrganization.objects.create(name=name, currency_code=currency_code)
    books_settings.settings_seed(organization)
    return organization


def _client(client_id: str, client_secret: str) -> ZohoClient:
    client = ZohoClient.objects.filter(client_id=client_id).first()
    if client is None or not secrets.compare_digest(client.client_secret, client_secret or ""):
        raise TokenError("invalid_client")
    return client


def grant_issue(
    *,
    client: ZohoClient,
    organization: ZohoOrganization,
    redirect_uri: str,
    scope: str,
    access_type: str = "offline",
) -> ZohoGrant:
    return ZohoGrant.objects.create(
        client=client,
        organization=organization,
        redirect_uri=redirect_uri,
        scope=scope,
        access_type=access_type,
        expires_at=clock.expires_at(VENDOR, organization.organization_id, GRANT_CODE_SECONDS),
    )


@transaction.atomic
def refresh_token_issue(
    *, client: ZohoClient, organization: ZohoOrganization, scope: str = DEFAULT_SCOPE
) -> ZohoRefreshToken:
    """A new refresh token; past 20 live ones for this client and org, the oldest is revoked."""
    token = ZohoRefreshToken.objects.create(client=client, organization=organization, scope=scope)
    live = ZohoRefreshToken.objects.filter(
        client=client, organization=organization, revoked_at__isnull=True
    ).order_by("-created_at", "-id")
    evicted = list(live.values_list("pk", flat=True)[REFRESH_TOKENS_PER_CLIENT:])
    if evicted:
        _revoke_refresh(ZohoRefreshToken.objects.filter(pk__in=evicted))
    return token


def _revoke_refresh(tokens) -> None:
    moment = timezone.now()
    ZohoAccessToken.objects.filter(refresh_token__in=tokens, revoked_at__isnull=True).update(
        revoked_at=moment
    )
    tokens.update(revoked_at=moment)


def _mint(
    *,
    client: ZohoClient,
    organization: ZohoOrganization,
    refresh: ZohoRefreshToken | None,
    scope: str = "",
) -> ZohoAccessToken:
    account = organization.organization_id
    lifetime = faults.token_lifetime(VENDOR, account, ACCESS_TOKEN_SECONDS)
    return ZohoAccessToken.objects.create(
        client=client,
        organization=organization,
        refresh_token=refresh,
        scope=refresh.scope if refresh else scope,
        expires_at=clock.expires_at(VENDOR, account, lifetime),
    )


def _answer(access: ZohoAccessToken, api_domain: str, refresh: str | None) -> dict:
    body = {"access_token": access.token}
    if refresh:
        body["refresh_token"] = refresh
    body |= {"api_domain": api_domain, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS}
    return body


@transaction.atomic
def token_exchange_code(
    *, client_id: str, client_secret: str, code: str, redirect_uri: str, api_domain: str
) -> dict:
    """authorization_code grant: the five-field body, with a new refresh token when offline."""
    client = _client(client_id, client_secret)
    grant = (
        ZohoGrant.objects.select_for_update()
        .select_related("organization")
        .filter(code=code or "", client=client)
        .first()
    )
    if grant is None or grant.used_at is not None:
        raise TokenError("invalid_code")
    account = grant.organization.organization_id
    if grant.expires_at <= clock.now(VENDOR, account) or grant.redirect_uri != redirect_uri:
        raise TokenError("invalid_code")
    grant.used_at = timezone.now()
    grant.save(update_fields=["used_at", "updated_at"])
    refresh = None
    if grant.access_type == "offline":
        refresh = refresh_token_issue(
            client=client, organization=grant.organization, scope=grant.scope
        )
    access = _mint(
        client=client, organization=grant.organization, refresh=refresh, scope=grant.scope
    )
    return _answer(access, api_domain, refresh.token if refresh else None)


def token_refresh(
    *, client_id: str, client_secret: str, refresh_token: str, api_domain: str
) -> dict:
    """refresh_token grant: a new access token; the refresh token stays the same."""
    client = _client(client_id, client_secret)
    refresh = (
        ZohoRefreshToken.objects.select_related("organization")
        .filter(token=refresh_token or "", client=client, revoked_at__isnull=True)
        .first()
    )
    if refresh is None:
        raise TokenError("invalid_code")
    limit = ratelimit.rate_hit(
        vendor=VENDOR,
        account=refresh.organization.organization_id,
        bucket=f"mint:{refresh.pk}",
        limit=MINTS_PER_WINDOW,
        window_seconds=MINT_WINDOW_SECONDS,
    )
    if not limit.allowed:
        raise TokenError(
            "Access Denied",
            "You have made too many requests continuously. Please try again after some time.",
        )
    access = _mint(client=client, organization=refresh.organization, refresh=refresh)
    return _answer(access, api_domain, None)


def token_revoke(*, token: str) -> bool:
    """Revoke a refresh token (and every access token it minted) or one access token."""
    refresh = ZohoRefreshToken.objects.filter(token=token or "", revoked_at__isnull=True)
    if refresh.exists():
        _revoke_refresh(refresh)
        return True
    return bool(
        ZohoAccessToken.objects.filter(token=token or "", revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def access_token_check(authorization: str) -> TokenCheck:
    """Resolve `Authorization: Zoho-oauthtoken <token>` to a live token, or say what is wrong."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme != "Zoho-oauthtoken" or not value.strip():
        return TokenCheck(None, "missing")
    token = (
        ZohoAccessToken.objects.select_related("organization").filter(token=value.strip()).first()
    )
    if token is None or token.revoked_at is not None:
        return TokenCheck(None, "invalid")
    if token.expires_at <= clock.now(VENDOR, token.organization.organization_id):
        return TokenCheck(None, "expired")
    return TokenCheck(token)


WRITE_OPERATIONS = {"POST": "CREATE", "PUT": "UPDATE", "PATCH": "UPDATE", "DELETE": "DELETE"}


def operation_for(method: str) -> str:
    """The scope OPERATION an HTTP method needs: READ, CREATE, UPDATE or DELETE."""
    return WRITE_OPERATIONS.get(method.upper(), "READ")


def scope_allows(granted: str, *, service: str, name: str, operation: str) -> bool:
    """Whether the comma-separated `granted` scopes open `service.name` for `operation`.

    `service` is "ZohoBooks" or "ZohoCRM"; `name` the scope name ("contacts", "settings",
    "modules.contacts", "notifications"). `ALL` covers every operation, CRM's `WRITE` every
    write, `ZohoBooks.fullaccess.all` the whole of Books, and `ZohoCRM.modules.<OP>` every module.
    """
    scopes = {part.strip().lower() for part in granted.replace(" ", ",").split(",") if part}
    operation = operation.upper()
    operations = {operation, "ALL"}
    if service == "ZohoCRM" and operation != "READ":
        operations.add("WRITE")
    names = {name}
    if service == "ZohoCRM" and name.startswith("modules."):
        names.add("modules")
    wanted = {f"{service}.{each}.{op}".lower() for each in names for op in operations}
    if service == "ZohoBooks":
        wanted.add("zohobooks.fullaccess.all")
    return bool(scopes & wanted)


def sandbox_credentials(
    *,
    organization: ZohoOrganization,
    client_id: str = "",
    client_secret: str = "",
    redirect_uris: list[str] | None = None,
) -> dict:
    """Register the client (idempotent) and hand out a fresh refresh token for `sync connect`."""
    client = client_register(
        client_id=client_id or SANDBOX_CLIENT_ID,
        client_secret=client_secret or SANDBOX_CLIENT_SECRET,
        redirect_uris=redirect_uris,
    )
    refresh = refresh_token_issue(client=client, organization=organization)
    return {
        "vendor": "zoho",
        "client_id": client.client_id,
        # A sandbox secret is no secret: printing it lets `make demo` configure the client.
        "client_secret": client.client_secret,
        "refresh_token": refresh.token,
        "organization_id": organization.organization_id,
    }
