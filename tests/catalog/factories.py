"""Factories for the catalogue."""

from decimal import Decimal

import factory

from apps.catalog.models import Service, TaxRate


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ("name",)

    name = "VAT 15%"
    rate = Decimal("15.000")
    active = True


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n:04d}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    rate = Decimal("450.00")
    category = "Notary"
    tax_rate = factory.SubFactory(TaxRateFactory)
    active = True
