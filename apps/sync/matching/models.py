"""Matching reviews: the plan made when a connection first meets an account that already holds
records (which remote record links to which local one, which is created, which local record is
pushed), decided by an Admin before anything is linked or created. Imported by apps/sync/models."""

from django.conf import settings
from django.db import models


class PlanStatus(models.TextChoices):
    BUILDING = "building", "Reading the account"
    OPEN = "open", "Waiting for review"
    APPLIED = "applied", "Approved and applied"
    DISCARDED = "discarded", "Discarded"
    FAILED = "failed", "Could not read the account"


# While a plan is building, open or failed (to be read again), its connection links, creates
# and pushes nothing.
HOLDING = (PlanStatus.BUILDING, PlanStatus.OPEN, PlanStatus.FAILED)


class MatchPlan(models.Model):
    """One review of a connection's first sync: a row per remote and per unmatched local record."""

    connection = models.ForeignKey(
        "sync.Connection", on_delete=models.CASCADE, related_name="match_plans"
    )
    status = models.CharField(
        max_length=10, choices=PlanStatus.choices, default=PlanStatus.BUILDING
    )
    # Who asked for it: "admin" (Connect in the admin), "cli" (sync connect --review), "demo".
    source = models.CharField(max_length=10, default="admin")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "status"], name="sync_match_plan_status")]

    def __str__(self) -> str:
        return f"Matching review #{self.pk} for {self.connection}"


class Decision(models.TextChoices):
    LINK = "link", "Same as yours: link"
    CREATE = "create", "New: add it here"
    CHOOSE = "choose", "Choose one"  # ambiguous: two or more candidates, none chosen yet
    PUSH = "push", "Send to the books"
    LEAVE = "leave", "Keep here only"


class Side(models.TextChoices):
    REMOTE = "remote", "In the books"
    LOCAL = "local", "Here only"


class MatchRule(models.TextChoices):
    REFERENCE = "reference", "Our reference"
    EMAIL = "email", "Same e-mail"
    TAX_NUMBER = "tax_number", "Same tax number"
    SKU = "sku", "Same SKU"
    NAME = "name", "Similar name"
    NONE = "", "No match"


class MatchRow(models.Model):
    """One record's proposal and decision. A remote row names the vendor record (and, when
    linked, the local object); a local row names a local object no remote record matched."""

    plan = models.ForeignKey(MatchPlan, on_delete=models.CASCADE, related_name="rows")
    entity = models.CharField(max_length=20)
    side = models.CharField(max_length=6, choices=Side.choices)
    remote_id = models.CharField(max_length=100, blank=True)
    label = models.CharField(max_length=300)  # what the Admin recognises it by: name, e-mail
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    rule = models.CharField(max_length=12, choices=MatchRule.choices, blank=True)
    score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    # [{"id", "label", "rule", "score"}]: the local records this remote one could be.
    candidates = models.JSONField(default=list, blank=True)
    proposed = models.CharField(max_length=6, choices=Decision.choices)
    decision = models.CharField(max_length=6, choices=Decision.choices)
    changed_by_admin = models.BooleanField(default=False)

    class Meta:
        ordering = ["plan", "entity", "side", "id"]
        indexes = [models.Index(fields=["plan", "entity", "remote_id"], name="sync_match_row_r")]

    def __str__(self) -> str:
        return f"{self.entity} {self.label}: {self.decision}"
