"""Malformed vendor records (issue 11, item 3): validated at the connector's edge; a bad record is
quarantined with its payload, the rest of its page applied, the cursor moves on, the run ends
partial with a clear reason, health shows it, and an Admin retries it from the admin."""

import re

import pytest
import responses
from django.test import Client as DjangoClient

from apps.clients.models import Client
from apps.sync.engine import pull as engine
from apps.sync.engine.records import MalformedAnswer
from apps.sync.models import (
    Binding,
    Entity,
    QuarantinedRecord,
    QuarantineStatus,
    RunStatus,
    SyncCursor,
    SyncRun,
)
from apps.sync.selectors import sync_health
from tests.sync.factories import ZOHO_API, make_zoho_books
from tests.sync.test_pull_unit import CONTACTS_URL, books_contact, books_page

pytestmark = pytest.mark.django_db

BAD_ROWS = [
    {"contact_name": "No id", "last_modified_time": "2026-07-01T10:00:00+0000"},
    {**books_contact(5), "contact_name": {"first": "wrong type"}},
    {**books_contact(6), "email": ["a@example.com"]},
    {**books_contact(7), "last_modified_time": "yesterday-ish"},
    42,
    "a string where a contact belongs",
    None,
]


@responses.activate
def test_bad_records_are_quarantined_and_the_rest_of_the_page_applied(admin_with_mfa):
    connection = make_zoho_books()
    good = [books_contact(1), books_contact(2, modified="2026-07-02T10:00:00+0000")]
    responses.get(CONTACTS_URL, json=books_page([good[0], *BAD_ROWS, good[1]], page=1, more=False))

    run = engine.pull(connection=connection, entity=Entity.CLIENTS)

    assert Client.objects.count() == 2
    assert set(Binding.objects.values_list("remote_id", flat=True)) == {"9001", "9002"}
    assert run.status == RunStatus.PARTIAL
    assert "7 record(s) failed the vendor schema" in run.last_error
    assert run.finished_at is not None
    quarantined = QuarantinedRecord.objects.order_by("id")
    assert quarantined.count() == 7
    by_id = {}
    for row in quarantined:  # the three without any id share "": keep the first (no contact_id)
        by_id.setdefault(row.remote_id, row)
    assert "contact_id: Field required" in by_id[""].reason
    assert "contact_name" in by_id["9005"].reason
    assert "email" in by_id["9006"].reason
    assert "not a Zoho time" in by_id["9007"].reason
    assert '"wrong type"' in by_id["9005"].payload
    assert any("not an object but int" in row.reason for row in quarantined)
    # Handled for the cursor: it moved past the page, to the latest good change.
    assert SyncCursor.objects.get().modified_at.isoformat() == "2026-07-02T10:00:00+00:00"
    # Health says so, and `ok` is false until an Admin deals with them.
    health = sync_health()
    assert health["ok"] is False
    assert health["connections"][0]["quarantined"] == 7
    assert health["connections"][0]["failed_runs_24h"] == 1

    # The Admin sees the list and the payload, and retries one the vendor has since fixed.
    admin = DjangoClient()
    admin.force_login(admin_with_mfa)
    listed = admin.get("/admin/sync/quarantinedrecord/")
    assert listed.status_code == 200 and "9005" in listed.content.decode()
    page = admin.get(f"/admin/sync/quarantinedrecord/{by_id['9005'].pk}/change/")
    assert "wrong type" in page.content.decode()
    responses.get(
        re.compile(re.escape(f"{ZOHO_API}/books/v3/contacts/9005") + r".*"),
        json={"code": 0, "contact": books_contact(5)},
    )
    answer = admin.post(
        "/admin/sync/quarantinedrecord/",
        {
            "action": "retry",
            "_selected_action": [str(by_id["9005"].pk), str(by_id[""].pk)],
        },
        follow=True,
    )
    text = answer.content.decode()
    assert "applied (clients 9005: created)" in text
    assert "without its id" in text
    by_id["9005"].refresh_from_db()
    assert by_id["9005"].status == QuarantineStatus.RESOLVED
    assert Client.objects.filter(email="client5@example.com").exists()
    assert QuarantinedRecord.objects.filter(status=QuarantineStatus.OPEN).count() == 6


@responses.activate
def test_a_retry_that_still_fails_keeps_the_record_with_the_new_reason(admin_with_mfa):
    from apps.sync import services

    connection = make_zoho_books()
    responses.get(CONTACTS_URL, json=books_page([BAD_ROWS[1]], page=1, more=False))
    engine.pull(connection=connection, entity=Entity.CLIENTS)
    record = QuarantinedRecord.objects.get()
    responses.get(
        re.compile(re.escape(f"{ZOHO_API}/books/v3/contacts/9005") + r".*"),
        json={"code": 0, "contact": {"contact_id": "9005", "email": 7}},
    )
    with pytest.raises(Exception, match="email"):
        services.quarantine_retry(record=record)
    record.refresh_from_db()
    assert (record.status, record.attempts) == (QuarantineStatus.OPEN, 1)
    assert record.reason.startswith("Retry 1:")


@pytest.mark.parametrize(
    "body",
    [
        [books_contact(1)],  # a top-level list
        {"code": 0, "contacts": "nope"},
        {"code": 0, "contacts": {"contact_id": "1"}},
        "just a string",
    ],
)
@responses.activate
def test_a_malformed_answer_fails_the_run_cleanly(body):
    connection = make_zoho_books()
    responses.get(CONTACTS_URL, json=body)

    with pytest.raises(MalformedAnswer) as raised:
        engine.pull(connection=connection, entity=Entity.CLIENTS)

    run = SyncRun.objects.get()
    assert run.status == RunStatus.FAILED  # not left "running" forever
    assert run.last_error == raised.value.message
    assert "Zoho Books" in run.last_error
    assert Client.objects.count() == 0
    assert SyncCursor.objects.get().modified_at is None


def test_agents_cannot_see_or_retry_quarantined_records(agent_client):
    connection = make_zoho_books()
    record = QuarantinedRecord.objects.create(
        connection=connection, entity=Entity.CLIENTS, remote_id="9", reason="x", payload="{}"
    )
    assert agent_client.get("/admin/sync/quarantinedrecord/").status_code == 403
    assert agent_client.get(f"/admin/sync/quarantinedrecord/{record.pk}/change/").status_code == 403
    answer = agent_client.post(
        "/admin/sync/quarantinedrecord/", {"action": "retry", "_selected_action": [record.pk]}
    )
    assert answer.status_code == 403
    record.refresh_from_db()
    assert record.attempts == 0
