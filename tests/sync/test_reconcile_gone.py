"""Deletions in the books come back, over real HTTP: a contact deleted in Zoho Books (seen by
its webhook, or by a push that finds it missing) is never deleted here; its binding is marked
gone, the record flagged in the admin and in sync health, and an Admin relinks, re-pushes
(a create through the outbox) or archives it. Agents can do none of it."""

import pytest

from apps.clients.models import Client
from apps.sandbox.zoho import books
from apps.sandbox.zoho.models import BooksContact, ZohoOrganization
from apps.sync.models import Binding, BindingStatus, Connection, OutboxItem, SyncLog
from apps.sync.selectors import sync_health
from apps.sync.webhooks.models import InboundWebhook
from tests.quotes.factories import DocClientFactory
from tests.sync.sandbox import books_connect
from tests.sync.test_zoho_flows import drain_until_settled

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "BooksSecret0123456789"
BINDINGS = "/admin/sync/binding/"


@pytest.fixture
def books_live(live_server, settings):
    settings.ZOHO_BOOKS_WEBHOOK_SECRET = SECRET
    books_connect(settings, live_server.url)
    return Connection.objects.get(provider="zoho_books")


@pytest.fixture
def books_quiet(live_server, settings):
    """No webhook secret: Books tells us nothing; only a push or a read finds a deletion."""
    books_connect(settings, live_server.url)
    return Connection.objects.get(provider="zoho_books")


def _pushed_client(**fields) -> tuple[Client, BooksContact]:
    client = DocClientFactory(**fields)
    drain_until_settled()
    binding = Binding.objects.get(entity="clients", object_id=client.pk)
    return client, BooksContact.objects.get(contact_id=binding.remote_id)


def _binding(client) -> Binding:
    return Binding.objects.get(entity="clients", object_id=client.pk)


def _act(admin_client, action: str, binding: Binding):
    return admin_client.post(
        BINDINGS, {"action": action, "_selected_action": [binding.pk]}, follow=True
    )


def test_contact_deleted_in_books_is_kept_here_flagged_then_re_pushed(books_live, admin_client_mfa):
    client, contact = _pushed_client(name="Heron Electrical", email="office@heron.example")
    books.contact_delete(contact=contact)

    # The webhook re-fetched it, found it gone, and flagged our binding; the client stays.
    row = InboundWebhook.objects.get(event="contact.deleted")
    assert row.status == "processed" and "marked gone" in row.result
    binding = _binding(client)
    assert binding.status == BindingStatus.GONE and "Deleted in Zoho Books" in binding.last_error
    assert Client.objects.filter(pk=client.pk, active=True).exists()
    health = sync_health()
    assert health["gone"] == 1 and health["ok"] is False
    assert health["connections"][0]["gone"] == 1
    listed = admin_client_mfa.get(f"{BINDINGS}?status__exact=gone")
    assert listed.status_code == 200 and b"Gone from the vendor" in listed.content

    answer = _act(admin_client_mfa, "gone_repush", binding)
    assert answer.status_code == 200 and b"1 outbox item(s) queued" in answer.content
    assert OutboxItem.objects.filter(object_id=client.pk).latest("id").operation == "create"
    drain_until_settled()
    remade = BooksContact.objects.get(email="office@heron.example")
    assert remade.contact_id != contact.contact_id
    binding.refresh_from_db()
    assert (binding.status, binding.remote_id) == (BindingStatus.SYNCED, remade.contact_id)
    assert sync_health()["gone"] == 0


def test_a_contact_made_again_in_books_is_linked_again_not_duplicated(books_live):
    client, contact = _pushed_client(email="desk@osprey.example")
    books.contact_delete(contact=contact)
    assert _binding(client).status == BindingStatus.GONE
    organization = ZohoOrganization.objects.get(organization_id=books_live.remote_account_id)
    again = books.contact_create(
        organization=organization,
        data={"contact_name": client.name, "email": "Desk@Osprey.example"},
    )
    # Its webhook brought it in: matched by e-mail to the client whose contact was gone.
    binding = _binding(client)
    assert (binding.status, binding.remote_id) == (BindingStatus.SYNCED, again.contact_id)
    assert Client.objects.count() == 1


def test_relink_finds_the_contact_made_again_in_books(books_quiet, admin_client_mfa):
    client, contact = _pushed_client(email="desk@osprey.example")
    books.contact_delete(contact=contact)
    organization = ZohoOrganization.objects.get(organization_id=books_quiet.remote_account_id)
    again = books.contact_create(
        organization=organization,
        data={"contact_name": client.name, "email": "Desk@Osprey.example"},
    )
    client.phone = "+27 11 555 0101"
    client.save()
    drain_until_settled()  # the update finds the old contact missing: gone
    binding = _binding(client)
    assert binding.status == BindingStatus.GONE

    answer = _act(admin_client_mfa, "gone_relink", binding)
    assert f"linked to {again.contact_id}".encode() in answer.content
    binding.refresh_from_db()
    assert (binding.status, binding.remote_id) == (BindingStatus.SYNCED, again.contact_id)
    assert BooksContact.objects.count() == 1  # nothing made twice


def test_archive_makes_it_inactive_here_and_sends_nothing(books_live, admin_client_mfa):
    client, contact = _pushed_client()
    books.contact_delete(contact=contact)
    binding = _binding(client)
    calls, items = SyncLog.objects.count(), OutboxItem.objects.count()

    answer = _act(admin_client_mfa, "gone_archive", binding)
    assert b"made inactive" in answer.content
    client.refresh_from_db()
    assert client.active is False
    assert not Binding.objects.filter(pk=binding.pk).exists()
    assert (SyncLog.objects.count(), OutboxItem.objects.count()) == (calls, items)


def test_a_push_that_finds_the_contact_deleted_flags_it_instead(books_quiet):
    client, contact = _pushed_client()
    books.contact_delete(contact=contact)
    assert _binding(client).status == BindingStatus.SYNCED

    client.phone = "+27 11 555 0100"
    client.save()
    drain_until_settled()
    item = OutboxItem.objects.filter(object_id=client.pk).latest("id")
    assert (item.operation, item.status) == ("update", "dead")
    binding = _binding(client)
    assert binding.status == BindingStatus.GONE and "Not found at the vendor" in binding.last_error
    assert Client.objects.filter(pk=client.pk).exists()


def test_agents_cannot_relink_re_push_or_archive(books_live, agent_client):
    client, contact = _pushed_client()
    books.contact_delete(contact=contact)
    binding = _binding(client)
    for action in ("gone_relink", "gone_repush", "gone_archive"):
        answer = agent_client.post(BINDINGS, {"action": action, "_selected_action": [binding.pk]})
        assert answer.status_code in (302, 403)
    binding.refresh_from_db()
    assert binding.status == BindingStatus.GONE
    assert not OutboxItem.objects.filter(object_id=client.pk, status="pending").exists()
