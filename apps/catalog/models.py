"""The catalogue: services the business sells, and the tax rates applied to them."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.core.models import TimeStampedModel


class TaxRate(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    # Percent, up to three decimals (e.g. 15.000, 7.125).
    rate = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate.normalize()}%)"


class Service(TimeStampedModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rate = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    unit = models.CharField(max_length=30, default="Each")
    # Unique when set; blank SKUs are allowed and may repeat (stored as NULL).
    sku = models.CharField("SKU", max_length=64, null=True, blank=True, unique=True)
    category = models.CharField(max_length=100, default="General", db_index=True)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["category", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} [{self.sku}]" if self.sku else self.name
