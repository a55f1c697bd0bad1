"""`manage.py sync run|status`, the log retention prune and the once-per-incident alert."""

import contextlib
import io
import json
import re
from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from apps.clients.models import Client
from apps.sync import services
from apps.sync.models import Binding, SyncLog, SyncRun
from apps.sync.selectors import sync_health_alert
from tests.sync.factories import ZOHO_API, make_zoho_books

pytestmark = pytest.mark.django_db
CONTACTS = re.compile(re.escape(f"{ZOHO_API}/books/v3/contacts") + r".*")
PAGE = {
    "code": 0,
    "message": "success",
    "page_context": {"has_more_page": False},
    "contacts": [
        {
            "contact_id": "1",
            "contact_name": "Ada",
            "email": "ada@example.com",
            "last_modified_time": "2026-07-01T10:00:00+0000",
        }
    ],
}


def run_command(*args) -> tuple[str, dict]:
    out = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command("sync", *args, stdout=out)
    text = out.getvalue()
    return text, json.loads(text.strip().splitlines()[-1])


@responses.activate
def test_sync_run_dry_run_reports_and_writes_nothing():
    make_zoho_books()
    responses.get(CONTACTS, json=PAGE)
    _, summary = run_command("run", "--entity", "clients", "--direction", "pull", "--dry-run")
    assert summary["dry_run"] and summary["runs"][0]["created"] == 1
    assert Client.objects.count() == 0 and Binding.objects.count() == 0
    assert SyncRun.objects.count() == 0


@responses.activate
def test_sync_run_prints_a_json_summary_last():
    make_zoho_books()
    responses.get(CONTACTS, json=PAGE)
    _, summary = run_command(
        "run", "--connection", "Books", "--entity", "clients", "--direction", "pull"
    )
    run = summary["runs"][0]
    assert summary["ok"] and (run["entity"], run["created"], run["requests"]) == ("clients", 1, 1)


def test_sync_run_names_an_unknown_connection():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No connected connection"):
        call_command("sync", "run", "--connection", "Nope", stdout=io.StringIO())


@responses.activate
def test_sync_status_is_json_health():
    make_zoho_books()
    responses.get(CONTACTS, json=PAGE)
    run_command("run", "--entity", "clients", "--direction", "pull")
    _, health = run_command("status")
    books = health["connections"][0]
    assert health["success_rate"] == 1.0 and health["queue_depth"] == 0
    assert books["calls_24h"] >= 1 and books["budget"]["day_left"] < 10_000
    assert books["token_expires_in_s"] > 0


def test_old_logs_are_pruned():
    old = SyncLog.objects.create(method="GET", url="https://x/old")
    SyncLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    SyncLog.objects.create(method="GET", url="https://x/new")
    assert services.sync_logs_prune(older_than_days=30) == 1
    assert list(SyncLog.objects.values_list("url", flat=True)) == ["https://x/new"]


def test_admins_get_one_mail_per_incident_not_per_failure(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    connection = make_zoho_books()
    for _ in range(10):
        SyncLog.objects.create(connection=connection, method="GET", url="u", status_code=500)
    assert sync_health_alert() is True
    for _ in range(10):
        SyncLog.objects.create(connection=connection, method="GET", url="u", status_code=500)
    assert sync_health_alert() is False  # same incident: no second mail
    assert len(mail.outbox) == 1 and "failed" in mail.outbox[0].body


def test_sync_schedules_are_applied_idempotently():
    from django_q.models import Schedule

    _, first = run_command("schedules")
    assert "syncdesk:sync.outbox_drain" in first["created"]
    drain = Schedule.objects.get(name="syncdesk:sync.outbox_drain")
    assert (drain.func, drain.schedule_type, drain.minutes) == (
        "apps.sync.tasks.outbox_drain_task",
        "I",
        1,
    )
    count = Schedule.objects.count()
    _, second = run_command("schedules")
    assert second["created"] == [] and "syncdesk:sync.outbox_drain" in second["unchanged"]
    assert Schedule.objects.count() == count


def test_an_agent_cannot_open_the_sync_health_page(agent_client):
    assert agent_client.get("/admin/sync/connection/health/").status_code == 403


def test_token_times_read_as_words_on_the_health_page_and_the_connections_list(admin_client_mfa):
    """Office staff read "3 days ago" and "in 42 minutes", not 259200 or 2520 seconds."""
    from apps.sync.models import Credential

    books = make_zoho_books()
    now = timezone.now()
    Credential.objects.filter(pk=books.credential_id).update(
        refreshed_at=now - timedelta(days=3, minutes=5),
        access_expires_at=now + timedelta(minutes=42, seconds=30),
    )
    stale = make_zoho_books(name="Stale", org="60002")
    Credential.objects.filter(pk=stale.credential_id).update(
        refreshed_at=None, access_expires_at=now - timedelta(hours=2, minutes=1)
    )

    health = admin_client_mfa.get("/admin/sync/connection/health/").content.decode()
    assert "Token refreshed" in health and "(s)" not in health
    assert "3 days ago" in health and "expires in 42 minutes" in health
    assert "expired 2 hours ago" in health and "never" in health
    assert "259" not in health  # no count of seconds anywhere

    listing = admin_client_mfa.get("/admin/sync/connection/").content.decode()
    assert "3\xa0days ago" in listing and "expires in 42\xa0minutes" in listing
    assert "expired 2\xa0hours ago" in listing
    assert " min<" not in listing
