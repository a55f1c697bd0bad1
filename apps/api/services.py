"""Writes of the API's own records: creating, using and revoking tokens; claiming, finishing and
releasing idempotency keys."""

import datetime
import hashlib
import json
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.api.models import ApiToken, IdempotencyKey
from apps.core.errors import ApplicationError

TOKEN_PREFIX = "sdk_"  # noqa: S105 - a marker, not a secret
# last_used_at is written at most this often per token, so a busy client costs no write a request.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)
IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
# How long a request may hold its key before another request with the key may take it over.
IDEMPOTENCY_LEASE = datetime.timedelta(seconds=60)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token itself (shown once, never stored)."""
    if not user.is_active:
        raise ValidationError({"user": f"{user.email} is inactive; it cannot hold a token."})
    if expires_days is not None and expires_days < 1:
        raise ValidationError({"expires_days": "A token must live at least one day."})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=(name or "").strip()[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=token_hash(raw),
        expires_at=(timezone.now() + datetime.timedelta(days=expires_days))
        if expires_days
        else None,
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The usable token for `raw` (with its user), or None; records when it was last used."""
    token = (
        ApiToken.objects.select_related("user").filter(token_hash=token_hash(raw)).first()
        if raw
        else None
    )
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- idempotency keys ----------------------------------------------------------------------------


def request_fingerprint(body: bytes) -> str:
    """The body's hash; JSON is compared by value, so key order and spacing do not matter."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
    except (ValueError, UnicodeDecodeError):
        return hashlib.sha256(body or b"").hexdigest()


class IdempotencyConflict(ApplicationError):
    """The key's first request is still running (409)."""


class IdempotencyMismatch(ApplicationError):
    """The key was used with another body (422)."""


@dataclass(frozen=True)
class Replay:
    status: int
    body: object
    headers: dict


def idempotency_claim(
    *, user, key: str, method: str, path: str, fingerprint: str
) -> IdempotencyKey | Replay:
    """Claim `key` for this request (committed at once, so a concurrent request sees it), or
    return the first answer to replay. Raises IdempotencyConflict or IdempotencyMismatch."""
    now = timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=method,
                    path=path,
                    request_hash=fingerprint,
                    locked_until=now + IDEMPOTENCY_LEASE,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
        except IntegrityError:
            pass
        with transaction.atomic():
            record = (
                IdempotencyKey.objects.select_for_update()
                .filter(user=user, key=key, method=method, path=path)
                .first()
            )
            if record is None:
                continue  # released between our insert and this read: try the insert again
            if record.expires_at <= now:
                record.delete()
                continue
            if record.request_hash != fingerprint:
                raise IdempotencyMismatch(
                    "This Idempotency-Key was already used with a different request body.",
                    extra={"idempotency_key": "Use a new key for a different request."},
                )
            if record.state == IdempotencyKey.State.DONE:
                return Replay(
                    status=record.response_status,
                    body=record.response_body,
                    headers=record.response_headers,
                )
            if record.locked_until > now:
                raise IdempotencyConflict(
                    "A request with this Idempotency-Key is still being processed; "
                    "retry once it has finished.",
                )
            # The first request's lease ran out (its worker died): this one takes the key over.
            record.locked_until = now + IDEMPOTENCY_LEASE
            record.save(update_fields=["locked_until"])
            return record
    raise IdempotencyConflict("This Idempotency-Key is contended; retry.")


def idempotency_finish(*, record: IdempotencyKey, status: int, body, headers: dict) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyKey.State.DONE,
        response_status=status,
        response_body=body,
        response_headers=headers,
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget a claim whose request failed unexpectedly, so a retry runs again."""
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.RUNNING).delete()


def idempotency_keys_prune() -> int:
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
