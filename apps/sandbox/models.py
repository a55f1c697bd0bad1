"""Sandbox tables: shared machinery (clock, faults, rate windows, webhook outbox) and Zoho's data.

Every vendor table is keyed by the emulated account (Zoho organisation, Xero tenant) so that one
account's records, limits and faults never leak into another's. Xero's tables live in the
`sandbox_xero` app; the Zoho models are defined in `apps.sandbox.zoho.models` and re-exported here
so that Django finds them under the `sandbox` label.
"""

from django.db import models

from apps.core.models import TimeStampedModel


class Vendor(models.TextChoices):
    ZOHO = "zoho", "Zoho"
    XERO = "xero", "Xero"


class SandboxClock(models.Model):
    """How fast time runs for one vendor account, and how far it has been pushed forward.

    `seconds_per_minute` real seconds make one vendor minute (60 = real time); `offset_seconds`
    is added to the wall clock (tests jump past token expiry without sleeping).
    """

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    account = models.CharField(max_length=100)
    seconds_per_minute = models.FloatField(default=60.0)
    offset_seconds = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "account"], name="sandbox_clock_unique"),
            models.CheckConstraint(
                condition=models.Q(seconds_per_minute__gt=0), name="sandbox_clock_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor}:{self.account} ({self.seconds_per_minute:g} s/min)"


class FaultPlan(TimeStampedModel):
    """How one vendor account misbehaves on purpose. All shares are between 0 and 1.

    Shares are applied deterministically by counting calls (a share of 0.25 fails calls 4, 8,
    12, ...), so a test that sets a share knows exactly which calls fail.
    """

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    account = models.CharField(max_length=100)
    # A share of calls answered with a server error instead of being served.
    error_share = models.FloatField(default=0.0)
    error_status = models.PositiveSmallIntegerField(default=503)  # 500 or 503
    # A share of WRITES that commit, then answer only after `timeout_seconds` (past the client's
    # time-out), so the client cannot know the write happened.
    timeout_share = models.FloatField(default=0.0)
    timeout_seconds = models.FloatField(default=35.0)  # real seconds: the client waits in real time
    # Every call is answered 429 until this moment (a "storm").
    storm_until = models.DateTimeField(null=True, blank=True)
    # Access tokens minted while this is set live this many vendor seconds instead of the norm.
    token_lifetime_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Webhooks: each delivery sent twice; a batch delivered newest first.
    webhook_duplicate = models.BooleanField(default=False)
    webhook_out_of_order = models.BooleanField(default=False)
    # Every answer is delayed by this many milliseconds.
    slow_ms = models.PositiveIntegerField(default=0)
    # Xero: a write of many elements of which one is refused is refused as a whole (a 400
    # listing the refused ones) and none of it is saved, whatever `summarizeErrors` says: what
    # Xero answers to a body it cannot read (PostDataInvalidException), one bad element at fault.
    refuse_whole_batches = models.BooleanField(default=False)
    # Calls counted so far (drives the deterministic shares above).
    calls_seen = models.PositiveBigIntegerField(default=0)
    writes_seen = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "account"], name="sandbox_fault_unique"),
            models.CheckConstraint(
                condition=models.Q(error_share__gte=0, error_share__lte=1)
                & models.Q(timeout_share__gte=0, timeout_share__lte=1),
                name="sandbox_fault_shares_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return f"faults {self.vendor}:{self.account}"


class RateCounter(models.Model):
    """Calls counted in one fixed window (`window` = index of the window since the epoch)."""

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    account = models.CharField(max_length=100)
    bucket = models.CharField(max_length=50)
    window = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "account", "bucket", "window"], name="sandbox_rate_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor}:{self.account}:{self.bucket}@{self.window}={self.count}"


class ConcurrencySlot(models.Model):
    """One call in flight, held until it ends or its lease runs out.

    A request killed mid-call never releases its slot; the lease makes such a slot stale, and
    only fresh slots are counted, so the account is not locked out for good.
    """

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    account = models.CharField(max_length=100)
    bucket = models.CharField(max_length=50)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["vendor", "account", "bucket", "expires_at"], name="sandbox_slot_fresh"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor}:{self.account}:{self.bucket} until {self.expires_at:%H:%M:%S}"


class WebhookDelivery(TimeStampedModel):
    """One outgoing webhook call, kept until delivered or given up (an outbox with retries)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    account = models.CharField(max_length=100)
    kind = models.CharField(max_length=50)  # e.g. "books.invoice", "crm.notification"
    url = models.URLField(max_length=2000)
    method = models.CharField(max_length=10, default="POST")
    headers = models.JSONField(default=dict)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.url} ({self.status})"


from apps.sandbox.zoho.models import *  # noqa: E402, F403  (Zoho's tables, label "sandbox")
