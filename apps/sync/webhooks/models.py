"""Inbound vendor webhooks: each delivery stored once (dedupe key), the refusals counted, and the
vendors' watch channels we keep alive (Zoho CRM's today). Re-exported by apps/sync/models."""

from django.db import models

from apps.sync.engine import registry


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (nothing of ours)"
    FAILED = "failed", "Failed"


class InboundWebhook(models.Model):
    """One verified delivery. The dedupe key is the sha256 of the raw body: a vendor retry or a
    duplicate delivery carries the same bytes, so it is answered 200 and never stored twice."""

    source = models.CharField(
        max_length=20, help_text="The provider key of the connector that received it."
    )
    connection = models.ForeignKey(
        "sync.Connection", on_delete=models.SET_NULL, null=True, blank=True, related_name="webhooks"
    )
    dedupe_key = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=100, blank=True)
    body = models.TextField()
    status = models.CharField(
        max_length=12, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.CharField(max_length=500, blank=True)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="sync_webhook_status")]

    def __str__(self) -> str:
        return f"{registry.provider_label(self.source)} {self.event or 'webhook'} #{self.pk}"


class WebhookRefusal(models.Model):
    """How many deliveries were refused, per source and reason (forged: 401, malformed: 400).
    Refused deliveries are counted, never stored: a forger cannot fill the table."""

    class Reason(models.TextChoices):
        FORGED = "forged", "Forged (401)"
        MALFORMED = "malformed", "Malformed (400)"
        TOO_LARGE = "too_large", "Too large (413)"

    source = models.CharField(
        max_length=20, help_text="The provider key of the connector that received it."
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "reason"], name="sync_webhook_refusal_unique")
        ]

    def __str__(self) -> str:
        return f"{registry.provider_label(self.source)} {self.reason}: {self.count}"


class CrmWatchChannel(models.Model):
    """The Zoho CRM notification channel of a CRM connection, renewed before `expires_at`."""

    connection = models.OneToOneField(
        "sync.Connection", on_delete=models.CASCADE, related_name="crm_watch_channel"
    )
    channel_id = models.CharField(max_length=30, unique=True)
    events = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"CRM channel {self.channel_id} ({self.connection})"
