"""Reconciliation tables: one row per run (what was compared, how many calls it took) and one per
difference found, kept with both sides' values and what an Admin did about it. Imported by
apps/sync/models.py."""

from django.conf import settings
from django.db import models


class ReconcileRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ReconcileRun(models.Model):
    """One comparison of a connection's documents with the vendor's lists."""

    connection = models.ForeignKey(
        "sync.Connection", on_delete=models.CASCADE, related_name="reconcile_runs"
    )
    status = models.CharField(
        max_length=10, choices=ReconcileRunStatus.choices, default=ReconcileRunStatus.RUNNING
    )
    since = models.DateField(null=True, blank=True, help_text="Only documents issued from then.")
    entities = models.JSONField(default=list)
    checked = models.PositiveIntegerField(default=0)
    matching = models.PositiveIntegerField(default=0)
    difference_count = models.PositiveIntegerField("differences", default=0)
    requests = models.PositiveIntegerField("vendor calls", default=0)
    last_error = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation #{self.pk} of {self.connection} ({self.status})"


class DifferenceKind(models.TextChoices):
    MISMATCH = "mismatch", "Values differ"
    MISSING_REMOTE = "missing_remote", "Ours, missing at the vendor"
    MISSING_LOCAL = "missing_local", "The vendor's, missing here"
    UNLINKED = "unlinked", "Same document, not linked"


class Fix(models.TextChoices):
    PULL = "pull", "Take theirs"
    PUSH = "push", "Push ours"
    LINK = "link", "Link them"
    ARCHIVE = "archive", "Archive ours"


class DifferenceStatus(models.TextChoices):
    OPEN = "open", "Open"
    FIXED = "fixed", "Fix applied"
    DISMISSED = "dismissed", "Dismissed"


class ReconcileDifference(models.Model):
    """One document on which we and the vendor disagree. `ours`/`theirs` hold the differing
    fields' values (a mismatch) or the document's summary (one side missing)."""

    run = models.ForeignKey(ReconcileRun, on_delete=models.CASCADE, related_name="differences")
    connection = models.ForeignKey(
        "sync.Connection", on_delete=models.CASCADE, related_name="reconcile_differences"
    )
    kind = models.CharField(max_length=20, choices=DifferenceKind.choices)
    entity = models.CharField(max_length=20)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    local_number = models.CharField(max_length=100, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    remote_number = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(default=list)
    ours = models.JSONField(default=dict, blank=True)
    theirs = models.JSONField(default=dict, blank=True)
    # The fixes offered (Fix values), the one that side is clearly right first.
    fixes = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=DifferenceStatus.choices, default=DifferenceStatus.OPEN
    )
    fixed_with = models.CharField(max_length=10, choices=Fix.choices, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fixed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "id"]
        indexes = [models.Index(fields=["connection", "status"], name="sync_difference_open")]

    def __str__(self) -> str:
        label = self.local_number or self.remote_number or self.remote_id
        return f"{self.get_kind_display()}: {self.entity} {label}"
