"""Demo catalogue: a South African document-services business (fixtures/demo_catalog.json),
loaded through the services.

`load_demo_catalog()` is idempotent: tax rates are matched by name and services by SKU, so a
second run creates nothing.
"""

import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.catalog.models import TaxRate
from apps.catalog.selectors import service_get_by_sku
from apps.catalog.services import service_create, tax_rate_create


def demo_catalog() -> dict[str, list[dict[str, str]]]:
    """The demo tax rates and services, as kept in fixtures/demo_catalog.json."""
    path = Path(settings.BASE_DIR) / "fixtures" / "demo_catalog.json"
    return json.loads(path.read_text(encoding="utf-8"))


@transaction.atomic
def load_demo_catalog(*, actor=None) -> dict[str, int]:
    """Create the demo tax rates and services that are not there yet; returns what it created."""
    catalog = demo_catalog()
    rates = {}
    created_rates = 0
    for row in catalog["tax_rates"]:
        existing = TaxRate.objects.filter(name=row["name"]).first()
        if existing is None:
            existing = tax_rate_create(name=row["name"], rate=Decimal(row["rate"]), actor=actor)
            created_rates += 1
        rates[row["name"]] = existing
    created_services = 0
    for row in catalog["services"]:
        if service_get_by_sku(sku=row["sku"]) is not None:
            continue
        service_create(
            name=row["name"],
            sku=row["sku"],
            category=row["category"],
            rate=Decimal(row["rate"]),
            unit=row["unit"],
            tax_rate=rates[row["tax_rate"]],
            description=row["description"],
            actor=actor,
        )
        created_services += 1
    return {"tax_rates": created_rates, "services": created_services}
