"""clients_import: what client_create and client_update write, for many rows in a few
statements: rows, history (who and why), and one clients_saved_in_bulk for the listeners."""

import pytest
from django.core.exceptions import ValidationError

from apps.clients.models import Client
from apps.clients.services import clients_import
from apps.clients.signals import clients_saved_in_bulk
from tests.clients.factories import ClientFactory, snapshot

pytestmark = pytest.mark.django_db


def test_creates_and_updates_with_history_and_one_signal(
    admin_role_user, django_assert_max_num_queries
):
    existing = ClientFactory(name="Old", email="old@example.com")
    same = ClientFactory(name="Same", email="same@example.com")
    received = []

    def listener(sender, instances, **kwargs):
        received.append((sender, sorted(client.pk for client in instances)))

    clients_saved_in_bulk.connect(listener)
    try:
        with django_assert_max_num_queries(8):
            created, updated = clients_import(
                new=[{"name": f"New {n}", "email": f" N{n}@EXAMPLE.com "} for n in range(120)],
                changed=[(existing, {"name": "Renamed"}), (same, {"name": "Same"})],
                actor=admin_role_user,
                reason="Import of “x.csv” by boss@example.com",
            )
    finally:
        clients_saved_in_bulk.disconnect(listener)
    assert len(created) == 120 and updated == [existing]
    assert created[0].email == "N0@example.com" and created[0].pk
    assert received == [(Client, sorted([*(c.pk for c in created), existing.pk]))]
    existing.refresh_from_db()
    assert existing.name == "Renamed"
    assert existing.updated_at > existing.created_at
    history = existing.history.first()
    assert (history.history_type, history.name, history.history_user) == (
        "~",
        "Renamed",
        admin_role_user,
    )
    assert history.history_change_reason == "Import of “x.csv” by boss@example.com"
    assert same.history.count() == 1  # unchanged: no history row, as client_update
    assert Client.history.filter(history_type="+", history_user=admin_role_user).count() == 120


def test_a_refusal_names_the_row_and_writes_nothing():
    existing = ClientFactory()
    before = snapshot(Client)
    with pytest.raises(ValidationError) as error:
        clients_import(
            new=[{"name": "Fine"}, {"name": "", "email": "bad"}],
            changed=[(existing, {"phone": "1" * 51})],
        )
    assert error.value.message_dict == {
        "new[1].name": ["This field cannot be blank."],
        "new[1].email": ["Enter a valid email address."],
        "changed[0].phone": ["Ensure this value has at most 50 characters (it has 51)."],
    }
    assert snapshot(Client) == before


def test_checked_values_are_read_only_and_anything_else_is_checked():
    from apps.clients.services import client_import_values

    checked = client_import_values({"name": " Ann ", "email": "Ann@EXAMPLE.com"})
    assert dict(checked) == {"name": "Ann", "email": "Ann@example.com"}
    with pytest.raises(TypeError):
        checked["email"] = "not-an-email"
    with pytest.raises(TypeError):
        checked.update(email="not-an-email")
    # A plain mapping (or a copy that was changed) is checked again.
    tampered = {**checked, "email": "not-an-email"}
    with pytest.raises(ValidationError) as error:
        clients_import(new=[tampered], changed=[])
    assert error.value.message_dict == {"new[0].email": ["Enter a valid email address."]}
