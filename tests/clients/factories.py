"""Factories for clients, and a snapshot helper to prove a refused write changed nothing."""

import factory

from apps.clients.models import Client


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n:04d}")
    email = factory.Sequence(lambda n: f"client{n:04d}@example.co.za")
    phone = "+27 11 555 0100"
    active = True


def snapshot(*models) -> dict:
    """Every row (every concrete field, created_at and updated_at included) and every history
    row count of the given models.

    `values()` reads the columns as stored; `model_to_dict` would skip non-editable fields, so a
    refusal that only touched `updated_at` would go unnoticed.
    """
    state = {}
    for model in models:
        state[model._meta.label] = list(model.objects.order_by("pk").values())
        state[f"{model._meta.label}.history"] = model.history.count()
    return state
