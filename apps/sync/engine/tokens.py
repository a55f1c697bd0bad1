"""The token store: access tokens for a credential, cached until near expiry, refreshed single-
flight under a row lock, a rotated refresh token committed before anyone uses it (ecosystem-
notes §4.4)."""

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.sync.engine import registry
from apps.sync.engine.crypto import decrypt_tokens, encrypt_tokens
from apps.sync.engine.records import AuthExpired, OAuthError, TokenSet, TransientError
from apps.sync.engine.transport import CallContext, HttpClient
from apps.sync.models import Connection, ConnectionStatus, Credential

logger = logging.getLogger(__name__)

# Refresh this long before the vendor's expiry, so a token never dies mid-run.
EXPIRY_MARGIN = timedelta(seconds=120)
# A lost refresh answer is retried with the same refresh token (Xero keeps it valid for a
# 30-minute grace period; Zoho never rotates).
LOST_ANSWER_RETRIES = 2


def credential_store_tokens(*, credential: Credential, tokens: TokenSet) -> None:
    """Write a new token set onto `credential` (the caller saves, inside its transaction)."""
    now = timezone.now()
    credential.token_ciphertext = encrypt_tokens(
        {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    )
    # expires_in is in the vendor's seconds; SYNC_CLOCK_SCALE maps them to ours (1 in production,
    # smaller against a sandbox whose clock runs fast).
    credential.access_expires_at = now + timedelta(
        seconds=tokens.expires_in * settings.SYNC_CLOCK_SCALE
    )
    credential.refreshed_at = now
    if tokens.api_domain:
        credential.api_domain = tokens.api_domain
    credential.last_refresh_error = ""


def credential_create(*, vendor: str, tokens: TokenSet, accounts_server: str = "") -> Credential:
    credential = Credential(vendor=vendor, accounts_server=accounts_server)
    credential_store_tokens(credential=credential, tokens=tokens)
    credential.refresh_count = 0
    credential.save()
    return credential


def _fresh(credential: Credential) -> bool:
    margin = EXPIRY_MARGIN * settings.SYNC_CLOCK_SCALE
    return bool(
        credential.access_expires_at and credential.access_expires_at > timezone.now() + margin
    )


def _call_refresh(credential: Credential, refresh_token: str) -> TokenSet:
    client = HttpClient(context=CallContext(), timeout=settings.SYNC_TOKEN_TIMEOUT)
    last_error: TransientError | None = None
    for _ in range(1 + LOST_ANSWER_RETRIES):
        try:
            return registry.accounts(credential.vendor).refresh(
                client, credential=credential, refresh_token=refresh_token
            )
        except TransientError as error:
            last_error = error
    raise last_error  # type: ignore[misc]


def access_token(credential_id: int, *, stale_token: str | None = None) -> tuple[str, str]:
    """(access token, api domain) for a credential, refreshing when it is (nearly) expired or
    when `stale_token` is the token a vendor just refused."""
    credential = Credential.objects.get(pk=credential_id)
    if stale_token is None and _fresh(credential):
        return decrypt_tokens(credential.token_ciphertext)["access_token"], credential.api_domain
    return _refresh(credential_id, stale_token=stale_token)


def _refresh(credential_id: int, *, stale_token: str | None) -> tuple[str, str]:
    """Single-flight refresh. PostgreSQL: a row lock (select_for_update) held across the
    vendor call. SQLite: a lease claimed by conditional UPDATE, since its write lock would also
    block a sandbox served from the same database file."""
    tried_refresh_tokens: set[str] = set()
    use_row_lock = db_connection.features.has_select_for_update
    while True:
        if use_row_lock:
            with transaction.atomic():
                credential = Credential.objects.select_for_update().get(pk=credential_id)
                outcome = _refresh_locked(credential, stale_token, tried_refresh_tokens)
        else:
            outcome = _refresh_with_lease(credential_id, stale_token, tried_refresh_tokens)
        if isinstance(outcome, tuple):
            return outcome
        failure = outcome
        # The refresh was refused. If another process rotated the token meanwhile, retry with
        # the newer one; otherwise the connection needs re-authorising.
        current = decrypt_tokens(Credential.objects.get(pk=credential_id).token_ciphertext)
        if current["refresh_token"] not in tried_refresh_tokens:
            stale_token = None
            continue
        credential_mark_refresh_failed(credential_id=credential_id, error=failure)
        raise AuthExpired(f"The vendor refused the refresh token ({failure}); reconnect it.")


def _refresh_locked(
    credential: Credential, stale_token: str | None, tried: set[str]
) -> tuple[str, str] | str:
    """Under the lock: re-check, refresh, store. Returns (token, api domain) or a failure code."""
    tokens = decrypt_tokens(credential.token_ciphertext)
    # Double-check: another process may have refreshed while we waited for the lock.
    if stale_token is None and _fresh(credential):
        return tokens["access_token"], credential.api_domain
    if stale_token is not None and tokens["access_token"] != stale_token:
        return tokens["access_token"], credential.api_domain
    refresh_token = tokens["refresh_token"]
    if refresh_token in tried:
        return "invalid_grant"
    tried.add(refresh_token)
    try:
        new_tokens = _call_refresh(credential, refresh_token)
    except OAuthError as error:
        return error.code
    credential_store_tokens(credential=credential, tokens=new_tokens)
    credential.refresh_count += 1
    credential.refresh_lease_until = None
    credential.refresh_lease_owner = ""
    # Saved (and, on the row-lock path, committed when the caller's block ends) before the new
    # token is used anywhere: a rotated Xero refresh token is never only in memory.
    credential.save()
    return new_tokens.access_token, credential.api_domain


def _refresh_with_lease(
    credential_id: int, stale_token: str | None, tried: set[str]
) -> tuple[str, str] | str:
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + settings.SYNC_TOKEN_TIMEOUT * (2 + LOST_ANSWER_RETRIES)
    while True:
        now = timezone.now()
        claimed = (
            Credential.objects.filter(pk=credential_id)
            .filter(Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now))
            .update(
                refresh_lease_until=now
                + timedelta(seconds=settings.SYNC_TOKEN_TIMEOUT * (1 + LOST_ANSWER_RETRIES)),
                refresh_lease_owner=owner,
            )
        )
        if claimed:
            break
        credential = Credential.objects.get(pk=credential_id)
        tokens = decrypt_tokens(credential.token_ciphertext)
        if (stale_token is None and _fresh(credential)) or (
            stale_token is not None and tokens["access_token"] != stale_token
        ):
            return tokens["access_token"], credential.api_domain
        if time.monotonic() > deadline:
            raise TransientError("Another process is refreshing this token; try again shortly.")
        time.sleep(0.05)
    try:
        credential = Credential.objects.get(pk=credential_id)
        return _refresh_locked(credential, stale_token, tried)
    finally:
        Credential.objects.filter(pk=credential_id, refresh_lease_owner=owner).update(
            refresh_lease_until=None, refresh_lease_owner=""
        )


@transaction.atomic
def credential_mark_refresh_failed(*, credential_id: int, error: str) -> None:
    Credential.objects.filter(pk=credential_id).update(last_refresh_error=error[:300])
    Connection.objects.filter(credential_id=credential_id).exclude(
        status=ConnectionStatus.DISABLED
    ).update(status=ConnectionStatus.NEEDS_REAUTH)
    logger.warning("token refresh refused for credential %s: %s", credential_id, error)


class CredentialAuth:
    """Authorization headers for the shared HTTP client, with refresh after a 401."""

    def __init__(self, credential_id: int, vendor: str, extra_headers: dict | None = None):
        self.credential_id = credential_id
        self.vendor = vendor
        self.extra_headers = extra_headers or {}
        self.api_domain = ""

    def _headers_for(self, token: str) -> dict:
        return {**registry.accounts(self.vendor).auth_headers(token), **self.extra_headers}

    def headers(self) -> tuple[dict, str]:
        token, self.api_domain = access_token(self.credential_id)
        return self._headers_for(token), token

    def refresh_after_401(self, stale_token: str | None) -> None:
        access_token(self.credential_id, stale_token=stale_token or "")


def credential_refresh_token(credential: Credential) -> str:
    """The stored refresh token, for revoking it; never logged or passed to a task."""
    return decrypt_tokens(credential.token_ciphertext)["refresh_token"]
