"""The circuit breaker's states (engine/circuit.py) on the database, without a vendor: counting
connection-level failures to the threshold, opening (one e-mail), pausing the claim, one probe
at a time with backoff on the scaled clock, holding items without spending attempts, closing on
an answer (one e-mail), refused credentials pausing until an Admin reconnects; what the health
figures, the alert and the admin show."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.sync.engine import circuit, outbox
from apps.sync.engine.connections import connection_attach
from apps.sync.engine.records import (
    AuthExpired,
    NotFound,
    RateLimited,
    Rejected,
    TransientError,
)
from apps.sync.models import (
    CircuitReason,
    CircuitState,
    ConnectionCircuit,
    ConnectionStatus,
    OutboxItem,
    OutboxStatus,
    SyncLog,
)
from apps.sync.selectors import sync_health, sync_health_alert
from tests.sync.factories import make_credential, make_zoho_books

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(settings):
    settings.SYNC_CIRCUIT_FAILURES = 3
    settings.ADMINS = [("Ops", "ops@example.com")]
    return make_zoho_books()


def queue(connection, count: int) -> list[OutboxItem]:
    now = timezone.now()
    return [
        OutboxItem.objects.create(
            connection=connection,
            entity="clients",
            operation="create",
            object_id=n + 1,
            reference=f"C-{n + 1}",
            next_attempt_at=now - timedelta(seconds=count - n),
        )
        for n in range(count)
    ]


def fail(connection, times: int = 1, reason=CircuitReason.SERVER_ERRORS, owner="") -> bool:
    opened = False
    for _ in range(times):
        opened = circuit.report_failure(connection.pk, reason, "HTTP 503", owner=owner)
    return opened


def state(connection) -> ConnectionCircuit:
    return ConnectionCircuit.objects.get(pk=connection.pk)


def test_errors_are_classified_from_the_typed_errors_alone():
    assert circuit.classify(AuthExpired("refused")) == CircuitReason.NEEDS_REAUTH
    assert circuit.classify(TransientError("HTTP 503", status=503)) == "server_errors"
    assert circuit.classify(TransientError("ConnectionError talking to the vendor")) == (
        CircuitReason.UNREACHABLE
    )
    assert circuit.classify(RateLimited("429", status=429, retry_after=3)) is None
    assert circuit.classify(Rejected("bad email", status=400)) == ""  # the vendor answered
    assert circuit.classify(NotFound("gone", status=404)) == ""


def test_opens_at_the_threshold_with_one_email(books, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert fail(books, 2) is False
        assert state(books).state == CircuitState.CLOSED and state(books).failures == 2
        assert fail(books) is True
        fail(books, 5)  # failing probes while open: no more e-mail
    opened = state(books)
    assert opened.state == CircuitState.OPEN and opened.reason == CircuitReason.SERVER_ERRORS
    assert [m.subject for m in mail.outbox] == [
        "[Django] Sync paused: Books (vendor failing (5xx))"
    ]
    assert "none is dead-lettered" in mail.outbox[0].body


def test_an_answer_ends_a_run_of_failures(books):
    fail(books, 2)
    circuit.report_answer(books.pk)
    fail(books, 2)
    assert state(books).state == CircuitState.CLOSED and state(books).failures == 2


def test_open_circuit_pauses_the_claim_and_lets_one_probe_through(books):
    items = queue(books, 4)
    fail(books, 3)
    ConnectionCircuit.objects.filter(pk=books.pk).update(
        next_probe_at=timezone.now() + timedelta(hours=1)
    )
    assert outbox.outbox_claim(owner="w1") == []  # paused: nothing claimed, nothing spent
    assert set(OutboxItem.objects.values_list("attempts", flat=True)) == {0}

    ConnectionCircuit.objects.filter(pk=books.pk).update(next_probe_at=timezone.now())
    claimed = outbox.outbox_claim(owner="w1", limit=2)
    assert claimed == [items[0].pk, items[1].pk]
    first, second = (OutboxItem.objects.get(pk=pk) for pk in claimed)
    assert circuit.admits(first) is True  # the probe
    assert circuit.admits(second) is False  # another item is the probe
    assert circuit.hold(second) == OutboxStatus.PENDING
    second.refresh_from_db()
    assert (second.status, second.attempts) == (OutboxStatus.PENDING, 0)
    assert second.last_error.startswith("paused: vendor failing (5xx) since ")
    # While the probe is out, no other worker claims the connection's items.
    assert outbox.outbox_claim(owner="w2") == []


def test_failed_probes_back_off_on_the_scaled_clock(books, settings):
    settings.SYNC_CLOCK_SCALE = 0.01
    settings.SYNC_CIRCUIT_PROBE_BASE = 100.0
    settings.SYNC_CIRCUIT_PROBE_CAP = 1000.0
    fail(books, 3)
    waits = []
    for _ in range(6):
        opened = state(books)
        waits.append((opened.next_probe_at - timezone.now()).total_seconds())
        ConnectionCircuit.objects.filter(pk=books.pk).update(probe_owner="prober")
        fail(books, owner="prober")
    # 100 vendor seconds doubling to the 1,000 cap, times the clock's 0.01 (20% jitter).
    for wait, ceiling in zip(waits, [1, 2, 4, 8, 10, 10], strict=True):
        assert 0.8 * ceiling - 0.05 <= wait <= ceiling
    assert state(books).probes == 6


def test_a_rate_limit_on_the_probe_is_neither_failure_nor_answer(books, settings):
    item = queue(books, 1)[0]
    fail(books, 3)
    ConnectionCircuit.objects.filter(pk=books.pk).update(next_probe_at=timezone.now())
    outbox.outbox_claim(owner="w1")
    item.refresh_from_db()
    assert circuit.admits(item)
    with pytest.raises(RateLimited), circuit.watch(item) as watched:
        raise RateLimited("429", status=429, retry_after=30)
    assert watched.paused is False
    after = state(books)
    assert after.state == CircuitState.OPEN and after.probe_owner == "" and after.probes == 0
    assert after.next_probe_at > timezone.now() + timedelta(seconds=25)


def test_an_answer_closes_it_with_one_email(books, django_capture_on_commit_callbacks):
    item = queue(books, 1)[0]
    fail(books, 3)
    ConnectionCircuit.objects.filter(pk=books.pk).update(next_probe_at=timezone.now())
    outbox.outbox_claim(owner="w1")
    item.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert circuit.admits(item)
        with circuit.watch(item) as watched:
            pass  # the vendor answered the probe
        circuit.report_answer(books.pk)  # and the next item: no second e-mail
    assert watched.paused is False
    closed = state(books)
    assert (closed.state, closed.failures, closed.probes) == (CircuitState.CLOSED, 0, 0)
    assert closed.closed_at is not None
    assert [m.subject for m in mail.outbox] == ["[Django] Sync resumed: Books"]
    assert "1 change(s) waiting" in mail.outbox[0].body


def test_a_rejection_is_an_answer(books):
    item = queue(books, 1)[0]
    fail(books, 3)
    with pytest.raises(Rejected), circuit.watch(item):
        raise Rejected("The vendor rejected the request (HTTP 400)", status=400)
    assert state(books).state == CircuitState.CLOSED


def test_refused_credentials_pause_until_an_admin_reconnects(books):
    items = queue(books, 2)
    books.status = ConnectionStatus.NEEDS_REAUTH  # what the token store does on invalid_grant
    books.save()
    assert fail(books, reason=CircuitReason.NEEDS_REAUTH) is True  # at once, not at 3
    assert outbox.outbox_claim(owner="w1") == []
    health = sync_health()["connections"][0]
    assert health["paused"].startswith("paused: needs re-authorisation since ")
    # Reconnected to the same organisation on a new credential: the probe is due at once.
    connection_attach(
        provider="zoho_books",
        remote_account_id=books.remote_account_id,
        name="Books",
        credential=make_credential("zoho", refresh="refresh-NEW"),
    )
    assert outbox.outbox_claim(owner="w1", limit=1) == [items[0].pk]


def test_health_and_admin_show_the_pause(books, admin_client_mfa):
    queue(books, 2)
    fail(books, 3, reason=CircuitReason.UNREACHABLE)
    health = sync_health()
    assert health["ok"] is False
    connection = health["connections"][0]
    assert connection["paused"].startswith("paused: vendor unreachable since ")
    assert connection["queue_depth"] == 2 and connection["dead_letters"] == 0
    assert health["paused"] == [f"Books: {connection['paused']}"]
    changelist = admin_client_mfa.get(reverse("admin:sync_connection_changelist"))
    assert "paused: vendor unreachable since" in changelist.content.decode()
    page = admin_client_mfa.get(reverse("admin:sync_connection_health")).content.decode()
    assert "paused: vendor unreachable since" in page
    staff_page = admin_client_mfa.get("/sync/").content.decode()
    assert "Paused: vendor unreachable since" in staff_page


def test_the_health_alert_leaves_an_outage_to_the_circuit(books):
    fail(books, 3)
    SyncLog.objects.bulk_create(
        SyncLog(connection=books, method="POST", url="/contacts", status_code=503)
        for _ in range(20)
    )
    assert sync_health_alert() is False  # the circuit's e-mail is the incident's
    assert mail.outbox == []
    circuit.report_answer(books.pk)
    # Over: only calls after the recovery count (the outage's failures were its incident).
    SyncLog.objects.bulk_create(
        SyncLog(connection=books, method="POST", url="/contacts", status_code=201)
        for _ in range(12)
    )
    assert sync_health_alert() is False
    SyncLog.objects.bulk_create(
        SyncLog(connection=books, method="POST", url="/contacts", status_code=500) for _ in range(4)
    )
    assert sync_health_alert() is True  # a new failure rate after it is a new incident
    assert "failed" in mail.outbox[-1].body


def test_a_run_of_connection_failures_is_left_to_the_breaker(books, settings):
    settings.SYNC_CIRCUIT_FAILURES = 10
    SyncLog.objects.bulk_create(
        SyncLog(connection=books, method="GET", url="/contacts", status_code=200) for _ in range(20)
    )
    fail(books, 4)  # not yet open: the breaker is counting
    SyncLog.objects.bulk_create(
        SyncLog(connection=books, method="POST", url="/contacts", status_code=503) for _ in range(4)
    )
    assert sync_health_alert() is False
    circuit.report_answer(books.pk)  # it was a blip, and the rate stays: now an incident
    assert sync_health_alert() is True
