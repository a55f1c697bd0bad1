"""sync_pull: 50,000 Zoho Books contacts from the sandbox (its own web server process) into an
empty database by `manage.py sync run` (its own process), against a plain bulk insert of the
rows a pull must write (client, history row, binding).

Figures: requests made (the minimum is records / 200), records per second, the pull's peak
memory; the client's own CPU seconds (the pull process's user + system time: the sandbox
serving the pages is another process and not counted) and `cpu_ratio`, over the CPU of the raw
insert; `limit_ratio`, the wall time over the least the vendor's 100 calls a minute allow for
those requests, on the sandbox's clock. SYNC_BENCH_RECORDS changes N;
SYNC_BENCH_SECONDS_PER_MINUTE the length of a vendor minute (60: Zoho's real rate).
"""

import json
import math
import os
import time

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

RECORDS = int(os.environ.get("SYNC_BENCH_RECORDS", "50000"))
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_BENCH_SECONDS_PER_MINUTE", "60"))
PER_MINUTE = 100  # Zoho Books, per organisation (vendor-contracts.md)

PULL = (
    "import atexit, resource, runpy, sys\n"
    "usage = lambda: resource.getrusage(resource.RUSAGE_SELF)\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'PEAK_RSS_KB={usage().ru_maxrss} CPU_S={usage().ru_utime + usage().ru_stime:.3f}\\n'))\n"
    "sys.argv = ['manage.py', 'sync', 'run', '--entity', 'clients', '--direction', 'pull']\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)

RAW_INSERT = """
import time
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from apps.clients.models import Client
from apps.sync.models import Binding
fields = ["name", "email", "phone", "mobile", "company", "billing_address", "active"]
pulled = list(Binding.objects.values_list("connection_id", "remote_id", "base_snapshot"))
rows = [Client(**values) for values in Client.objects.values(*fields)]
History = Client.history.model
content_type = ContentType.objects.get_for_model(Client)
now = timezone.now()
with transaction.atomic():
    started, cpu = time.perf_counter(), time.process_time()
    made = Client.objects.bulk_create(rows, batch_size=1000)
    History.objects.bulk_create(
        [History(id=c.pk, history_date=now, history_type="+", **{f: getattr(c, f) for f in fields},
                 created_at=now, updated_at=now) for c in made], batch_size=1000)
    Binding.objects.bulk_create(
        [Binding(connection_id=conn, entity="clients", content_type=content_type, object_id=c.pk,
                 remote_id=f"raw-{remote}", base_snapshot=base, status="synced", synced_at=now)
         for c, (conn, remote, base) in zip(made, pulled)], batch_size=1000)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    transaction.set_rollback(True)
print(f"RAW_INSERT_S={elapsed:.3f} RAW_CPU_S={cpu:.3f} ROWS={len(rows)}")
"""


def test_bench_sync_pull(tmp_path):
    # The sandbox's clock and ours run at the same rate (60: the real one), so the governor
    # paces the pull at the vendor's own limit and limit_ratio says how close it gets.
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.manage("migrate", "--noinput")
    try:
        stack.books_ready(seconds_per_minute=SECONDS_PER_MINUTE, contacts=RECORDS)

        started = time.perf_counter()
        done = stack.run_python(PULL)
        elapsed = time.perf_counter() - started
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        run = summary["runs"][0]
        assert summary["ok"] and run["created"] == RECORDS, summary
        peak_kb = int(done.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
        client_cpu_s = float(done.stderr.rsplit("CPU_S=", 1)[1].split()[0])

        raw = stack.python(RAW_INSERT)
        raw_s = float(raw.rsplit("RAW_INSERT_S=", 1)[1].split()[0])
        raw_cpu_s = float(raw.rsplit("RAW_CPU_S=", 1)[1].split()[0])
    finally:
        stack.stop()
    # The least time R calls take at 100 a minute: every full window but the last is waited out.
    floor_s = max(1.0, (math.ceil(run["requests"] / PER_MINUTE) - 1) * SECONDS_PER_MINUTE)
    emit(
        "sync_pull",
        records=RECORDS,
        requests=run["requests"],
        records_per_s=round(RECORDS / elapsed),
        peak_rss_mb=round(peak_kb / 1024, 1),
        raw_insert_s=round(raw_s, 2),
        ratio=round(elapsed / raw_s, 2),
        client_cpu_s=round(client_cpu_s, 2),
        cpu_ratio=round(client_cpu_s / raw_cpu_s, 2),
        limit_ratio=round(elapsed / floor_s, 2),
    )
