"""The refusal tests' snapshot must see every column, or a refused write could hide in one."""

from datetime import timedelta

import pytest

from apps.clients.models import Client
from tests.clients.factories import ClientFactory, snapshot

pytestmark = pytest.mark.django_db


def test_snapshot_sees_a_write_that_only_touches_updated_at():
    client = ClientFactory()
    before = snapshot(Client)
    Client.objects.filter(pk=client.pk).update(updated_at=client.updated_at + timedelta(seconds=1))
    assert snapshot(Client) != before


def test_snapshot_sees_a_changed_created_at_and_a_new_history_row():
    client = ClientFactory()
    before = snapshot(Client)
    Client.objects.filter(pk=client.pk).update(created_at=client.created_at - timedelta(days=1))
    after = snapshot(Client)
    assert after != before
    client.save()  # a plain save keeps a history row
    assert snapshot(Client)["clients.Client.history"] == after["clients.Client.history"] + 1
