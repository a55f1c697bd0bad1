"""push_xero: N new invoices (one line each, 50 clients already in Xero) pushed to one Xero
organisation (the sandbox in its own web server process, enforcing Xero's 60 calls a minute,
5 at once and 5,000 a day on its clock) by `manage.py sync run --direction push` (its own
process), in batches (engine/batch.py): one PUT of up to 50 invoices, summarizeErrors=false,
each element matched by its InvoiceNumber.

SYNC_BENCH_XERO_RECORDS changes N (10,000); SYNC_BENCH_XERO_ENTITY=contacts pushes N new
contacts instead, =quotes N sent quotes (one line each, the 50 clients in Xero), =payments N
payments, two on each of N/2 sent invoices already in Xero (pushed before the clock starts);
SYNC_BENCH_SECONDS_PER_MINUTE the length of a vendor minute (60 by default, Xero's own: 200
calls need at least three minutes, so the push takes about four).

Figures: vendor calls per record (`calls_per_record`, the aim at most 0.03, for payments 0.05:
each batch of 50 also reads its invoices once), `reads` (the GETs among them), the 429s Xero
answered (`r429`, the aim 0), the push's seconds and `limit_ratio`, its wall time over the
least Xero's 60 calls a minute allow for those calls, on the same clock (the aim at most 1.2).
"""

import math
import os
import time

import pytest

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

RECORDS = int(os.environ.get("SYNC_BENCH_XERO_RECORDS", "10000"))
ENTITY = os.environ.get("SYNC_BENCH_XERO_ENTITY", "invoices")
SECONDS_PER_MINUTE = float(os.environ.get("SYNC_BENCH_SECONDS_PER_MINUTE", "60"))
CLIENTS = 50
PER_MINUTE = 60  # Xero, per organisation (vendor-contracts.md §4.8)

ONE_ORGANISATION = """
from apps.sync.models import Connection
# The sandbox login reaches two organisations: the first one is pushed to, as "Xero".
connection = Connection.objects.filter(provider="xero").order_by("id").first()
Connection.objects.filter(provider="xero").exclude(pk=connection.pk).delete()
Connection.objects.filter(pk=connection.pk).update(name="Xero")
print("TENANT", connection.remote_account_id)
"""

QUEUE_INVOICES = """
from decimal import Decimal
from apps.clients.models import Client
from apps.invoices.services import invoice_create
from apps.sync.engine import outbox
outbox._kick = lambda: None  # the push below is the only sender
clients = list(Client.objects.order_by("id"))
for n in range(RECORDS):
    invoice_create(client=clients[n % len(clients)], lines=[
        {"name": f"Consulting {n}", "quantity": Decimal("3"), "rate": Decimal("33.33")}])
print("QUEUED", RECORDS)
"""

QUEUE_QUOTES = """
from apps.clients.models import Client
from apps.quotes import services
from apps.sync.engine import outbox
from apps.users.roles import AGENT
from apps.users.services import user_provision
outbox._kick = lambda: None  # the push below is the only sender
agent = user_provision(email="bench-agent@example.com", password="Bench-pass-1234", role=AGENT)
clients = list(Client.objects.order_by("id"))
for n in range(RECORDS):
    quote = services.quote_create(created_by=agent, client=clients[n % len(clients)])
    services.quote_line_add(quote=quote, name=f"Survey {n}", quantity="3", rate="33.333")
    services.quote_send(quote=quote)
print("QUEUED", RECORDS)
"""

# Sent invoices, created sent (status set without the signal): each is created AUTHORISED in
# Xero by the pre-push, with no status move of its own to wait out at 60 calls a minute.
QUEUE_OPEN_INVOICES = """
from decimal import Decimal
from apps.clients.models import Client
from apps.invoices.models import Invoice
from apps.invoices.services import invoice_create
from apps.sync.engine import outbox
outbox._kick = lambda: None
clients = list(Client.objects.order_by("id"))
ids = [invoice_create(client=clients[n % len(clients)], lines=[
    {"name": f"Consulting {n}", "quantity": Decimal("3"), "rate": Decimal("33.33")}]).pk
    for n in range(RECORDS)]
Invoice.objects.filter(pk__in=ids).update(status=Invoice.Status.SENT)
print("QUEUED", RECORDS)
"""

QUEUE_PAYMENTS = """
from decimal import Decimal
from apps.invoices.models import Invoice
from apps.invoices.services import payment_record
from apps.sync.engine import outbox
outbox._kick = lambda: None  # the push below is the only sender
invoices = list(Invoice.objects.order_by("id"))
for n in range(RECORDS):
    payment_record(invoice=invoices[n // 2], amount=Decimal("40.00"), reference=f"EFT {n}")
print("QUEUED", RECORDS)
"""

QUEUE_CONTACTS = """
from apps.clients.models import Client
from apps.sync.engine import outbox
from apps.sync.models import Connection
outbox._kick = lambda: None  # the push below is the only sender
connection = Connection.objects.get(name="Xero")
Client.objects.bulk_create(
    [Client(name=f"Pushed contact {n:05d}", email=f"pushed{n:05d}@example.com")
     for n in range(RECORDS)], batch_size=1000)
queued = outbox.outbox_enqueue_many(
    connection=connection, entity="clients", objs=list(Client.objects.order_by("id")))
print("QUEUED", queued)
"""


# entity -> (the outbox entity, the sandbox table of what is pushed)
PUSHED = {
    "invoices": ("invoices", "xeroinvoice"),
    "contacts": ("clients", "xerocontact"),
    "quotes": ("quotes", "xeroquote"),
    "payments": ("payments", "xeropayment"),
}


def remote_count(stack, tenant: str) -> int:
    """The organisation's pushed records (invoices, contacts, quotes, payments) in the sandbox."""
    table = PUSHED[ENTITY][1]
    return stack.query(
        f"SELECT COUNT(*) FROM sandbox_xero_{table} r JOIN sandbox_xero_xerotenant t "  # noqa: S608
        "ON r.tenant_id = t.id WHERE t.tenant_id = ?",
        (tenant.replace("-", ""),),
    )[0][0]


@pytest.mark.timeout(3600)
def test_bench_push_xero(tmp_path):
    stack = Stack(scratch_directory(tmp_path), clock_scale=SECONDS_PER_MINUTE / 60)
    stack.migrate()
    try:
        refresh_token = stack.seed()["xero"]["refresh_token"]
        stack.start_server()
        connect = ["sync", "connect", "xero", "--refresh-token", refresh_token, "--name", "Xero"]
        if ENTITY == "payments":
            connect += ["--bank-account", "090"]  # where Xero payments go (a bank account)
        stack.manage(*connect)
        tenant = stack.python(ONE_ORGANISATION).rsplit("TENANT", 1)[1].split()[0]
        if ENTITY != "contacts":
            # The documents' clients are in Xero already (one batch, before the clock starts).
            stack.python(QUEUE_CONTACTS.replace("RECORDS", str(CLIENTS)))
            stack.manage("sync", "run", "--direction", "push", "--connection", "Xero")
        if ENTITY == "payments":
            # Their invoices too (RECORDS / 2, two payments each), before the clock starts.
            stack.manage(
                "shell",
                "-c",
                QUEUE_OPEN_INVOICES.replace("RECORDS", str(math.ceil(RECORDS / 2))),
                timeout=3600,
            )
            stack.manage("sync", "run", "--direction", "push", "--connection", "Xero", timeout=3600)
        queue = {
            "invoices": QUEUE_INVOICES,
            "contacts": QUEUE_CONTACTS,
            "quotes": QUEUE_QUOTES,
            "payments": QUEUE_PAYMENTS,
        }[ENTITY]
        queued = stack.manage("shell", "-c", queue.replace("RECORDS", str(RECORDS)), timeout=3600)
        assert f"QUEUED {RECORDS}" in queued, queued
        stack.python(
            "from apps.sandbox import clock; "
            f"clock.clock_set(vendor='xero', account='{tenant}', "
            f"seconds_per_minute={SECONDS_PER_MINUTE})"
        )
        before = stack.last_call_id()
        remote_before = remote_count(stack, tenant)

        started = time.perf_counter()
        stack.manage("sync", "run", "--direction", "push", "--connection", "Xero", timeout=3600)
        elapsed = time.perf_counter() - started

        calls, r429 = stack.calls_since(before)
        reads = stack.query(
            "SELECT COUNT(*) FROM sync_synclog WHERE id > ? AND method = 'GET'", (before,)
        )[0][0]
        pushed = stack.query(
            "SELECT COUNT(*) FROM sync_outboxitem WHERE status = 'done' AND entity = ?",
            (PUSHED[ENTITY][0],),
        )[0][0]
        remote = remote_count(stack, tenant)
    finally:
        stack.stop()
    assert pushed == RECORDS, pushed
    assert remote - remote_before == RECORDS, (remote, remote_before)
    # The least time C calls take at 60 a minute: every full window but the last is waited out.
    floor_s = max(1.0, (math.ceil(calls / PER_MINUTE) - 1) * SECONDS_PER_MINUTE)
    emit(
        "push_xero",
        records=RECORDS,
        entity=ENTITY,
        calls=calls,
        calls_per_record=round(calls / RECORDS, 4),
        reads=reads,
        r429=r429,
        seconds=round(elapsed, 1),
        floor_s=round(floor_s, 1),
        limit_ratio=round(elapsed / floor_s, 2),
    )
