"""Scheduled pulls feed the circuit breaker (engine/circuit.py) as pushes do, against the Books
sandbox over real HTTP: pulls failing with 5xx count towards opening it; while it is open a pull
waits (no call to the vendor) until its probe is due, then goes as the probe, and the answer
closes the circuit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sandbox import faults
from apps.sync import tasks
from apps.sync.engine import outbox
from apps.sync.engine.records import TransientError
from apps.sync.models import (
    CircuitReason,
    CircuitState,
    Connection,
    ConnectionCircuit,
    RunStatus,
    SyncLog,
    SyncRun,
)
from tests.sync.sandbox import point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, settings, monkeypatch):
    point_settings_at(settings, live_server.url)
    settings.SYNC_CIRCUIT_FAILURES = 3
    settings.SYNC_CIRCUIT_PROBE_BASE = settings.SYNC_CIRCUIT_PROBE_CAP = 600.0  # waits here
    monkeypatch.setattr(outbox, "_kick", lambda: None)
    zoho = seed(contacts=3, items=0, documents=0, crm_contacts=0, deals=0, skip_xero=True)["zoho"]
    sync(
        "connect", "zoho", "--refresh-token", zoho["refresh_token"],
        "--organization-id", zoho["organization_id"], "--name", "Books",
    )  # fmt: skip
    return Connection.objects.get(name="Books")


def calls(connection) -> int:
    return SyncLog.objects.filter(connection=connection).count()


def test_failing_pulls_open_the_circuit_and_a_pull_waits_for_the_probe(books):
    faults.fault_plan_set(
        vendor="zoho", account=books.remote_account_id, error_share=1.0, error_status=503
    )
    for failures in (1, 2):
        with pytest.raises(TransientError):
            tasks.pull_task("clients")
        circuit_row = ConnectionCircuit.objects.get(pk=books.pk)
        assert (circuit_row.state, circuit_row.failures) == (CircuitState.CLOSED, failures)
    with pytest.raises(TransientError):
        tasks.pull_task("clients")
    opened = ConnectionCircuit.objects.get(pk=books.pk)
    assert (opened.state, opened.reason) == (CircuitState.OPEN, CircuitReason.SERVER_ERRORS)

    # Open, its probe not due: the scheduled pull does not call the vendor at all.
    ConnectionCircuit.objects.filter(pk=books.pk).update(
        next_probe_at=timezone.now() + timedelta(hours=1)
    )
    before = calls(books)
    assert tasks.pull_task("clients") == []
    assert calls(books) == before

    # The probe due and the vendor still down: the pull is the one probe, and backs off.
    ConnectionCircuit.objects.filter(pk=books.pk).update(next_probe_at=timezone.now())
    with pytest.raises(TransientError):
        tasks.pull_task("clients")
    probed = ConnectionCircuit.objects.get(pk=books.pk)
    assert (probed.state, probed.probes) == (CircuitState.OPEN, 1)
    assert probed.next_probe_at > timezone.now() and probed.probe_owner == ""
    assert tasks.pull_task("clients") == []  # waiting again

    # The vendor back, the probe due: the pull goes, its answer closes the circuit.
    faults.fault_plan_clear(vendor="zoho", account=books.remote_account_id)
    ConnectionCircuit.objects.filter(pk=books.pk).update(next_probe_at=timezone.now())
    [run_id] = tasks.pull_task("clients")
    assert SyncRun.objects.get(pk=run_id).status == RunStatus.SUCCEEDED
    assert ConnectionCircuit.objects.get(pk=books.pk).state == CircuitState.CLOSED


def test_a_pull_that_succeeds_ends_a_run_of_failures(books):
    faults.fault_plan_set(
        vendor="zoho", account=books.remote_account_id, error_share=1.0, error_status=503
    )
    for _ in range(2):
        with pytest.raises(TransientError):
            tasks.pull_task("clients")
    faults.fault_plan_clear(vendor="zoho", account=books.remote_account_id)
    assert len(tasks.pull_task("clients")) == 1
    assert ConnectionCircuit.objects.get(pk=books.pk).failures == 0
