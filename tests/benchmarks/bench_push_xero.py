"""push_xero: N new records pushed to one Xero organisation (the sandbox in its own web server
process, enforcing Xero's 60 calls a minute, 5 at once and 5,000 a day on its clock) by
`manage.py sync run --direction push` (its own process), in batches (engine/batch.py).

The records are contacts: the batched invoice creates are being written on another branch; a
contact create takes the same path (one PUT of up to 50 elements, summarizeErrors=false, each
element matched by our reference). SYNC_BENCH_XERO_RECORDS changes N (10,000);
SYNC_BENCH_SECONDS_PER_MINUTE the length of a vendor minute (10 by default: 200 calls need
at least three vendor minutes, so the run takes about half a real minute, not three).

Figures: vendor calls per record (`calls_per_record`, the aim at most 0.03), the 429s Xero
answered (`r429`, the aim 0), the push's seconds and `limit_ratio`, its wall time over the
least Xero's 60 calls a minute allow for those calls, on the same clock (the aim at most 1.2).
"""

import json
import math
import os
import time

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

RECORDS = int(os.environ.get("SYNC_BENCH_XERO_RECORDS", "10000"))
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_BENCH_SECONDS_PER_MINUTE", "10"))
PER_MINUTE = 60  # Xero, per organisation (vendor-contracts.md §4.8)

QUEUE_CONTACTS = """
from apps.clients.models import Client
from apps.sync.engine import outbox
from apps.sync.models import Connection
outbox._kick = lambda: None  # the push below is the only sender
# The sandbox login reaches two organisations: the first one is pushed to, as "Xero".
connection = Connection.objects.filter(provider="xero").order_by("id").first()
Connection.objects.filter(provider="xero").exclude(pk=connection.pk).delete()
Connection.objects.filter(pk=connection.pk).update(name="Xero")
Client.objects.bulk_create(
    [Client(name=f"Pushed contact {n:05d}", email=f"pushed{n:05d}@example.com")
     for n in range(RECORDS)], batch_size=1000)
queued = outbox.outbox_enqueue_many(
    connection=connection, entity="clients", objs=list(Client.objects.order_by("id")))
print("QUEUED", queued, connection.remote_account_id)
"""


def test_bench_push_xero(tmp_path):
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.migrate()
    try:
        seeded = stack.manage(
            "sandbox", "seed", "--contacts", "0", "--items", "0", "--documents", "0",
            "--crm-contacts", "0", "--deals", "0",
        )  # fmt: skip
        answers = [json.loads(line) for line in seeded.splitlines() if line.startswith("{")]
        refresh_token = next(a for a in answers if a.get("vendor") == "xero")["refresh_token"]
        stack.start_server()
        stack.manage("sync", "connect", "xero", "--refresh-token", refresh_token, "--name", "Xero")
        queued = stack.python(QUEUE_CONTACTS.replace("RECORDS", str(RECORDS)))
        assert f"QUEUED {RECORDS}" in queued, queued
        tenant = queued.rsplit("QUEUED", 1)[1].split()[1]
        stack.python(
            "from apps.sandbox import clock; "
            f"clock.clock_set(vendor='xero', account='{tenant}', "
            f"seconds_per_minute={SECONDS_PER_MINUTE})"
        )
        before = stack.query("SELECT COALESCE(MAX(id), 0) FROM sync_synclog")[0][0]

        started = time.perf_counter()
        stack.manage("sync", "run", "--direction", "push", "--connection", "Xero", timeout=3600)
        elapsed = time.perf_counter() - started

        calls = stack.query("SELECT COUNT(*) FROM sync_synclog WHERE id > ?", (before,))[0][0]
        r429 = stack.query(
            "SELECT COUNT(*) FROM sync_synclog WHERE id > ? AND status_code = 429", (before,)
        )[0][0]
        pushed = stack.query(
            "SELECT COUNT(*) FROM sync_outboxitem WHERE status = 'done' AND connection_id = "
            "(SELECT id FROM sync_connection WHERE name = 'Xero')"
        )[0][0]
        remote = stack.query(
            "SELECT COUNT(*) FROM sandbox_xero_xerocontact c JOIN sandbox_xero_xerotenant t "
            "ON c.tenant_id = t.id WHERE t.tenant_id = ? AND c.contact_number LIKE 'SD-C-%'",
            (tenant.replace("-", ""),),
        )[0][0]
    finally:
        stack.stop()
    assert pushed == RECORDS, pushed
    assert remote == RECORDS, remote
    # The least time C calls take at 60 a minute: every full window but the last is waited out.
    floor_s = max(1.0, (math.ceil(calls / PER_MINUTE) - 1) * SECONDS_PER_MINUTE)
    emit(
        "push_xero",
        records=RECORDS,
        entity="contacts",
        calls=calls,
        calls_per_record=round(calls / RECORDS, 4),
        r429=r429,
        seconds=round(elapsed, 1),
        floor_s=round(floor_s, 1),
        limit_ratio=round(elapsed / floor_s, 2),
    )
