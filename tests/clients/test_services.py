"""Client services: create, update, deactivate, reactivate; every refusal changes nothing."""

import pytest
from django.core.exceptions import ValidationError

from apps.clients.models import Client
from apps.clients.services import (
    client_create,
    client_deactivate,
    client_normalize_email,
    client_reactivate,
    client_update,
)
from apps.core.errors import ApplicationError
from tests.clients.factories import ClientFactory, snapshot

pytestmark = pytest.mark.django_db


def test_create_strips_fields_normalises_email_and_records_the_actor(agent_user):
    client = client_create(
        name="  Thandeka Dlamini ",
        email="  Thandeka.Dlamini@Example.CO.ZA ",
        mobile=" +27 82 555 0142",
        actor=agent_user,
    )
    client.refresh_from_db()
    assert client.name == "Thandeka Dlamini"
    assert client.email == "Thandeka.Dlamini@example.co.za"
    assert client.mobile == "+27 82 555 0142"
    assert client.active is True
    record = client.history.get()
    assert record.history_type == "+"
    assert record.history_user == agent_user


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" a@B.com ", "a@b.com"),
        ("Mixed.Case@EXAMPLE.org", "Mixed.Case@example.org"),
        ("", ""),
        (None, ""),
        ("not-an-address", "not-an-address"),
    ],
)
def test_email_normalisation(raw, expected):
    assert client_normalize_email(raw) == expected


def test_create_refuses_a_blank_name_and_writes_nothing():
    before = snapshot(Client)
    with pytest.raises(ValidationError) as caught:
        client_create(name="   ", email="x@example.com")
    assert caught.value.message_dict == {"name": ["This field cannot be blank."]}
    assert snapshot(Client) == before


def test_create_refuses_an_invalid_email_and_writes_nothing():
    before = snapshot(Client)
    with pytest.raises(ValidationError) as caught:
        client_create(name="Sipho Ndlovu", email="sipho at example")
    assert caught.value.message_dict == {"email": ["Enter a valid email address."]}
    assert snapshot(Client) == before


def test_email_need_not_be_unique():
    first = client_create(name="Naidoo household", email="family@example.co.za")
    second = client_create(name="Priya Naidoo", email="FAMILY@example.co.za")
    assert first.pk != second.pk


def test_update_changes_fields_and_keeps_who_did_it(agent_user, admin_role_user):
    client = client_create(name="Lerato Mokoena", email="lerato@example.co.za", actor=agent_user)
    client_update(
        client=client,
        data={"company": " Mokoena Attorneys ", "email": "Lerato@EXAMPLE.co.za"},
        actor=admin_role_user,
    )
    client.refresh_from_db()
    assert client.company == "Mokoena Attorneys"
    assert client.email == "Lerato@example.co.za"
    latest = client.history.first()
    assert latest.history_type == "~"
    assert latest.history_user == admin_role_user
    assert latest.prev_record.history_user == agent_user
    changed = {change.field for change in latest.diff_against(latest.prev_record).changes}
    assert changed == {"company", "email"}


def test_update_without_a_difference_writes_nothing():
    client = ClientFactory(name="Same Name")
    before = snapshot(Client)
    client_update(client=client, data={"name": " Same Name "})
    assert snapshot(Client) == before


def test_update_refuses_an_unknown_field_and_writes_nothing():
    client = ClientFactory()
    before = snapshot(Client)
    with pytest.raises(ValidationError) as caught:
        client_update(client=client, data={"active": False, "name": "New"})
    assert caught.value.message_dict == {"active": ["“active” cannot be set on a client here."]}
    assert snapshot(Client) == before


def test_update_refuses_an_invalid_email_and_leaves_object_and_row_unchanged():
    client = ClientFactory(email="ok@example.co.za")
    before = snapshot(Client)
    with pytest.raises(ValidationError) as caught:
        client_update(client=client, data={"email": "broken@", "name": "Renamed"})
    assert caught.value.message_dict == {"email": ["Enter a valid email address."]}
    assert snapshot(Client) == before
    assert (client.email, client.name) != ("broken@", "Renamed")


def test_deactivate_and_reactivate(agent_user):
    client = ClientFactory()
    client_deactivate(client=client, actor=agent_user)
    assert client.active is False
    assert Client.objects.get(pk=client.pk).active is False
    assert client.history.first().history_user == agent_user
    client_reactivate(client=client, actor=agent_user)
    assert Client.objects.get(pk=client.pk).active is True
    # Newest first: reactivated, deactivated, created (by the factory's plain save).
    assert [record.active for record in client.history.all()] == [True, False, True]


def test_deactivating_an_inactive_client_is_refused_and_changes_nothing():
    client = ClientFactory(active=False)
    before = snapshot(Client)
    with pytest.raises(ApplicationError) as caught:
        client_deactivate(client=client)
    assert caught.value.message == f"Client “{client.name}” is already inactive."
    assert snapshot(Client) == before


def test_reactivating_an_active_client_is_refused_and_changes_nothing():
    client = ClientFactory(active=True)
    before = snapshot(Client)
    with pytest.raises(ApplicationError) as caught:
        client_reactivate(client=client)
    assert caught.value.message == f"Client “{client.name}” is already active."
    assert snapshot(Client) == before
