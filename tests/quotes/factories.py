"""Test data for quotes and invoices: clients, services, and documents built through services."""

import datetime
from decimal import Decimal

import factory
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.catalog.models import Service, TaxRate
from apps.clients.models import Client
from apps.quotes import services


class DocClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Doc client {n:04d}")
    email = factory.Sequence(lambda n: f"doc-client{n:04d}@example.co.za")
    active = True


class VatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ("name",)

    name = "VAT"
    rate = Decimal("15.000")


class DocServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Unabridged birth certificate {n}")
    description = "Home Affairs, certified copy"
    rate = Decimal("450.00")
    sku = factory.Sequence(lambda n: f"HA-{n:04d}")
    category = "Home affairs certificates"
    tax_rate = factory.SubFactory(VatFactory)


def today() -> datetime.date:
    return timezone.localdate()


def make_quote(*, user=None, client=None, lines=1, **kwargs):
    """A draft quote with `lines` lines of 2 x 100.00 at 15% VAT (230.00 each, tax included)."""
    quote = services.quote_create(created_by=user, client=client or DocClientFactory(), **kwargs)
    for _ in range(lines):
        services.quote_line_add(
            quote=quote, name="Apostille", quantity="2", rate="100.00", tax_rate="15"
        )
    quote.refresh_from_db()
    return quote


def make_sent_quote(**kwargs):
    quote = make_quote(**kwargs)
    return services.quote_send(quote=quote)


def snapshot(*models) -> dict:
    """Every row and the history row count of each model: proves a refusal changed nothing."""
    state = {}
    for model in models:
        state[model._meta.label] = [model_to_dict(row) for row in model.objects.order_by("pk")]
        history = getattr(model, "history", None)
        if history is not None:
            state[f"{model._meta.label}.history"] = history.count()
    return state
