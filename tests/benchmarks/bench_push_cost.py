"""push_cost: 1,000 client updates pushed to Zoho Books (the sandbox in its own web server
process, enforcing Books' 100 calls a minute on its clock) by `manage.py sync run --direction
push` (its own process).

Figures: vendor calls per pushed update (`calls_per_record`: the PUTs, plus the list pages that
refresh the bases; the aim is at most 1.05), the 429s the vendor answered (`r429`, the aim 0),
the push's seconds and `limit_ratio`, its wall time over the least the vendor's limit allows for
those calls. SYNC_BENCH_UPDATES changes N; SYNC_BENCH_SECONDS_PER_MINUTE the length of a vendor
minute (1 by default, so the run takes seconds, not the ten real minutes 1,000 calls need).
"""

import math
import os
import time

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

UPDATES = int(os.environ.get("SYNC_BENCH_UPDATES", "1000"))
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_BENCH_SECONDS_PER_MINUTE", "1"))
PER_MINUTE = 100

EDIT_EVERY_CLIENT = """
from apps.clients.models import Client
from apps.clients.services import client_update
from apps.sync.engine import outbox
outbox._kick = lambda: None  # the push below is the only sender
for index, client in enumerate(Client.objects.order_by("id")):
    client_update(client=client, data={"phone": f"082 555 {index:04d}"})
print("EDITED", Client.objects.count())
"""


def test_bench_push_cost(tmp_path):
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.migrate()
    try:
        stack.books_ready(seconds_per_minute=SECONDS_PER_MINUTE, contacts=UPDATES)
        stack.manage("sync", "run", "--entity", "clients", "--direction", "pull")
        assert f"EDITED {UPDATES}" in stack.python(EDIT_EVERY_CLIENT)
        before = stack.last_call_id()

        started = time.perf_counter()
        stack.manage("sync", "run", "--direction", "push", "--connection", "Books")
        elapsed = time.perf_counter() - started

        calls, r429 = stack.calls_since(before)
        pushed = stack.query(
            "SELECT COUNT(*) FROM sync_outboxitem WHERE operation = 'update' AND status = 'done'"
        )[0][0]
    finally:
        stack.stop()
    assert pushed == UPDATES, pushed
    floor_s = max(1.0, (math.ceil(calls / PER_MINUTE) - 1) * SECONDS_PER_MINUTE)
    emit(
        "push_cost",
        records=UPDATES,
        calls=calls,
        calls_per_record=round(calls / UPDATES, 3),
        r429=r429,
        seconds=round(elapsed, 1),
        limit_ratio=round(elapsed / floor_s, 2),
    )
