"""push_crm: N new clients pushed to Zoho CRM as contacts (the sandbox in its own web server
process, enforcing CRM's 100 calls a minute on its clock) by `manage.py sync run --direction
push` (its own process): upserts of up to 100 contacts a call on our reference
(connectors/zoho/crm/batches.py).

Figures: vendor calls per record (`calls_per_record`, the aim at most 0.02), the 429s CRM
answered (`r429`) and the push's seconds (its ~50 calls fit in one of CRM's minutes, so the
vendor's limit sets no floor worth a ratio). SYNC_BENCH_CRM_RECORDS changes N (5,000);
SYNC_BENCH_SECONDS_PER_MINUTE the length of a vendor minute (1 by default).
"""

import os
import time

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

RECORDS = int(os.environ.get("SYNC_BENCH_CRM_RECORDS", "5000"))
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_BENCH_SECONDS_PER_MINUTE", "1"))

QUEUE_CONTACTS = """
from apps.clients.models import Client
from apps.sync.engine import outbox
from apps.sync.models import Connection
outbox._kick = lambda: None  # the push below is the only sender
connection = Connection.objects.get(provider="zoho_crm")
Client.objects.bulk_create(
    [Client(name=f"Pushed contact {n:05d}", email=f"pushed{n:05d}@example.com")
     for n in range(RECORDS)], batch_size=1000)
queued = outbox.outbox_enqueue_many(
    connection=connection, entity="clients", objs=list(Client.objects.order_by("id")))
print("QUEUED", queued, connection.name)
"""


def test_bench_push_crm(tmp_path):
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.migrate()
    try:
        stack.books_ready(seconds_per_minute=SECONDS_PER_MINUTE, crm=True)
        queued = stack.python(QUEUE_CONTACTS.replace("RECORDS", str(RECORDS)))
        assert f"QUEUED {RECORDS}" in queued, queued
        name = queued.rsplit(f"QUEUED {RECORDS} ", 1)[1].strip()
        before = stack.last_call_id()

        started = time.perf_counter()
        stack.manage("sync", "run", "--direction", "push", "--connection", name, timeout=3600)
        elapsed = time.perf_counter() - started

        calls, r429 = stack.calls_since(before)
        pushed = stack.query(
            "SELECT COUNT(*) FROM sync_outboxitem WHERE status = 'done' AND connection_id = "
            "(SELECT id FROM sync_connection WHERE provider = 'zoho_crm')"
        )[0][0]
        remote = stack.query("SELECT COUNT(*) FROM sandbox_crmrecord WHERE module = 'Contacts'")[0][
            0
        ]
    finally:
        stack.stop()
    assert pushed == RECORDS, pushed
    assert remote == RECORDS, remote
    emit(
        "push_crm",
        records=RECORDS,
        calls=calls,
        calls_per_record=round(calls / RECORDS, 4),
        r429=r429,
        seconds=round(elapsed, 1),
    )
