"""The shared HTTP transport: the one client every connector's adapter uses: timeouts, the rate
governor, refresh on 401, a SyncLog row per call with secrets redacted, and translation into the
error taxonomy."""

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from django.conf import settings

from apps.sync.engine import governor
from apps.sync.engine.records import (
    AuthExpired,
    NotFound,
    RateLimited,
    Rejected,
    TransientError,
    VendorError,
)
from apps.sync.models import SyncLog

logger = logging.getLogger("apps.sync.http")

SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code",
    "code_verifier",
    "token",
    "password",
)
_JSON_SECRET = re.compile(
    r'("(?:' + "|".join(SECRET_KEYS) + r')"\s*:\s*)"[^"]*"', flags=re.IGNORECASE
)
_FORM_SECRET = re.compile(
    r"(?<![A-Za-z_])(" + "|".join(SECRET_KEYS) + r")=[^&\s\"]*", flags=re.IGNORECASE
)
_HEADER_SECRET = re.compile(
    r"([A-Za-z-]*oauthtoken|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE
)
BODY_LOG_LIMIT = 2000


def redact(text: str) -> str:
    """Mask every token, secret and authorization code in a body, query string or header."""
    if not text:
        return ""
    text = _JSON_SECRET.sub(r'\1"[redacted]"', text)
    text = _FORM_SECRET.sub(r"\1=[redacted]", text)
    return _HEADER_SECRET.sub(r"\1 [redacted]", text)


def _body_text(body) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body[: BODY_LOG_LIMIT * 2].decode("utf-8", "replace")
    elif not isinstance(body, str):
        try:
            body = json.dumps(body)[: BODY_LOG_LIMIT * 2]
        except (TypeError, ValueError):
            body = repr(body)[: BODY_LOG_LIMIT * 2]
    return redact(body[: BODY_LOG_LIMIT * 2])[:BODY_LOG_LIMIT]


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass
class CallContext:
    """Who a call is for: the connection (for logs and the budget), the run, the priority."""

    connection_id: int | None = None
    run_id: int | None = None
    budget_key: str | None = None
    limits: object | None = None
    priority: int = 50
    request_count: int = 0
    on_request: list[Callable[[], None]] = field(default_factory=list)


class HttpClient:
    """Sends one request with the governor's permission and turns the answer into data or an error.

    `auth` (optional) gives the Authorization headers for a call and refreshes after a 401;
    `classify` (optional) lets an adapter recognise a vendor's error body in a 2xx answer.
    """

    def __init__(
        self,
        *,
        context: CallContext | None = None,
        auth=None,
        session: requests.Session | None = None,
        timeout: float | None = None,
    ) -> None:
        self.context = context or CallContext()
        self.auth = auth
        self.session = session or requests.Session()
        self.timeout = timeout or settings.SYNC_HTTP_TIMEOUT

    # --- the call -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        json_body=None,
        data: dict | None = None,
        headers: dict | None = None,
        basic_auth: tuple[str, str] | None = None,
        error_parser: Callable[[requests.Response], Rejected | None] | None = None,
        expect_json: bool = True,
    ) -> requests.Response:
        for attempt in (1, 2):
            call_headers = {"Accept": "application/json", **(headers or {})}
            stale_token = None
            if self.auth is not None:
                auth_headers, stale_token = self.auth.headers()
                call_headers.update(auth_headers)
            response = self._send(
                method,
                url,
                params=params,
                json_body=json_body,
                data=data,
                headers=call_headers,
                basic_auth=basic_auth,
            )
            if response.status_code == 401 and self.auth is not None and attempt == 1:
                # The access token was refused before its time (revoked, clock skew, or the
                # vendor expired it early): refresh once, single-flight, then try again.
                self.auth.refresh_after_401(stale_token)
                continue
            return self._check(response, method, error_parser, expect_json)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method, url, *, params, json_body, data, headers, basic_auth):
        lease = None
        if self.context.budget_key:
            lease = governor.acquire(
                self.context.budget_key, self.context.limits, priority=self.context.priority
            )
        started = time.perf_counter()
        response = None
        error: Exception | None = None
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                auth=basic_auth,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            error = exc
        finally:
            if lease is not None:
                governor.release(self.context.budget_key, lease)
        latency_ms = int((time.perf_counter() - started) * 1000)
        self.context.request_count += 1
        for hook in self.context.on_request:
            hook()
        self._log(
            method,
            url,
            params,
            json_body if json_body is not None else data,
            response,
            error,
            latency_ms,
        )
        if error is not None:
            raise self._translate_exception(error, method) from error
        if response.status_code == 429 and self.context.budget_key:
            governor.penalise(
                self.context.budget_key,
                parse_retry_after(response.headers.get("Retry-After")),
                self.context.limits,
            )
        return response

    @staticmethod
    def _translate_exception(error: Exception, method: str) -> TransientError:
        sent = not isinstance(error, requests.ConnectTimeout)
        return TransientError(
            f"{error.__class__.__name__} talking to the vendor",
            uncertain=sent and method.upper() != "GET",
        )

    def _check(self, response, method, error_parser, expect_json) -> requests.Response:
        status = response.status_code
        text = response.text[:BODY_LOG_LIMIT] if status >= 300 else ""
        if status == 429:
            raise RateLimited(
                "The vendor throttled the call "
                f"({response.headers.get('X-Rate-Limit-Problem') or '429'})",
                status=status,
                body=redact(text),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise TransientError(
                f"The vendor failed with HTTP {status}",
                status=status,
                body=redact(text),
                uncertain=method.upper() != "GET",
            )
        if status in (401, 403):
            raise AuthExpired(
                f"The vendor refused our credentials (HTTP {status})", status=status, body=text
            )
        rejected = error_parser(response) if error_parser else None
        if status == 404:
            raise NotFound(
                rejected.message if rejected else "The vendor has no such record",
                status=status,
                body=redact(text),
            )
        if rejected is not None:
            raise rejected
        if status >= 400:
            raise Rejected(
                f"The vendor rejected the request (HTTP {status})", status=status, body=redact(text)
            )
        if expect_json and status != 204 and response.content:
            try:
                parsed = response.json()
            except ValueError as exc:
                raise TransientError(
                    "The vendor answered with something that is not JSON",
                    status=status,
                    uncertain=method.upper() != "GET",  # a 2xx: the write may have happened
                ) from exc
            # Parsed once here; adapters calling .json() again get the same object for free
            # (a 200-record page is ~100 kB, and pulls read hundreds of them).
            response.json = lambda **_: parsed
        return response

    def _log(self, method, url, params, body, response, error, latency_ms) -> None:
        full_url = url
        if params:
            full_url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        status = response.status_code if response is not None else None
        kind = error.__class__.__name__ if error is not None else ""
        logger.debug(
            "vendor call %s %s -> %s in %d ms%s",
            method.upper(),
            redact(full_url)[:200],
            status,
            latency_ms,
            f" ({kind})" if kind else "",
            extra={
                "method": method,
                "url": redact(full_url)[:500],
                "status": status,
                "latency_ms": latency_ms,
                "error": kind,
            },
        )
        try:
            SyncLog.objects.create(
                connection_id=self.context.connection_id,
                run_id=self.context.run_id,
                method=method.upper(),
                url=redact(full_url)[:500],
                status_code=status,
                latency_ms=latency_ms,
                error_kind=kind,
                request_body=_body_text(body),
                response_body=_body_text(response.content) if response is not None else "",
            )
        except Exception:  # a log row must never break the call it describes
            logger.exception("could not write SyncLog")


__all__ = ["CallContext", "HttpClient", "VendorError", "redact"]
