"""Admins are warned once, a week ahead, before a refresh token would expire unused (Xero: 60
days, declared by its connector's Accounts); tokens that never die of disuse (Zoho), connections
disconnected, and tokens used since are left alone."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.sync.engine.registry import accounts
from apps.sync.engine.token_disuse import credentials_warn_disuse
from apps.sync.models import ConnectionStatus
from apps.sync.schedules import SCHEDULES
from apps.sync.tasks import token_disuse_warn_task
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]


def last_used(connection, days_ago: float) -> None:
    credential = connection.credential
    credential.refreshed_at = timezone.now() - timedelta(days=days_ago)
    credential.save(update_fields=["refreshed_at"])


def test_one_email_a_week_before_a_xero_refresh_token_expires_unused(
    django_capture_on_commit_callbacks,
):
    assert accounts("xero").refresh_token_disuse_lifetime == timedelta(days=60)
    assert accounts("zoho").refresh_token_disuse_lifetime is None  # Zoho's never expire unused
    xero = make_xero(name="Xero Ltd")
    quiet = make_xero(name="Xero Quiet", tenant="tenant-2", refresh="refresh-2")
    books = make_zoho_books()
    last_used(xero, 54)  # expires in 6 days
    last_used(quiet, 50)  # 10 days left: not yet
    last_used(books, 400)
    with django_capture_on_commit_callbacks(execute=True):
        assert credentials_warn_disuse() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "[Django] A vendor token expires soon from disuse"
    assert "Xero (Xero Ltd)" in message.body and "Quiet" not in message.body
    with django_capture_on_commit_callbacks(execute=True):
        assert credentials_warn_disuse() == 0  # once per token
    assert len(mail.outbox) == 1

    # Used again (a refresh stores a new token): the clock starts over, and so does the warning.
    last_used(xero, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert token_disuse_warn_task() == 0
        last_used(xero, 59)
        assert token_disuse_warn_task() == 1
    assert len(mail.outbox) == 2


def test_disconnected_connections_are_not_warned_about(django_capture_on_commit_callbacks):
    xero = make_xero()
    last_used(xero, 58)
    xero.status = ConnectionStatus.DISABLED
    xero.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert credentials_warn_disuse() == 0
    assert mail.outbox == []


def test_the_lifetime_runs_on_the_scaled_clock(settings, django_capture_on_commit_callbacks):
    settings.SYNC_CLOCK_SCALE = 1 / 1440  # a vendor day is a real minute
    xero = make_xero()
    last_used(xero, 54 / 1440)  # 54 vendor days ago
    with django_capture_on_commit_callbacks(execute=True):
        assert credentials_warn_disuse() == 1


def test_it_is_scheduled_daily():
    spec = next(s for s in SCHEDULES if s.func == "apps.sync.tasks.token_disuse_warn_task")
    assert spec.name == "syncdesk:sync.token_disuse"
