"""Conflict tables: the merge policy per entity and field, and one row per field changed on both
sides (kept after resolution, for audit). Imported by apps/sync/models.py."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.sync.engine.merge import Policy


class MergePolicy(models.TextChoices):
    REMOTE_WINS = Policy.REMOTE_WINS, "Remote wins (applied, logged, revertible)"
    LOCAL_WINS = Policy.LOCAL_WINS, "Local wins (pushed, logged)"
    MANUAL = Policy.MANUAL, "Manual (record held until an admin decides)"


class ConflictPolicy(models.Model):
    """How a field changed on both sides is settled; no row means the default (remote wins).

    A row without a connection applies to every connection; one with a connection overrides it.
    """

    connection = models.ForeignKey(
        "sync.Connection",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="conflict_policies",
        help_text="Leave empty to apply to every connection.",
    )
    entity = models.CharField(
        max_length=20, choices=[("clients", "Clients"), ("services", "Services")]
    )
    field = models.CharField(max_length=50)
    policy = models.CharField(max_length=20, choices=MergePolicy.choices)

    class Meta:
        ordering = ["entity", "field", "connection_id"]
        verbose_name_plural = "conflict policies"
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "field"],
                condition=Q(connection__isnull=True),
                name="sync_conflict_policy_one_default",
            ),
            models.UniqueConstraint(
                fields=["connection", "entity", "field"],
                condition=Q(connection__isnull=False),
                name="sync_conflict_policy_one_per_connection",
            ),
        ]

    def __str__(self) -> str:
        scope = self.connection or "every connection"
        return f"{self.entity}.{self.field}: {self.policy} ({scope})"


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open (record held)"
    AUTO_RESOLVED = "auto_resolved", "Auto-resolved by policy"
    RESOLVED = "resolved", "Resolved"
    REVERTED = "reverted", "Reverted"


class Resolution(models.TextChoices):
    KEEP_LOCAL = "keep_local", "Keep local"
    TAKE_REMOTE = "take_remote", "Take remote"
    TYPED = "typed", "Typed value"
    POLICY = "policy", "Settled by policy"
    CONVERGED = "converged", "Both sides came to agree"


class Conflict(models.Model):
    """One field of one bound record changed on both sides to different values."""

    binding = models.ForeignKey("sync.Binding", on_delete=models.CASCADE, related_name="conflicts")
    connection = models.ForeignKey(
        "sync.Connection", on_delete=models.CASCADE, related_name="conflicts"
    )
    entity = models.CharField(max_length=20)
    object_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=50)
    base_value = models.JSONField(null=True, blank=True)
    local_value = models.JSONField(null=True, blank=True)
    remote_value = models.JSONField(null=True, blank=True)
    policy = models.CharField(max_length=20, choices=MergePolicy.choices)
    status = models.CharField(max_length=15, choices=ConflictStatus.choices)
    resolution = models.CharField(max_length=15, choices=Resolution.choices, blank=True)
    resolved_value = models.JSONField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["connection_id", "entity", "object_id", "field", "id"]
        indexes = [
            # The queue: open conflicts grouped by record, filtered by connection and entity.
            models.Index(
                fields=["status", "connection", "entity", "object_id"], name="sync_conflict_queue"
            ),
            models.Index(fields=["status", "created_at"], name="sync_conflict_age"),
            models.Index(fields=["entity", "object_id"], name="sync_conflict_record"),
            models.Index(fields=["binding", "status"], name="sync_conflict_binding"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} #{self.object_id} {self.field} ({self.status})"
