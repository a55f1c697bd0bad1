"""Factories for clients, and a snapshot helper to prove a refused write changed nothing."""

import factory
from django.forms.models import model_to_dict

from apps.clients.models import Client


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n:04d}")
    email = factory.Sequence(lambda n: f"client{n:04d}@example.co.za")
    phone = "+27 11 555 0100"
    active = True


def snapshot(*models) -> dict:
    """Every row (all fields) and every history row count of the given models."""
    state = {}
    for model in models:
        state[model._meta.label] = [model_to_dict(row) for row in model.objects.order_by("pk")]
        state[f"{model._meta.label}.history"] = model.history.count()
    return state
