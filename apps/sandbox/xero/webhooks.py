"""Xero webhooks out of the sandbox: signed event deliveries and the intent-to-receive check.

Every app with a delivery URL and a webhook key that is connected to a tenant gets that tenant's
CONTACT and INVOICE events (Xero sends no Payment, Item or Quote events). Deliveries go through the
shared outbox (`apps.sandbox.webhooks`: retries, duplicate and out-of-order faults); the body is
signed with `x-xero-signature` = base64(HMAC-SHA256(raw body, webhook key)), vendor-contracts §4.10.
"""

import secrets
import string
import uuid
from dataclasses import dataclass

import requests
from django.db.models import F

from apps.sandbox import clock
from apps.sandbox import webhooks as outbox
from apps.sandbox.xero import wire
from apps.sandbox.xero.models import XeroApp, XeroTenant

VENDOR = "xero"
CONTENT_TYPE = "application/json; charset=utf-8"
RESOURCE_PATHS = {"CONTACT": "Contacts", "INVOICE": "Invoices"}
ITR_TIMEOUT_SECONDS = 5


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


def sign(body: str, key: str) -> str:
    return outbox.hmac_sha256(key, body.encode(), encoding="base64")


def _subscribed_apps(tenant: XeroTenant) -> list[XeroApp]:
    # Remembered for the request (a batch queues an event per element).
    return clock.remembered(("xero-subscribers", tenant.pk), lambda: _subscribers(tenant))


def _subscribers(tenant: XeroTenant) -> list[XeroApp]:
    return list(
        XeroApp.objects.filter(
            grants__connections__tenant=tenant,
            grants__revoked_at__isnull=True,
        )
        .exclude(webhook_url="")
        .exclude(webhook_key="")
        .distinct()
    )


def _next_sequence(app: XeroApp) -> int:
    XeroApp.objects.filter(pk=app.pk).update(webhook_sequence=F("webhook_sequence") + 1)
    return XeroApp.objects.filter(pk=app.pk).values_list("webhook_sequence", flat=True).get()


def event_body(
    *, tenant: XeroTenant, category: str, event_type: str, resource_id, sequence: int, api_url: str
) -> dict:
    """One event in the shape of OAS `WebhookEvent` (times as Xero writes them, no zone)."""
    moment = clock.now(VENDOR, str(tenant.tenant_id))
    return {
        "events": [
            {
                "resourceUrl": f"{api_url}/api.xro/2.0/{RESOURCE_PATHS[category]}/{resource_id}",
                "resourceId": str(resource_id),
                "eventDateUtc": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                "eventType": event_type,
                "eventCategory": category,
                "tenantId": str(tenant.tenant_id),
                "tenantType": "ORGANISATION",
            }
        ],
        "firstEventSequence": sequence,
        "lastEventSequence": sequence,
        "entropy": _entropy(),
    }


def _api_url() -> str:
    from django.conf import settings

    return getattr(settings, "XERO_API_URL", "https://api.xero.com").rstrip("/")


def event_queue(*, tenant: XeroTenant, category: str, event_type: str, resource_id) -> int:
    """Queue one signed delivery per subscribed app, in the caller's transaction."""
    queued = 0
    for app in _subscribed_apps(tenant):
        body = wire.dumps(
            event_body(
                tenant=tenant,
                category=category,
                event_type=event_type,
                resource_id=resource_id,
                sequence=_next_sequence(app),
                api_url=_api_url(),
            )
        )
        queued += len(
            outbox.webhook_enqueue(
                vendor=VENDOR,
                account=str(tenant.tenant_id),
                kind=f"xero.{category.lower()}",
                url=app.webhook_url,
                body=body,
                headers={
                    "Content-Type": CONTENT_TYPE,
                    "x-xero-signature": sign(body, app.webhook_key),
                },
            )
        )
    return queued


@dataclass(frozen=True)
class IntentAttempt:
    signed_correctly: bool
    status_code: int | None
    passed: bool  # 200 to a good signature, 401 to a bad one


@dataclass(frozen=True)
class IntentReport:
    attempts: list[IntentAttempt]

    @property
    def passed(self) -> bool:
        return all(attempt.passed for attempt in self.attempts)


def intent_to_receive(*, app: XeroApp, rounds: int = 2) -> IntentReport:
    """Xero's intent-to-receive: empty event lists, some signed right, some wrong.

    The receiver must answer 200 to each correctly signed one and 401 to each wrongly signed one.
    These are checks, not events, so they are sent at once and never retried.
    """
    if not app.webhook_url or not app.webhook_key:
        raise ValueError("The app has no webhook URL and key to check.")
    attempts = []
    for _ in range(rounds):
        for good in (True, False):
            body = wire.dumps(
                {
                    "events": [],
                    "lastEventSequence": 0,
                    "firstEventSequence": 0,
                    "entropy": _entropy(),
                }
            )
            signature = sign(body, app.webhook_key if good else secrets.token_urlsafe(32))
            try:
                answer = requests.post(
                    app.webhook_url,
                    data=body.encode(),
                    headers={"Content-Type": CONTENT_TYPE, "x-xero-signature": signature},
                    timeout=ITR_TIMEOUT_SECONDS,
                    allow_redirects=False,
                )
                status_code = answer.status_code
            except requests.RequestException:
                status_code = None
            expected = 200 if good else 401
            attempts.append(
                IntentAttempt(
                    signed_correctly=good, status_code=status_code, passed=status_code == expected
                )
            )
    return IntentReport(attempts=attempts)


def events_replay(*, tenant: XeroTenant, category: str, resource_ids: list[uuid.UUID]) -> int:
    """On demand: queue UPDATE events for records that already exist (demo and tests)."""
    return sum(
        event_queue(tenant=tenant, category=category, event_type="UPDATE", resource_id=rid)
        for rid in resource_ids
    )
