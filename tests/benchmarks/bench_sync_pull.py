"""sync_pull: 50,000 Zoho Books contacts from the sandbox (its own web server process) into an
empty database by `manage.py sync run`, against a plain bulk insert of the same rows.

Figures: requests made (the minimum is records / 200), records per second, the pull's peak
memory, the plain insert's seconds and the ratio of the two. SYNC_BENCH_RECORDS changes N.
"""

import json
import os
import time

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

RECORDS = int(os.environ.get("SYNC_BENCH_RECORDS", "50000"))

PULL = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'PEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "sys.argv = ['manage.py', 'sync', 'run', '--entity', 'clients', '--direction', 'pull']\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)

RAW_INSERT = """
import time
from django.db import transaction
from apps.clients.models import Client
fields = ["name", "email", "phone", "mobile", "company", "billing_address", "active"]
rows = [Client(**values) for values in Client.objects.values(*fields)]
with transaction.atomic():
    started = time.perf_counter()
    Client.objects.bulk_create(rows, batch_size=1000)
    elapsed = time.perf_counter() - started
    transaction.set_rollback(True)
print(f"RAW_INSERT_S={elapsed:.3f} ROWS={len(rows)}")
"""


def test_bench_sync_pull(tmp_path):
    # Vendor minutes of 0.2 real seconds: Books' 100 calls a minute allow 500 a second, so the
    # benchmark measures our engine, not the vendor's throttle (which the governor still obeys).
    stack = Stack(scratch_directory(tmp_path), clock_scale=0.2 / 60)
    stack.manage("migrate", "--noinput")
    try:
        seeded = stack.manage(
            "sandbox",
            "seed",
            "--contacts",
            str(RECORDS),
            "--items",
            "0",
            "--documents",
            "0",
            "--crm-contacts",
            "0",
            "--deals",
            "0",
            "--skip-xero",
        )
        zoho = json.loads(next(line for line in seeded.splitlines() if line.startswith("{")))
        stack.python(
            "from apps.sandbox import clock; "
            f"clock.clock_set(vendor='zoho', account='{zoho['organization_id']}', "
            "seconds_per_minute=0.2)"
        )
        stack.start_server()
        stack.manage(
            "sync",
            "connect",
            "zoho",
            "--refresh-token",
            zoho["refresh_token"],
            "--organization-id",
            zoho["organization_id"],
            "--name",
            "Books",
        )

        started = time.perf_counter()
        done = stack.run_python(PULL)
        elapsed = time.perf_counter() - started
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        run = summary["runs"][0]
        assert summary["ok"] and run["created"] == RECORDS, summary
        peak_kb = int(done.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])

        raw = stack.python(RAW_INSERT)
        raw_s = float(raw.rsplit("RAW_INSERT_S=", 1)[1].split()[0])
    finally:
        stack.stop()
    emit(
        "sync_pull",
        records=RECORDS,
        requests=run["requests"],
        records_per_s=round(RECORDS / elapsed),
        peak_rss_mb=round(peak_kb / 1024, 1),
        raw_insert_s=round(raw_s, 2),
        ratio=round(elapsed / raw_s, 2),
    )
