"""Two workers draining one connection whose circuit is open (engine/circuit.py), on PostgreSQL
where the claim's skip_locked and the probe's conditional UPDATE are real: the vendor (the Books
sandbox answering 503 to everything, over real HTTP) gets exactly one probe per probe interval,
never two at once, and no item spends an attempt or is dead-lettered."""

import itertools
import threading
import time

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from apps.clients.models import Client
from apps.sandbox import faults
from apps.sync.engine import circuit, outbox
from apps.sync.models import (
    CircuitReason,
    CircuitState,
    Connection,
    ConnectionCircuit,
    OutboxItem,
    OutboxStatus,
    SyncLog,
)
from tests.sync.sandbox import point_settings_at, seed, sync

pytestmark = pytest.mark.django_db(transaction=True)
PROBE_SECONDS = 0.6  # the probe interval (base = cap: no backoff growth), jittered 80-100%
RUN_SECONDS = 4.0


@pytest.fixture
def books(live_server, settings, monkeypatch):
    point_settings_at(settings, live_server.url)
    settings.SYNC_CIRCUIT_FAILURES = 3
    settings.SYNC_CIRCUIT_PROBE_BASE = PROBE_SECONDS
    settings.SYNC_CIRCUIT_PROBE_CAP = PROBE_SECONDS
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the two workers below drain
    zoho = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0, skip_xero=True)["zoho"]
    sync(
        "connect", "zoho", "--refresh-token", zoho["refresh_token"],
        "--organization-id", zoho["organization_id"], "--name", "Books",
    )  # fmt: skip
    return Connection.objects.get(name="Books")


def worker(connection_id: int, until: float, errors: list) -> None:
    try:
        while time.monotonic() < until:
            outbox.outbox_drain(connection_id=connection_id)
            circuit.probe_idle()
            time.sleep(0.01)
    except Exception as error:  # reported to the test, which fails on it
        errors.append(error)
    finally:
        db_connection.close()


@pytest.mark.postgres
def test_two_workers_send_one_probe_per_interval_and_spend_no_attempts(books):
    Client.objects.bulk_create(
        [Client(name=f"Client {n}", email=f"c{n}@example.com") for n in range(6)]
    )
    outbox.outbox_enqueue_many(
        connection=books, entity="clients", objs=list(Client.objects.order_by("id"))
    )
    faults.fault_plan_set(
        vendor="zoho", account=books.remote_account_id, error_share=1.0, error_status=503
    )
    for _ in range(3):  # the vendor failing: the circuit is open, its first probe not yet due
        circuit.report_failure(books.pk, CircuitReason.SERVER_ERRORS, "HTTP 503")
    opened = ConnectionCircuit.objects.get(pk=books.pk)
    assert opened.state == CircuitState.OPEN
    started = timezone.now()

    errors: list = []
    until = time.monotonic() + RUN_SECONDS
    threads = [threading.Thread(target=worker, args=(books.pk, until, errors)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    probes = list(
        SyncLog.objects.filter(connection=books, created_at__gte=started)
        .order_by("created_at")
        .values_list("created_at", "status_code", "latency_ms")
    )
    assert probes and all(status == 503 for _, status, _ in probes)
    items = OutboxItem.objects.filter(connection=books)
    assert set(items.values_list("status", flat=True)) == {OutboxStatus.PENDING}
    assert set(items.values_list("attempts", flat=True)) == {0}  # none spent by a probe
    assert ConnectionCircuit.objects.get(pk=books.pk).state == CircuitState.OPEN
    # One at a time, one per interval: never two closer than the interval's lowest jitter,
    # and never much more than an interval without one (the call and claim take ~0.1-0.4 s
    # here: the sandbox answers in this process).
    gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(probes)]
    assert len(probes) >= 3, probes
    assert min(gaps) >= 0.8 * PROBE_SECONDS - 0.05, gaps
    assert max(gaps) <= PROBE_SECONDS + 1.0, gaps
    assert len(probes) <= RUN_SECONDS / (0.8 * PROBE_SECONDS) + 1
