"""The outage drill, CI-sized (tests/sync/drill.py; the full one is tests/benchmarks/
bench_outage.py): Books down (503 to everything) for a scaled 24 hours while 40 changes are made;
staff pages answer, showing the pending badge and no error; on recovery the queue drains in
order within the vendor's limit, nothing lost or duplicated against the sandbox's own records,
one admin e-mail for the incident and one when it is over."""

import json
import os

import pytest

from tests.sync.drill import run_drill
from tests.sync.stack import Stack, scratch_directory

pytestmark = pytest.mark.django_db(transaction=True)

CHANGES = int(os.environ.get("SYNC_DRILL_CHANGES", "40"))
# A vendor minute of 25 ms: the 24 hours last 36 seconds.
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_DRILL_SECONDS_PER_MINUTE", "0.025"))


@pytest.fixture
def stack(tmp_path):
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.migrate()
    stack.start_server()
    yield stack
    stack.stop()


@pytest.mark.timeout(900)  # a stack to migrate, a scaled day of outage, the drain after it
def test_outage_drill(stack, settings, monkeypatch, agent_user):
    figures = run_drill(
        stack=stack,
        settings=settings,
        monkeypatch=monkeypatch,
        agent=agent_user,
        changes=CHANGES,
        seconds_per_minute=SECONDS_PER_MINUTE,
        page_rounds=3,
    )
    print(json.dumps(figures, default=str))
    # While down: paused, nothing dead, the items' attempts untouched but for the few failures
    # that opened the circuit, probes going now and then.
    assert figures["during_circuit_open"] is True
    assert figures["during_paused_label"].startswith("paused: vendor failing (5xx) since ")
    assert figures["during_dead_letters"] == 0
    assert figures["during_attempts_spent"] < 10  # SYNC_CIRCUIT_FAILURES
    assert figures["during_probes"] >= 10
    assert figures["page_problems"] == [] and figures["pending_badges_seen"] >= 3
    # Back: everything there once, in order, within the limit, two e-mails.
    assert figures["left_in_queue"] == 0 and figures["dead_letters"] == 0
    assert figures["totals_differ"] == 0  # a backlog of payments is not a money difference
    assert (figures["lost"], figures["duplicates"], figures["order_violations"]) == (0, 0, 0)
    assert figures["stale_updates"] == 0 and figures["payments_amount_matches"] is True
    assert figures["r429"] == 0
    assert figures["busiest_vendor_minute_calls"] <= figures["vendor_limit_per_minute"]
    assert figures["admin_emails"] == [
        "[Django] Sync paused: Books (vendor failing (5xx))",
        "[Django] Sync resumed: Books",
    ]
