"""Two worker processes pushing to one Xero tenant share one budget: zero 429s from the sandbox
and at least 90% of the allowed rate. Whole processes, real HTTP, the sandbox clock scaled."""

from datetime import datetime

import pytest

from tests.sync.stack import Stack, scratch_directory

SECONDS_PER_MINUTE = 8.0  # one Xero minute (60 calls) lasts 8 real seconds
PUSHES = 150  # two and a half vendor minutes' worth

ENQUEUE = """
from apps.clients.models import Client
from apps.sync.engine import outbox
from apps.sync.models import Connection, ConnectionStatus
outbox._kick = lambda: None  # the two workers below do the sending
target = Connection.objects.get(remote_account_id="{tenant}")
Connection.objects.exclude(pk=target.pk).update(status=ConnectionStatus.DISABLED)
Client.objects.bulk_create([Client(name=f"Worker push {{n:04d}}") for n in range({count})])
for client in Client.objects.all():
    outbox.outbox_enqueue(connection=target, entity="clients", obj=client)
print(target.name)
"""


@pytest.fixture
def stack(tmp_path):
    running = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    running.migrate()
    yield running
    running.stop()


def test_two_workers_get_no_429_and_reach_90_percent_of_the_rate(stack):
    xero = stack.seed()["xero"]
    tenant = xero["tenants"][0]["tenant_id"]
    stack.vendor_minute_set(vendor="xero", account=tenant, seconds=SECONDS_PER_MINUTE)
    stack.start_server()
    stack.manage("sync", "connect", "xero", "--refresh-token", xero["refresh_token"])
    name = stack.python(ENQUEUE.format(tenant=tenant, count=PUSHES)).strip().splitlines()[-1]

    # One contact a call: the governor, not batching, is what this measures.
    stack.env["SYNC_XERO_BATCH_SIZE"] = "1"
    workers = [
        stack.spawn("sync", "run", "--connection", name, "--direction", "push") for _ in range(2)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]

    done = stack.query("SELECT COUNT(*) FROM sync_outboxitem WHERE status = 'done'")[0][0]
    assert done == PUSHES
    statuses = dict(
        stack.query(
            "SELECT status_code, COUNT(*) FROM sync_synclog"
            " WHERE url LIKE '%/api.xro/2.0/Contacts%' GROUP BY status_code"
        )
    )
    assert statuses == {200: PUSHES}  # every create went through first time: no 429 at all
    times = sorted(
        datetime.fromisoformat(row[0])
        for row in stack.query(
            "SELECT created_at FROM sync_synclog WHERE url LIKE '%/api.xro/2.0/Contacts%'"
        )
    )
    # Sustained rate: how long 60 consecutive calls take, against one vendor minute. A sliding
    # limit of 60 per minute means call i+60 may start one minute after call i, no sooner.
    spans = [(times[i + 60] - times[i]).total_seconds() for i in range(len(times) - 60)]
    share = SECONDS_PER_MINUTE / (sum(spans) / len(spans))
    print(f"two workers, one Xero tenant: {share:.1%} of the allowed rate, no 429")
    assert share >= 0.9, share
