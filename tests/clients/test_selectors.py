"""Client reads: list, search, and the case-insensitive e-mail match used by the sync."""

import pytest

from apps.clients.selectors import client_find_by_email, client_list, client_search
from tests.clients.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_find_by_email_ignores_case_and_spaces():
    client = ClientFactory(email="Bongani.Khumalo@example.co.za")
    assert client_find_by_email(email="  bongani.khumalo@EXAMPLE.CO.ZA ") == client
    assert client_find_by_email(email="BONGANI.KHUMALO@example.co.za") == client
    assert client_find_by_email(email="someone.else@example.co.za") is None
    assert client_find_by_email(email="") is None


def test_find_by_email_prefers_the_active_then_the_oldest_client():
    inactive = ClientFactory(email="shared@example.co.za", active=False)
    older = ClientFactory(email="Shared@example.co.za")
    ClientFactory(email="SHARED@example.co.za")
    assert inactive.pk < older.pk
    assert client_find_by_email(email="shared@example.co.za") == older


def test_list_and_search():
    active = ClientFactory(name="Zanele Mthembu", company="Mthembu Logistics")
    ClientFactory(name="Inactive Mthembu", active=False)
    ClientFactory(name="Pieter van der Merwe", phone="+27 21 555 0199")
    assert active in client_list()
    assert client_list().count() == 2
    assert client_list(active=None).count() == 3
    assert [c.name for c in client_search(query="mthembu")] == ["Zanele Mthembu"]
    assert len(client_search(query="mthembu", active=None)) == 2
    assert [c.name for c in client_search(query="555 0199")] == ["Pieter van der Merwe"]
    assert client_search(query="  ") == []
