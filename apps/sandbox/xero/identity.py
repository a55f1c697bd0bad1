"""Xero identity in the sandbox: apps, consent, codes with PKCE, rotating refresh tokens, bearers.

Times run on the app's sandbox clock (vendor "xero", account = the app's client id), so a test can
scale a minute to a few seconds or jump forward past an expiry. Lifetimes (vendor-contracts §4.1):
access token 1800 s, authorisation code 5 minutes, refresh token 60 days unused, and a rotated
refresh token stays usable for a 30-minute grace.
"""

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC

from django.db import transaction

from apps.core.errors import ApplicationError
from apps.sandbox import clock, faults
from apps.sandbox.xero.models import (
    XeroAccessToken,
    XeroApp,
    XeroAuthorizationCode,
    XeroConnection,
    XeroGrant,
    XeroRefreshToken,
    XeroTenant,
)

VENDOR = "xero"
ACCESS_TOKEN_SECONDS = 1800
CODE_SECONDS = 300
REFRESH_TOKEN_SECONDS = 60 * 24 * 3600
REFRESH_GRACE_SECONDS = 1800


class OAuthError(Exception):
    """An OAuth error answered as HTTP 400 `{"error": code}` (401 for a bad client)."""

    def __init__(self, error: str, description: str = "", *, status: int = 400) -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    id_token: str | None
    expires_in: int
    scope: str

    def body(self) -> dict:
        """The token endpoint's answer (OAS `AccessToken` plus `scope`)."""
        body = {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "scope": self.scope,
        }
        if self.id_token:
            body["id_token"] = self.id_token
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _now(app: XeroApp):
    return clock.now(VENDOR, app.client_id)


def _later(app: XeroApp, vendor_seconds: float):
    return clock.expires_at(VENDOR, app.client_id, vendor_seconds)


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(SHA-256(verifier)) without padding (RFC 7636)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _jwt(app: XeroApp, claims: dict) -> str:
    """A JWT-shaped token signed with HS256 under the app's secret (Xero signs RS256)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    key = (app.client_secret or app.client_id).encode()
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


# --- apps, tenants, consent --------------------------------------------------------------------


@transaction.atomic
def app_register(
    *,
    name: str,
    redirect_uris: list[str],
    client_id: str | None = None,
    client_secret: str | None = None,
    webhook_url: str = "",
    webhook_key: str | None = None,
) -> XeroApp:
    """Register an OAuth client; ids and secrets are generated unless given."""
    app, _ = XeroApp.objects.update_or_create(
        client_id=client_id or secrets.token_hex(16).upper(),
        defaults={
            "name": name,
            "client_secret": secrets.token_urlsafe(36) if client_secret is None else client_secret,
            "redirect_uris": list(redirect_uris),
            "webhook_url": webhook_url,
            "webhook_key": secrets.token_urlsafe(64) if webhook_key is None else webhook_key,
        },
    )
    return app


def app_authenticate(*, client_id: str, client_secret: str | None) -> XeroApp:
    """The app whose credentials these are; a public app (no secret) sends none."""
    app = XeroApp.objects.filter(client_id=client_id).first()
    if app is None:
        raise OAuthError("invalid_client", status=400)
    if app.client_secret and not hmac.compare_digest(
        (client_secret or "").encode(), app.client_secret.encode()
    ):
        raise OAuthError("invalid_client", status=400)
    return app


@transaction.atomic
def grant_create(*, app: XeroApp, tenants: list[XeroTenant], scope: str) -> XeroGrant:
    """A user's consent: one grant, one connection per chosen tenant (one auth event)."""
    if not tenants:
        raise ApplicationError("Choose at least one organisation.", extra={"tenants": "required"})
    grant = XeroGrant.objects.create(app=app, scope=" ".join(scope.split()))
    moment = _now(app)
    auth_event_id = uuid.uuid4()
    for tenant in tenants:
        XeroConnection.objects.create(
            grant=grant,
            tenant=tenant,
            auth_event_id=auth_event_id,
            created_at=moment,
            updated_at=moment,
        )
    return grant


@transaction.atomic
def authorization_code_issue(
    *,
    grant: XeroGrant,
    redirect_uri: str,
    code_challenge: str = "",
    code_challenge_method: str = "",
) -> str:
    code = secrets.token_urlsafe(32)
    XeroAuthorizationCode.objects.create(
        code_hash=_hash(code),
        grant=grant,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        expires_at=_later(grant.app, CODE_SECONDS),
    )
    return code


# --- tokens ------------------------------------------------------------------------------------


def _mint(grant: XeroGrant, *, with_refresh: bool) -> TokenSet:
    app = grant.app
    lifetime = min(
        [faults.token_lifetime(VENDOR, app.client_id, ACCESS_TOKEN_SECONDS)]
        + [
            faults.token_lifetime(VENDOR, str(c.tenant.tenant_id), ACCESS_TOKEN_SECONDS)
            for c in grant.connections.select_related("tenant")
        ]
    )
    issued = _now(app)
    expires = _later(app, lifetime)
    claims = {
        "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": "https://identity.xero.com",
        "aud": "https://identity.xero.com/resources",
        "client_id": app.client_id,
        "sub": grant.user_id.hex,
        "auth_time": int(grant.created_at.timestamp()),
        "xero_userid": str(grant.user_id),
        "global_session_id": uuid.uuid4().hex,
        "jti": uuid.uuid4().hex,
        "authentication_event_id": str(
            grant.connections.values_list("auth_event_id", flat=True).first() or uuid.uuid4()
        ),
        "scope": grant.scope.split(),
    }
    access = _jwt(app, claims)
    XeroAccessToken.objects.create(
        token_hash=_hash(access), grant=grant, issued_at=issued, expires_at=expires
    )
    refresh = None
    if with_refresh:
        refresh = secrets.token_hex(32)
        XeroRefreshToken.objects.create(
            token_hash=_hash(refresh),
            grant=grant,
            issued_at=issued,
            expires_at=_later(app, REFRESH_TOKEN_SECONDS),
        )
    id_token = None
    if "openid" in grant.scopes:
        id_token = _jwt(
            app,
            {
                "nbf": claims["nbf"],
                "exp": int(_later(app, CODE_SECONDS).timestamp()),
                "iss": claims["iss"],
                "aud": app.client_id,
                "sub": claims["sub"],
                "xero_userid": claims["xero_userid"],
                "email": f"user-{grant.user_id.hex[:8]}@sandbox.xero.test",
            },
        )
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        id_token=id_token,
        expires_in=lifetime,
        scope=grant.scope,
    )


@transaction.atomic
def token_exchange_code(
    *, app: XeroApp, code: str, redirect_uri: str, code_verifier: str = ""
) -> TokenSet:
    """`grant_type=authorization_code`: single use, same redirect URI, PKCE S256 when started."""
    row = (
        XeroAuthorizationCode.objects.select_for_update()
        .select_related("grant__app")
        .filter(code_hash=_hash(code or ""))
        .first()
    )
    if row is None or row.grant.app_id != app.pk:
        raise OAuthError("invalid_grant")
    if row.used_at is not None or row.expires_at <= _now(app) or row.grant.revoked_at:
        raise OAuthError("invalid_grant")
    if row.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorisation request")
    if row.code_challenge:
        if not code_verifier or not hmac.compare_digest(
            pkce_challenge(code_verifier), row.code_challenge
        ):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    elif not app.client_secret:
        raise OAuthError("invalid_grant", "a public client must use PKCE")
    row.used_at = _now(app)
    row.save(update_fields=["used_at"])
    return _mint(row.grant, with_refresh="offline_access" in row.grant.scopes)


@transaction.atomic
def token_refresh(*, app: XeroApp, refresh_token: str) -> TokenSet:
    """`grant_type=refresh_token`: a new access AND refresh token; the old one gets its grace.

    A rotated token used again inside its grace gets a fresh token set (the answer to it was
    presumably lost); after the grace, or once revoked or expired, it is `invalid_grant`.
    """
    row = (
        XeroRefreshToken.objects.select_for_update()
        .select_related("grant__app")
        .filter(token_hash=_hash(refresh_token or ""))
        .first()
    )
    if row is None or row.grant.app_id != app.pk:
        raise OAuthError("invalid_grant")
    moment = _now(app)
    if row.revoked_at or row.grant.revoked_at or row.expires_at <= moment:
        raise OAuthError("invalid_grant")
    if row.rotated_at is not None and (row.grace_until is None or row.grace_until <= moment):
        raise OAuthError("invalid_grant")
    if row.rotated_at is None:
        row.rotated_at = moment
        row.grace_until = _later(app, REFRESH_GRACE_SECONDS)
        row.save(update_fields=["rotated_at", "grace_until"])
    return _mint(row.grant, with_refresh=True)


@transaction.atomic
def token_revoke(*, app: XeroApp, token: str) -> bool:
    """Revoke a refresh token: the whole grant goes, with every connection it made."""
    row = (
        XeroRefreshToken.objects.select_related("grant")
        .filter(token_hash=_hash(token or ""), grant__app=app)
        .first()
    )
    if row is None:
        return False
    grant = row.grant
    moment = _now(app)
    grant.revoked_at = moment
    grant.save(update_fields=["revoked_at"])
    grant.refresh_tokens.filter(revoked_at__isnull=True).update(revoked_at=moment)
    grant.access_tokens.all().delete()
    grant.connections.all().delete()
    return True


@dataclass(frozen=True)
class BearerCheck:
    grant: XeroGrant | None
    problem: str = ""  # the 401 Detail when grant is None


def bearer_authenticate(authorization: str) -> BearerCheck:
    """Who the `Authorization: Bearer` header speaks for, or why it does not."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return BearerCheck(None, "AuthenticationUnsuccessful")
    row = (
        XeroAccessToken.objects.select_related("grant__app")
        .filter(token_hash=_hash(token.strip()))
        .first()
    )
    if row is None or row.grant.revoked_at:
        return BearerCheck(None, "AuthenticationUnsuccessful")
    if row.expires_at <= _now(row.grant.app):
        stamp = row.expires_at.astimezone(UTC)
        return BearerCheck(None, f"TokenExpired: token expired at {stamp:%m/%d/%Y %H:%M:%S}")
    return BearerCheck(row.grant)


def connection_delete(*, grant: XeroGrant, connection_id: str) -> bool:
    try:
        wanted = uuid.UUID(str(connection_id))
    except ValueError:
        return False
    deleted, _ = grant.connections.filter(connection_id=wanted).delete()
    return bool(deleted)


def refresh_token_issue(*, grant: XeroGrant) -> TokenSet:
    """A token set for a grant made outside the browser flow (`sandbox seed`)."""
    with transaction.atomic():
        return _mint(grant, with_refresh=True)
