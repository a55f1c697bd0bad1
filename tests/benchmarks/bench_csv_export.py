"""csv_export: 100,000 invoices (one line each) exported by `manage.py export_data invoices`
(the code behind the admin's Export: chunked reads, streamed writing) in a process of its own,
first at 10,000 invoices, then at 100,000. Figures: seconds and rows per second at 100,000, and
each run's peak memory (the process's maximum resident set): flat when the export streams.
CSV_EXPORT_BENCH_ROWS changes the larger N (the smaller is a tenth of it).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.report import emit

ROOT = Path(__file__).resolve().parents[2]
ROWS = int(os.environ.get("CSV_EXPORT_BENCH_ROWS", "100000"))
SMALL = ROWS // 10

ADD_INVOICES = """
import django, sys
django.setup()
from decimal import Decimal
from django.db import connection, transaction
from apps.invoices.models import Invoice, InvoiceLine
from tests.quotes.admin_data import bulk_invoices
start, count = int(sys.argv[1]), int(sys.argv[2])
with transaction.atomic():
    invoices = bulk_invoices(count, start=start, batch_size=5000)
    InvoiceLine.objects.bulk_create(
        (InvoiceLine(invoice_id=invoice.pk, name="Sworn translation",
                     description="Birth certificate, Afrikaans to English", quantity=Decimal("1"),
                     rate=Decimal("100.00"), tax_rate=Decimal("15"), amount=Decimal("100.00"),
                     tax_amount=Decimal("15.00"))
         for invoice in invoices),
        batch_size=5000,
    )
print(Invoice.objects.count())
"""

# The peak is the kernel's high-water mark of the resident set (VmHWM), reset once Django is
# loaded (writing 5 to /proc/self/clear_refs), so that it is the export's own.
EXPORT = """
import json, re, time, django
django.setup()
from django.core.management import call_command
def status(name):
    return int(re.search(name + r":\\s+(\\d+)", open("/proc/self/status").read())[1])
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
started = time.perf_counter()
call_command("export_data", "invoices", "--output", "/dev/null")
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "before_kb": before, "peak_kb": status("VmHWM")}))
"""


def run(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_bench_csv_export(tmp_path):
    shm = Path("/dev/shm")  # noqa: S108 - a private directory in memory, removed afterwards
    base = Path(tempfile.mkdtemp(dir=shm)) if os.access(shm, os.W_OK) else tmp_path
    try:
        env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"sqlite:///{base / 'export.sqlite3'}",
        }
        run(env, "manage.py", "migrate", "--noinput")
        assert int(run(env, "-c", ADD_INVOICES, "1", str(SMALL))) == SMALL
        small = json.loads(run(env, "-c", EXPORT))
        assert int(run(env, "-c", ADD_INVOICES, str(SMALL + 1), str(ROWS - SMALL))) == ROWS
        big = json.loads(run(env, "-c", EXPORT))
    finally:
        if base != tmp_path:
            shutil.rmtree(base, ignore_errors=True)
    emit(
        "csv_export",
        rows=ROWS,
        seconds=round(big["seconds"], 2),
        rows_per_s=round(ROWS / big["seconds"]),
        peak_rss_mb=round(big["peak_kb"] / 1024, 1),
        rows_small=SMALL,
        seconds_small=round(small["seconds"], 2),
        peak_rss_mb_small=round(small["peak_kb"] / 1024, 1),
        growth_mb=round((big["peak_kb"] - big["before_kb"]) / 1024, 1),
        growth_mb_small=round((small["peak_kb"] - small["before_kb"]) / 1024, 1),
    )
