"""An import that runs as a task (a file above the in-request limit): its file until it has
run, its progress and its result, kept for the admin. The permissions say who may import what."""

from django.conf import settings
from django.db import models

from apps.core.models import TimeStampedModel


class ImportJob(TimeStampedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Imported"
        FAILED = "failed", "Not imported"

    entity = models.CharField(max_length=30)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10, blank=True)
    # The upload, until the task has read it; emptied after the run (no client data at rest).
    content = models.BinaryField(blank=True, default=b"", editable=False)
    valid_rows = models.BooleanField(
        "import the valid rows", default=False, help_text="Otherwise one bad row imports nothing."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # The JSON summary (as `import_data` prints it), and a CSV of the failed rows.
    summary = models.JSONField(default=dict, blank=True)
    failed_rows_csv = models.TextField(blank=True, editable=False)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        permissions = [
            ("import_clients", "Can import clients"),
            ("import_services", "Can import services"),
            ("import_tax_rates", "Can import tax rates"),
            ("import_tickets", "Can import tickets"),
            ("import_payments", "Can import payments"),
        ]

    def __str__(self) -> str:
        return f"Import of {self.file_name} ({self.entity})"
