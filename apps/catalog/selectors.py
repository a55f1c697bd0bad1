"""Reads for the catalogue: what is on offer, lookup by SKU, tax rates."""

from django.db.models import QuerySet

from apps.catalog.models import Service, TaxRate
from apps.catalog.services import service_normalize_sku


def service_list_active(*, category: str | None = None) -> QuerySet[Service]:
    """Active services by category and name, with their tax rate joined in."""
    queryset = Service.objects.filter(active=True).select_related("tax_rate")
    if category:
        queryset = queryset.filter(category=category)
    return queryset.order_by("category", "name", "id")


def service_get_by_sku(*, sku: str) -> Service | None:
    """The service holding this SKU, matched case-insensitively (as service_create refuses)."""
    sku = service_normalize_sku(sku)
    if sku is None:
        return None
    return Service.objects.select_related("tax_rate").filter(sku__iexact=sku).first()


def service_categories() -> list[str]:
    """Categories that have at least one active service."""
    return list(
        Service.objects.filter(active=True)
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def tax_rate_list_active() -> QuerySet[TaxRate]:
    return TaxRate.objects.filter(active=True).order_by("name")
