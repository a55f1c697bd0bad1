"""Abstract models every app builds on."""

from django.db import models


class TimeStampedModel(models.Model):
    """Created and updated times, kept by the database layer rather than by hand."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True
