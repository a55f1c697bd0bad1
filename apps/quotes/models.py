"""Quotes and their lines, and the gap-free document sequences quotes and invoices draw from."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.core.models import TimeStampedModel
from apps.quotes.totals import DiscountType as _DiscountKinds
from apps.tickets.models import Ticket

# Money is stored to two places: every currency Syncdesk accepts has at most two (services refuse
# the three-place ones). Rates and quantities keep three, as the vendors allow.
MONEY = {"max_digits": 14, "decimal_places": 2, "default": Decimal("0")}


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


class DiscountType(models.TextChoices):
    AMOUNT = _DiscountKinds.AMOUNT, "Amount"
    PERCENT = _DiscountKinds.PERCENT, "Percent"


class DocumentSequence(models.Model):
    """The last number handed out per document kind; its row is locked while a number is taken.

    One row per (kind, year). The year is 0 for a continuous sequence (the default for quotes and
    invoices, so `Q-000123` never repeats); a yearly sequence would put the year in the number.
    """

    kind = models.CharField(max_length=20)
    year = models.PositiveIntegerField(default=0)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="quotes_sequence_kind_year"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.year}: {self.last_value}"


class Quote(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        # A sent quote that was revised: its revision is the one to send, accept or reject.
        SUPERSEDED = "superseded", "Superseded"

    number = models.CharField(max_length=24, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="quotes")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True, editable=False
    )
    issue_date = models.DateField(db_index=True)
    valid_until = models.DateField(null=True, blank=True, db_index=True)
    currency = models.CharField(max_length=3, default=default_currency)
    discount_type = models.CharField(
        max_length=10, choices=DiscountType.choices, default=DiscountType.AMOUNT
    )
    discount_value = models.DecimalField(
        max_digits=14, decimal_places=3, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    notes = models.TextField(blank=True)
    terms = models.TextField(blank=True)
    subtotal = models.DecimalField(**MONEY, editable=False)
    discount_total = models.DecimalField(**MONEY, editable=False)
    tax_total = models.DecimalField(**MONEY, editable=False)
    total = models.DecimalField(**MONEY, editable=False)
    revision_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revisions",
        editable=False,
    )
    revision = models.PositiveIntegerField(default=0, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set after the quote's e-mail went out; empty on a sent quote means it is still owed.
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quotes_created",
        editable=False,
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "valid_until"], name="quotes_status_valid")]

    def __str__(self) -> str:
        return self.number or f"Quote #{self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class QuoteLine(TimeStampedModel):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    # Lines copy the service's name, description and rate: a price change never alters a quote.
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    quantity = models.DecimalField(
        max_digits=12, decimal_places=3, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    rate = models.DecimalField(
        max_digits=14, decimal_places=3, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    tax_rate = models.DecimalField(
        "tax rate (%)",
        max_digits=6,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )
    position = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(**MONEY, editable=False)
    discount_amount = models.DecimalField(**MONEY, editable=False)
    tax_amount = models.DecimalField(**MONEY, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
