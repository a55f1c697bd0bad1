"""The journal of a client that was pulled, pushed, changed by a webhook, conflicted and resolved,
against the Zoho sandbox over real HTTP: one timeline, each entry with its source, who, the calls
made for it (bodies for Admins only) and links to what it made; a fixed number of queries."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from apps.clients.models import Client
from apps.clients.services import client_update
from apps.sandbox.zoho import books as sandbox_books
from apps.sandbox.zoho.models import BooksContact
from apps.sync.conflicts.models import Conflict, ConflictPolicy, ConflictStatus
from apps.sync.engine import outbox
from apps.sync.journal.selectors import record_journal
from apps.sync.models import Binding, Connection, InboundWebhook, OutboxStatus, SyncRun
from tests.sync.sandbox import books_connect, sync

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "BooksSecret0123456789"


@pytest.fixture
def books(live_server, settings, monkeypatch):
    settings.ZOHO_BOOKS_WEBHOOK_SECRET = SECRET  # the sandbox sends contact webhooks
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # each push below is drained in turn
    books_connect(settings, live_server.url, contacts=3)
    assert sync("run", "--connection", "Books", "--entity", "clients", "--direction", "pull")["ok"]
    return Connection.objects.get(name="Books")


def _story(books, agent, admin_client):
    """Pulled (above), pushed, changed by a webhook, conflicted, resolved: returns the client."""
    binding = Binding.objects.filter(connection=books, entity="clients").order_by("id").first()
    client = Client.objects.get(pk=binding.object_id)
    contact = BooksContact.objects.get(contact_id=binding.remote_id)

    client_update(client=client, data={"company": "Hopper Labs"}, actor=agent)
    assert outbox.outbox_drain(connection_id=books.pk) == {OutboxStatus.DONE: 1}

    sandbox_books.contact_update(contact=contact, data={"mobile": "083 000 0001"})
    client.refresh_from_db()
    assert client.mobile == "083 000 0001"  # came by the webhook

    ConflictPolicy.objects.create(entity="clients", field="phone", policy="manual")
    client_update(client=client, data={"phone": "021 000 2222"}, actor=agent)
    contact.refresh_from_db()
    sandbox_books.contact_update(contact=contact, data={"phone": "021 000 1111"})
    conflict = Conflict.objects.get(field="phone")
    assert conflict.status == ConflictStatus.OPEN

    admin_client.post(
        f"/admin/sync/conflict/record/{binding.pk}/", {f"choice_{conflict.pk}": "keep_local"}
    )
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.RESOLVED
    assert outbox.outbox_drain(connection_id=books.pk) == {OutboxStatus.DONE: 1}
    client.refresh_from_db()
    return client


def test_timeline_of_a_client_pulled_pushed_webhooked_conflicted_and_resolved(
    books, agent_user, admin_with_mfa, admin_client_mfa
):
    client = _story(books, agent_user, admin_client_mfa)
    run = SyncRun.objects.filter(direction="pull").order_by("id").first()
    webhook_ids = set(InboundWebhook.objects.values_list("pk", flat=True))

    journal = record_journal(obj=client, user=admin_with_mfa)
    entries = list(reversed(journal.entries))  # oldest first, as the story went
    when = [e.when for e in entries]
    assert when == sorted(when)

    created = entries[0]
    assert (created.kind, created.title) == ("inbound", "Created by a pull from Books")
    assert created.who == "Pull from Books"
    assert created.links == [(f"Run #{run.pk}", f"/admin/sync/syncrun/{run.pk}/change/")]

    edits = [e for e in entries if e.kind == "change"]
    assert [e.who for e in edits] == [agent_user.get_username()] * 2
    assert ("Company", "—", "Hopper Labs") in edits[0].changes
    assert ("Phone", edits[1].changes[0][1], "021 000 2222") == edits[1].changes[0]

    pushes = [e for e in entries if e.kind == "outbound"]
    assert [p.title for p in pushes] == ["Push to Zoho Books: update the client"] * 2
    assert all(p.status_label == "Sent" and p.calls for p in pushes)
    first_push = [c.summary for c in pushes[0].calls]
    assert first_push[0].startswith("Read contacts")  # what Books has now, merged first
    assert "Update contacts/…: done (HTTP 200)" in first_push
    put = next(c for c in pushes[0].calls if c.summary.startswith("Update"))
    assert '"company_name": "Hopper Labs"' in put.request_body  # Admins read the bodies
    assert "access" not in put.url.lower() or "[redacted]" in put.url

    webhooked = [e for e in entries if e.who == "Webhook from Books"]
    assert webhooked, [(e.kind, e.title, e.who) for e in entries]
    mobile = next(e for e in webhooked if any(c[0] == "Mobile" for c in e.changes))
    assert mobile.title == "Changed by a webhook from Books"
    assert ("Mobile", "—", "083 000 0001") in mobile.changes
    link_text, link_url = mobile.links[0]
    assert int(link_text.split("#")[1]) in webhook_ids
    assert link_url.startswith("/admin/sync/inboundwebhook/")
    # The webhook's own call (the record read again from Books) sits under it.
    assert any(c.summary.startswith("Read contacts/") for c in mobile.calls)

    conflicts = [e for e in entries if e.kind == "conflict"]
    logged = next(e for e in conflicts if e.title == "Conflict on phone with Books")
    assert "Ours 021 000 2222, theirs 021 000 1111" in logged.detail
    assert "Manual" in logged.detail and logged.status_label == "Resolved"
    decided = next(e for e in conflicts if e.title == "Conflict on phone decided: Keep local")
    assert decided.who == admin_with_mfa.get_username()
    assert decided.detail == "Value kept: 021 000 2222."
    assert entries.index(logged) < entries.index(decided) < entries.index(pushes[1])

    # An Agent reads the same story without bodies, admin links or a replay button.
    seen = record_journal(obj=client, user=agent_user)
    assert [e.title for e in seen.entries] == [e.title for e in journal.entries]
    calls = [c for e in seen.entries for c in e.calls]
    assert calls and not any(c.request_body or c.response_body or c.url for c in calls)
    assert all(url == "" for e in seen.entries for _, url in e.links)
    assert not seen.show_bodies and not seen.can_replay


def test_journal_reads_in_a_fixed_number_of_queries(books, agent_user, admin_with_mfa):
    binding = Binding.objects.filter(connection=books, entity="clients").order_by("id").first()
    client = Client.objects.get(pk=binding.object_id)
    with CaptureQueriesContext(db_connection) as before:
        record_journal(obj=client, user=admin_with_mfa)
    for n in range(5):
        client_update(client=client, data={"company": f"Company {n}"}, actor=agent_user)
        outbox.outbox_drain(connection_id=books.pk)
    journal = record_journal(obj=client, user=admin_with_mfa)
    assert len([e for e in journal.entries if e.kind == "outbound"]) == 5
    with CaptureQueriesContext(db_connection) as after:
        record_journal(obj=client, user=admin_with_mfa)
    assert len(after.captured_queries) <= len(before.captured_queries) + 1, [
        q["sql"][:120] for q in after.captured_queries
    ]
