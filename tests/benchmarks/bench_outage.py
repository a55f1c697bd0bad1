"""outage: the outage drill at full size (tests/sync/drill.py): Zoho Books (the sandbox, in its
own web server process on its own database) answers 503 to everything for a scaled 24 hours
while a script makes 500 changes (clients, quotes sent and accepted, invoices, payments).

Figures: the staff pages' median milliseconds with the vendor up (before, with few rows, and
after, with the outage's rows too) and down, and the ratios (aim: about 1, no error shown but the
pending badge); while down, the circuit open, the attempts
spent (only the failures that opened it), dead letters (aim 0) and probes; on recovery, the
seconds and vendor minutes to drain, the calls, the 429s (aim 0) and the busiest vendor minute
against Books' 100; lost, duplicates and order violations against the sandbox's own records
(aim 0); the admin e-mails (aim: one when it opened, one when it closed).

SYNC_BENCH_CHANGES (500) and SYNC_BENCH_SECONDS_PER_MINUTE (0.25: the 24 hours last six real
minutes) change the size and the clock; SYNC_BENCH_OUTAGE_HOURS (24) the outage.
"""

import os

import pytest
from django.db import connection

from tests.benchmarks.report import emit
from tests.sync.drill import run_drill
from tests.sync.stack import Stack, scratch_directory

CHANGES = int(os.environ.get("SYNC_BENCH_CHANGES", "500"))
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_BENCH_SECONDS_PER_MINUTE", "0.25"))
OUTAGE_HOURS = float(os.environ.get("SYNC_BENCH_OUTAGE_HOURS", "24"))


@pytest.mark.timeout(3600)  # a scaled day of outage and the drain after it
@pytest.mark.django_db(transaction=True)
def test_bench_outage(tmp_path, settings, monkeypatch, agent_user):
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.migrate()
    stack.start_server()
    try:
        figures = run_drill(
            stack=stack,
            settings=settings,
            monkeypatch=monkeypatch,
            agent=agent_user,
            changes=CHANGES,
            seconds_per_minute=SECONDS_PER_MINUTE,
            outage_vendor_hours=OUTAGE_HOURS,
            page_rounds=20,
        )
    finally:
        stack.stop()
    figures.pop("admin_email_bodies")
    ratios = [value for name, value in figures.items() if name.endswith("_ratio")]
    after = [value for name, value in figures.items() if name.endswith("_ratio_vs_after")]
    emit(
        "outage",
        **figures,
        worst_page_ratio=max(ratios),
        worst_page_ratio_vs_after=max(after),
        database=connection.vendor,
    )
