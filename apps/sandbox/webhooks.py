"""Outgoing webhooks of the emulated vendors: a durable outbox, a sender, and retries.

A vendor module builds the exact request (URL, body, headers: signature or token) and calls

    webhook_enqueue(vendor="xero", account=tenant_id, kind="xero.event", url=...,
                    body=str | bytes | dict, headers={"x-xero-signature": ...}, method="POST")
        -> list[WebhookDelivery]

inside its write's transaction. Rows are stored at once and sent after commit (a django-q task
`deliver_due_task`, inline when Q_CLUSTER sync is on). The account's fault plan applies here: with
`webhook_duplicate` every delivery is stored twice; with `webhook_out_of_order` a batch of one
account is sent newest first.

    webhook_deliver_due(limit=100) -> DeliveryReport(delivered, retrying, failed)

sends every due row: a 2xx answer marks it delivered; anything else (or no answer in
`TIMEOUT_SECONDS`) schedules a retry after RETRY_DELAYS[attempt] vendor seconds on the account's
scaled clock, and after `max_attempts` the row is FAILED. A row is claimed with a lease (its
next attempt moved forward) before the HTTP call, so no transaction is held while sending and
two senders never send the same row. `python manage.py sandbox deliver` runs it by hand; `sandbox
seed` schedules it every minute.

`hmac_sha256(key, message, encoding="base64"|"hex")` is here for the vendors' signatures.

`target_url_allowed(url)`: the sandbox sends requests only to loopback hosts or to the host of
SANDBOX_BASE_URL (the site serving it). A client registering a Books webhook or a CRM watch
channel may not make the server call anywhere else (that would be a request forgery relay);
`_send` checks again, for URLs stored by other means.
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.sandbox import clock, faults
from apps.sandbox.models import WebhookDelivery

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
LEASE_SECONDS = 60
# Vendor seconds to wait before attempt 2, 3, 4, 5 (neither vendor publishes its policy).
RETRY_DELAYS = [10, 60, 300, 1800]


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def hmac_sha256(key: str | bytes, message: str | bytes, encoding: str = "base64") -> str:
    key = key.encode() if isinstance(key, str) else key
    message = message.encode() if isinstance(message, str) else message
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()


def target_url_allowed(url: str) -> bool:
    """True for an http(s) URL on a loopback host or on SANDBOX_BASE_URL's host."""
    try:
        parts = urlsplit(str(url))
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    own = (urlsplit(settings.SANDBOX_BASE_URL).hostname or "").lower()
    return bool(own) and host == own


def webhook_enqueue(
    *,
    vendor: str,
    account: str,
    kind: str,
    url: str,
    body: str | bytes | dict | list,
    headers: dict | None = None,
    method: str = "POST",
    max_attempts: int = 5,
) -> list[WebhookDelivery]:
    if isinstance(body, dict | list):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, bytes):
        body = body.decode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    duplicate, _ = faults.webhook_behaviour(vendor, account)
    moment = timezone.now()
    rows = [
        WebhookDelivery(
            vendor=vendor,
            account=str(account),
            kind=kind,
            url=url,
            method=method,
            headers=headers,
            body=body,
            max_attempts=max_attempts,
            next_attempt_at=moment,
        )
        for _ in range(2 if duplicate else 1)
    ]
    for row in rows:
        row.save()
    transaction.on_commit(_schedule_delivery)
    return rows


def _schedule_delivery() -> None:
    from django_q.tasks import async_task

    async_task("apps.sandbox.webhooks.deliver_due_task", task_name="sandbox webhooks")


def deliver_due_task() -> dict:
    """django-q entry point: send what is due; safe to run twice."""
    report = webhook_deliver_due()
    return report.__dict__


def _claim(limit: int) -> list[WebhookDelivery]:
    moment = timezone.now()
    with transaction.atomic():
        rows = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=moment)
            .order_by("id")[:limit]
        )
        if rows:
            WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
                next_attempt_at=moment + timedelta(seconds=LEASE_SECONDS)
            )
    return rows


def _ordered(rows: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """Each account's rows in enqueue order, or newest first when its plan says out of order."""
    by_account: dict[tuple[str, str], list[WebhookDelivery]] = {}
    for row in rows:
        by_account.setdefault((row.vendor, row.account), []).append(row)
    ordered = []
    for (vendor, account), group in by_account.items():
        _, out_of_order = faults.webhook_behaviour(vendor, account)
        ordered.extend(reversed(group) if out_of_order else group)
    return ordered


def _send(row: WebhookDelivery) -> tuple[int | None, str]:
    if not target_url_allowed(row.url):
        return None, "Refused: the sandbox calls only loopback hosts or SANDBOX_BASE_URL's host."
    try:
        answer = requests.request(
            row.method,
            row.url,
            data=row.body.encode(),
            headers=row.headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return None, f"{error.__class__.__name__}: {error}"[:500]
    return answer.status_code, "" if answer.ok else answer.text[:500]


def webhook_deliver_due(*, limit: int = 100) -> DeliveryReport:
    report = DeliveryReport()
    for row in _ordered(_claim(limit)):
        status_code, error = _send(row)
        row.attempts += 1
        row.last_status_code = status_code
        row.last_error = error
        if status_code is not None and 200 <= status_code < 300:
            row.status = WebhookDelivery.Status.DELIVERED
            row.delivered_at = timezone.now()
            report.delivered += 1
        elif row.attempts >= row.max_attempts:
            row.status = WebhookDelivery.Status.FAILED
            report.failed += 1
            logger.warning("sandbox webhook %s gave up after %s attempts", row.pk, row.attempts)
        else:
            delay = RETRY_DELAYS[min(row.attempts - 1, len(RETRY_DELAYS) - 1)]
            wait = clock.real_seconds(row.vendor, row.account, delay)
            row.next_attempt_at = timezone.now() + timedelta(seconds=wait)
            report.retrying += 1
        row.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
    return report
