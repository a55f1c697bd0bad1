"""csv_import: 10,000 new clients from one CSV through `import_run` (the admin's and the CLI's
path: read, plan, write rows, history and outbox items), against a plain bulk insert of the
same rows in the same run. A Zoho Books connection is connected, so every client also gets its
outbox item. CSV_BENCH_ROWS changes N.

Figures: seconds, rows per second, the plain insert's seconds and the ratio of the two. Each is
the best of three runs (three files of new clients; three inserts rolled back): the machine is
shared, and one run's figure moves with its neighbours' load. The CPU seconds of this process
(cpu_s, raw_insert_cpu_s, cpu_ratio) move much less with that load: SQLite works in-process.
A last run with the connection disabled (no outbox items) shows what the outbox costs:
seconds_no_books, cpu_s_no_books.
"""

import os
import time

import pytest
from django.db import connection, transaction

from apps.clients.models import Client
from apps.imports.services import import_run
from apps.sync.models import ConnectionStatus, OutboxItem
from tests.benchmarks.report import emit
from tests.imports.helpers import csv_bytes
from tests.sync.factories import make_zoho_books

ROWS = int(os.environ.get("CSV_BENCH_ROWS", "10000"))


RUNS = 3


def the_file(run: int = 0) -> bytes:
    return csv_bytes(
        [
            ["Name", "E-mail", "Phone", "Mobile", "Company", "Billing address", "Tax number"],
            *(
                [
                    f"Client {n:05d}",
                    f"Client.{run}.{n:05d}@Example.co.za",
                    "+27 11 555 0100",
                    f"+27 82 555 {n % 10000:04d}",
                    f"Company {n % 700}",
                    f"{n} Main Road, Johannesburg, 2001",
                    f"41{n:08d}",
                ]
                for n in range(ROWS)
            ),
        ]
    )


@pytest.mark.django_db(transaction=True)
def test_bench_csv_import(admin_role_user, monkeypatch):
    # The outbox drain is queued after commit as in production (not run inline, as tests do):
    # this measures the import, not 10,000 pushes.
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)
    books = make_zoho_books()
    timings, cpu = [], []
    for run in range(RUNS):
        content = the_file(run)
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = import_run(
            entity_name="clients", content=content, file_name="clients.csv", actor=admin_role_user
        )
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert outcome.written and outcome.summary()["created"] == ROWS, outcome.summary()
    assert Client.history.count() == ROWS * RUNS
    assert OutboxItem.objects.count() == ROWS * RUNS
    elapsed = min(timings)

    books.status = ConnectionStatus.DISABLED
    books.save(update_fields=["status"])
    started, cpu_started = time.perf_counter(), time.process_time()
    outcome = import_run(
        entity_name="clients", content=the_file(RUNS), file_name="c.csv", actor=admin_role_user
    )
    no_books_s, no_books_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert outcome.written and OutboxItem.objects.count() == ROWS * RUNS

    # The same rows, as plain model instances, bulk-inserted and rolled back.
    fields = ["name", "email", "phone", "mobile", "company", "billing_address", "tax_number"]
    rows = [Client(**values) for values in Client.objects.order_by("pk").values(*fields)[:ROWS]]
    assert len(rows) == ROWS
    raw_timings, raw_cpu = [], []
    for _ in range(RUNS):
        with transaction.atomic():
            raw_started, raw_cpu_started = time.perf_counter(), time.process_time()
            Client.objects.bulk_create(rows, batch_size=1000)
            raw_timings.append(time.perf_counter() - raw_started)
            raw_cpu.append(time.process_time() - raw_cpu_started)
            transaction.set_rollback(True)
        for row in rows:
            row.pk = None
    raw_s = min(raw_timings)
    emit(
        "csv_import",
        rows=ROWS,
        seconds=round(elapsed, 2),
        rows_per_s=round(ROWS / elapsed),
        raw_insert_s=round(raw_s, 2),
        ratio=round(elapsed / raw_s, 2),
        cpu_s=round(min(cpu), 2),
        raw_insert_cpu_s=round(min(raw_cpu), 2),
        cpu_ratio=round(min(cpu) / min(raw_cpu), 2),
        seconds_no_books=round(no_books_s, 2),
        cpu_s_no_books=round(no_books_cpu, 2),
        database=connection.vendor,
    )
