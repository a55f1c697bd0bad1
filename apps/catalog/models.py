"""The catalogue: services the business sells, and the tax rates applied to them."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
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
    # Unique when set, in any letter case (Meta.constraints); blank SKUs are stored as NULL, which
    # never clashes, so many services may have none.
    sku = models.CharField("SKU", max_length=64, null=True, blank=True)
    category = models.CharField(max_length=100, default="General", db_index=True)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["category", "name", "id"]
        constraints = [
            # People type SKUs: "pcc-001" and "PCC-001" are the same one. The index also serves
            # the case-insensitive lookups (sku__iexact is UPPER(sku) = UPPER(...) on PostgreSQL).
            models.UniqueConstraint(
                Upper("sku"),
                name="catalog_service_sku_ci_unique",
                violation_error_code="sku_taken",
                violation_error_message="This SKU is already used by another service.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.sku}]" if self.sku else self.name
