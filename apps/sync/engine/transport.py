"""The shared HTTP transport: the one client every connector's adapter uses: timeouts, a total
deadline and a body size limit per call, no redirect to another host, the rate governor, refresh
on 401, a SyncLog row per call with secrets redacted, and translation into the error taxonomy."""

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from apps.sync.engine import governor, trace
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
READ_CHUNK = 64 * 1024
MAX_REDIRECTS = 3


class ResponseTooLarge(Rejected):
    """The vendor's answer passed SYNC_HTTP_MAX_BODY_BYTES: reading stopped there."""

    kind = "too_large"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask every token, secret and authorization code in a body, query string or header, and
    every value in `secrets` wherever it appears (a connector names its secret fields and the
    values it sends under them, so a key name we have not listed cannot leak one)."""
    if not text:
        return ""
    text = _JSON_SECRET.sub(r'\1"[redacted]"', text)
    text = _FORM_SECRET.sub(r"\1=[redacted]", text)
    text = _HEADER_SECRET.sub(r"\1 [redacted]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def secret_values(body, fields: Iterable[str]) -> list[str]:
    """The values under `fields` anywhere in a JSON-like body (nested dicts and lists)."""
    names = {name.lower() for name in fields}
    found: list[str] = []
    if not names:
        return found

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).lower() in names and isinstance(value, str | int) and str(value):
                    found.append(str(value))
                    if isinstance(value, str):
                        # The same value as it appears inside JSON text (escaped quotes etc.).
                        found.append(json.dumps(value)[1:-1])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body)
    # Longest first, so a secret that contains another is masked whole.
    return sorted(set(found), key=len, reverse=True)


def _names_a_field(content: bytes, fields: Iterable[str]) -> bool:
    """Whether a JSON answer has a key named like one of `fields` (a byte search): a page of
    records that names none is not walked value by value (a 200-record page, every call)."""
    if not content:
        return False
    lowered = content.lower()
    return any(f'"{name.lower()}"'.encode() in lowered for name in fields)


def _body_text(body, secrets: Iterable[str] = ()) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body[: BODY_LOG_LIMIT * 2].decode("utf-8", "replace")
    elif not isinstance(body, str):
        try:
            body = json.dumps(body)[: BODY_LOG_LIMIT * 2]
        except (TypeError, ValueError):
            body = repr(body)[: BODY_LOG_LIMIT * 2]
    return redact(body[: BODY_LOG_LIMIT * 2], secrets)[:BODY_LOG_LIMIT]


def _same_origin(first: str, second: str) -> bool:
    a, b = urlsplit(first), urlsplit(second)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# Set while a plan runs: its calls are listed here instead of written to SyncLog.
_unlogged: ContextVar[list | None] = ContextVar("sync_unlogged_calls", default=None)
# What must still hold when a call is about to leave (engine/leases.py: the outbox items the
# call is for must still be leased to us, else another worker may be sending them).
_before_call: ContextVar[Callable[[bool], None] | None] = ContextVar(
    "sync_before_call", default=None
)


@contextmanager
def checked_calls(check: Callable[[bool], None]):
    """Inside the block, each vendor call runs `check(waited)` once the rate governor admits it
    (`waited`: whether it was held back); if the check raises, the call is not made and the
    exception goes to the caller. Nested, both checks run (the document's, its dependency's)."""
    outer = _before_call.get()
    if outer is not None:
        inner = check

        def check(waited: bool) -> None:
            outer(waited)
            inner(waited)

    token = _before_call.set(check)
    try:
        yield
    finally:
        _before_call.reset(token)


@contextmanager
def unlogged_calls():
    """Vendor calls made inside the block write no SyncLog row (a plan writes nothing); each is
    listed instead, {"method", "url", "status"}, in the list this yields."""
    calls: list[dict] = []
    token = _unlogged.set(calls)
    try:
        yield calls
    finally:
        _unlogged.reset(token)


@dataclass
class CallContext:
    """Who a call is for: the connection (for logs and the budget), the run, the priority."""

    connection_id: int | None = None
    run_id: int | None = None
    budget_key: str | None = None
    limits: object | None = None
    priority: int = 50
    request_count: int = 0
    # What the calls are for (the record's journal): an outbox item's correlation id and the
    # local record it pushes. Unset, the current trace's correlation id is used (a webhook's).
    correlation_id: object | None = None
    entity: str = ""
    object_id: int | None = None
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
        secret_fields: Iterable[str] = (),
    ) -> None:
        self.context = context or CallContext()
        # Field names whose values are secrets in this vendor's requests and answers (the
        # connector names them): masked by value in every SyncLog body, whatever the key list.
        self.secret_fields = tuple(secret_fields)
        self._call_secret_fields: tuple[str, ...] = ()
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
        secret_fields: Iterable[str] = (),
    ) -> requests.Response:
        """`secret_fields`: more names of fields in the request or the answer that hold a
        secret, for this call only: their values are masked in its log."""
        self._call_secret_fields = tuple(secret_fields)
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
        check = _before_call.get()
        if self.context.budget_key:
            lease = governor.acquire(
                self.context.budget_key,
                self.context.limits,
                priority=self.context.priority,
                admitted=check,
            )
        elif check is not None:
            check(False)
        started = time.perf_counter()
        response = None
        error: Exception | None = None
        try:
            response = self._send_following(
                method,
                url,
                params=params,
                json_body=json_body,
                data=data,
                headers=headers,
                basic_auth=basic_auth,
                deadline=time.monotonic() + settings.SYNC_HTTP_DEADLINE,
            )
        except (requests.RequestException, VendorError) as exc:
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
        if isinstance(error, VendorError):
            raise error
        if error is not None:
            raise self._translate_exception(error, method) from error
        if response.status_code == 429 and self.context.budget_key:
            governor.penalise(
                self.context.budget_key,
                parse_retry_after(response.headers.get("Retry-After")),
                self.context.limits,
            )
        return response

    def _send_following(
        self, method, url, *, params, json_body, data, headers, basic_auth, deadline
    ) -> requests.Response:
        """One call, its answer read whole within the deadline and the size limit. A redirect is
        followed only to the same scheme, host and port (and only where the method survives it):
        elsewhere it would hand our request to another server and read its answer as the vendor's
        (a pull "succeeded" with 0 records)."""
        for _hop in range(MAX_REDIRECTS + 1):
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                auth=basic_auth,
                timeout=(self.timeout, max(0.001, min(self.timeout, deadline - time.monotonic()))),
                stream=True,
                allow_redirects=False,
            )
            self._read_body(response, deadline, method)
            if not response.is_redirect:
                return response
            target = urljoin(response.url or url, response.headers.get("Location", ""))
            keeps_method = response.status_code in (307, 308) or method.upper() == "GET"
            if not _same_origin(url, target) or not keeps_method:
                raise Rejected(
                    f"The vendor redirected the call to {urlsplit(target).netloc or target} "
                    f"(HTTP {response.status_code}); Syncdesk follows no redirect to another "
                    "host or one that changes the method.",
                    status=response.status_code,
                )
            url, params = target, None
        raise Rejected(f"The vendor redirected the call more than {MAX_REDIRECTS} times.")

    @staticmethod
    def _read_body(response: requests.Response, deadline: float, method: str) -> None:
        """Read the answer in chunks, stopping at the deadline or the size limit (the timeout
        alone is per socket read: a slow drip held a pull for minutes, a 50 MB body was read
        whole into memory)."""
        limit = settings.SYNC_HTTP_MAX_BODY_BYTES
        uncertain = method.upper() != "GET"
        declared = response.headers.get("Content-Length", "")
        too_large = ResponseTooLarge(
            f"The vendor's answer is larger than {limit} bytes (SYNC_HTTP_MAX_BODY_BYTES); "
            "reading stopped.",
            status=response.status_code,
        )
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise too_large
        raw = response.raw
        if raw is None or not hasattr(raw, "read1"):
            content = response.content  # a test double already holding its body
            if len(content) > limit:
                raise too_large
            return
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransientError(
                        "The vendor's answer did not complete within "
                        f"{settings.SYNC_HTTP_DEADLINE:g} s (SYNC_HTTP_DEADLINE).",
                        status=response.status_code,
                        uncertain=uncertain,
                    )
                sock = getattr(getattr(raw, "connection", None), "sock", None)
                if sock is not None:
                    # The next read may wait only for what is left of the deadline.
                    sock.settimeout(min(remaining, 3600.0))
                # read1 returns whatever one socket read brings: a drip of a byte a second
                # comes back to this loop, where read(n) would wait for n bytes.
                chunk = raw.read1(READ_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
        except requests.RequestException:
            raise
        except VendorError:
            response.close()
            raise
        except Exception as exc:  # urllib3 read errors: a socket timeout, a broken connection
            response.close()
            if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
                raise TransientError(
                    "The vendor's answer did not complete within "
                    f"{settings.SYNC_HTTP_DEADLINE:g} s (SYNC_HTTP_DEADLINE).",
                    status=response.status_code,
                    uncertain=uncertain,
                ) from exc
            raise requests.ConnectionError(str(exc)) from exc
        response._content = b"".join(chunks)
        response._content_consumed = True
        response.close()

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
        secrets: list[str] = []
        fields = self.secret_fields + self._call_secret_fields
        if fields:
            secrets = secret_values(body, fields)
            if response is not None and _names_a_field(response.content, fields):
                with contextlib.suppress(ValueError):  # not JSON: nothing named to mask
                    secrets += secret_values(response.json(), fields)
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
        unlogged = _unlogged.get()
        if unlogged is not None:
            unlogged.append({"method": method.upper(), "url": redact(url)[:200], "status": status})
            return
        try:
            SyncLog.objects.create(
                connection_id=self.context.connection_id,
                run_id=self.context.run_id,
                correlation_id=self.context.correlation_id or trace.current_correlation_id(),
                entity=self.context.entity,
                object_id=self.context.object_id,
                method=method.upper(),
                url=redact(full_url)[:500],
                status_code=status,
                latency_ms=latency_ms,
                error_kind=kind,
                request_body=_body_text(body, secrets),
                response_body=(
                    _body_text(response.content, secrets) if response is not None else ""
                ),
            )
        except Exception:  # a log row must never break the call it describes
            logger.exception("could not write SyncLog")


__all__ = ["CallContext", "HttpClient", "ResponseTooLarge", "VendorError", "redact"]
