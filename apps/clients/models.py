"""The Client: a person or company the business serves."""

from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from apps.core.models import TimeStampedModel


class Client(TimeStampedModel):
    name = models.CharField(max_length=200)
    # The natural key for matching with the books (case-insensitive), deliberately not unique:
    # families and small companies share an address.
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    mobile = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=200, blank=True)
    whatsapp_id = models.CharField("WhatsApp id", max_length=50, blank=True)
    billing_address = models.TextField(blank=True)
    tax_number = models.CharField(max_length=50, blank=True)
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(Lower("email"), name="clients_client_email_ci"),
            models.Index(fields=["active", "name"], name="clients_client_active_name"),
        ]

    def __str__(self) -> str:
        return self.name
