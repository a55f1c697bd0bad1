"""Client admin: pages open, search works, writes go through the services, actions run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.clients.models import Client
from apps.clients.services import CLIENT_EDITABLE_FIELDS
from tests.clients.factories import ClientFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/clients/client/"


def test_changelist_search_add_change_and_history_pages(admin_client_mfa):
    client = ClientFactory(name="Nomvula Zulu", email="nomvula@example.co.za")
    ClientFactory(name="Johan Botha")
    page = admin_client_mfa.get(CHANGELIST)
    assert page.status_code == 200
    assert b"Nomvula Zulu" in page.content
    found = admin_client_mfa.get(CHANGELIST, {"q": "nomvula@"})
    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == [client]
    assert admin_client_mfa.get(f"{CHANGELIST}add/").status_code == 200
    assert admin_client_mfa.get(f"{CHANGELIST}{client.pk}/change/").status_code == 200
    assert admin_client_mfa.get(f"{CHANGELIST}{client.pk}/history/").status_code == 200


def test_add_goes_through_the_service(admin_client_mfa, admin_with_mfa):
    response = admin_client_mfa.post(
        f"{CHANGELIST}add/",
        {
            "name": " Ayanda Cele ",
            "email": " Ayanda.Cele@EXAMPLE.co.za ",
            "company": "Cele Trading",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    client = Client.objects.get(name="Ayanda Cele")
    assert client.email == "Ayanda.Cele@example.co.za"
    assert client.history.get().history_user == admin_with_mfa


def full_form(**values) -> dict:
    """Every field of the client form, as a browser posts it (blank ones included)."""
    return {name: values.get(name, "") for name in CLIENT_EDITABLE_FIELDS}


def test_change_goes_through_the_service_and_refuses_bad_input(admin_client_mfa, admin_with_mfa):
    client = ClientFactory(name="Old Name", phone="+27 11 555 0100")
    url = f"{CHANGELIST}{client.pk}/change/"
    response = admin_client_mfa.post(
        url, full_form(name="New Name", email="new@example.co.za", phone="+27 11 555 0100")
    )
    assert response.status_code == 302
    client.refresh_from_db()
    assert (client.name, client.email, client.phone) == (
        "New Name",
        "new@example.co.za",
        "+27 11 555 0100",
    )
    assert client.history.first().history_user == admin_with_mfa
    bad = admin_client_mfa.post(url, full_form(name="", email="not-an-email"))
    assert bad.status_code == 200
    assert bad.context["adminform"].form.errors.keys() == {"name", "email"}
    client.refresh_from_db()
    assert client.name == "New Name"


def test_deactivate_and_reactivate_actions(admin_client_mfa, admin_with_mfa):
    active = ClientFactory()
    inactive = ClientFactory(active=False)
    response = admin_client_mfa.post(
        CHANGELIST,
        {"action": "deactivate", "_selected_action": [active.pk, inactive.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert f"{inactive.name}: Client “{inactive.name}” is already inactive." in messages
    assert "Deactivated: 1 record." in messages
    assert Client.objects.filter(active=True).count() == 0
    assert active.history.first().history_user == admin_with_mfa
    admin_client_mfa.post(
        CHANGELIST, {"action": "reactivate", "_selected_action": [active.pk, inactive.pk]}
    )
    assert Client.objects.filter(active=True).count() == 2


def test_agents_can_add_and_change_clients(agent_client, agent_user):
    client = ClientFactory()
    assert agent_client.get(CHANGELIST).status_code == 200
    assert agent_client.get(f"{CHANGELIST}add/").status_code == 200
    values = {
        "name": "Renamed Client",
        "email": "renamed@example.co.za",
        "phone": "+27 11 555 0111",
        "mobile": "+27 82 555 0112",
        "company": "Renamed Holdings",
        "whatsapp_id": "27825550112",
        "billing_address": "12 Long Street\nCape Town",
        "tax_number": "4120123456",
        "notes": "Prefers WhatsApp.",
    }
    response = agent_client.post(f"{CHANGELIST}{client.pk}/change/", full_form(**values))
    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Client.objects.values(*CLIENT_EDITABLE_FIELDS).get(pk=client.pk)
    assert stored == values
    assert client.history.first().history_user == agent_user


@pytest.mark.parametrize("http_client", ["agent_client", "admin_client_mfa"])
def test_nobody_deletes_a_client_from_the_admin(request, http_client):
    # Deleting is switched off by design (quotes, invoices and history point at clients),
    # for admins as much as for agents: they deactivate instead.
    http = request.getfixturevalue(http_client)
    client = ClientFactory()
    url = f"{CHANGELIST}{client.pk}/delete/"
    assert http.get(url).status_code == 403
    assert http.post(url, {"post": "yes"}).status_code == 403
    changelist = http.get(CHANGELIST)
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)
    assert Client.objects.filter(pk=client.pk).exists()


def test_history_cannot_be_reverted_from_the_admin(admin_client_mfa):
    client = ClientFactory(name="Original")
    record = client.history.get()
    url = f"{CHANGELIST}{client.pk}/history/{record.history_id}/"
    assert admin_client_mfa.get(url).status_code == 200
    assert admin_client_mfa.post(url, {"name": "Reverted"}).status_code == 403
    client.refresh_from_db()
    assert client.name == "Original"


def count_changelist_queries(http_client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = http_client.get(url, params or {})
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_changelist_query_count_is_flat_from_10_to_1000_rows(admin_client_mfa):
    Client.objects.bulk_create(Client(name=f"Client {i:04d}") for i in range(10))
    small = count_changelist_queries(admin_client_mfa, CHANGELIST)
    small_search = count_changelist_queries(admin_client_mfa, CHANGELIST, {"q": "Client"})
    Client.objects.bulk_create(Client(name=f"More {i:04d}") for i in range(990))
    assert Client.objects.count() == 1000
    assert count_changelist_queries(admin_client_mfa, CHANGELIST) == small
    assert count_changelist_queries(admin_client_mfa, CHANGELIST, {"q": "Client"}) == small_search
    assert small <= 12
