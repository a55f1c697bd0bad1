"""reconcile: `manage.py sync reconcile` (its own process) over N invoices in step with Zoho
Books (the sandbox in its own web server process), against the bare reads of the same list pages.

Figures: `documents`, the vendor `calls` it made and `call_ratio` (calls over ⌈N / 200⌉ + 1, the
invoice pages plus the one estimates page: 1.0 is the floor), `run_s` (the run's own start to
finish, from its row), `raw_s` (the same pages fetched with plain `requests`, nothing parsed or
compared; each the best of two, alternated), `ratio` (run_s / raw_s: what validating,
comparing and storing costs over the reads), and `differences` (0: everything is in step).
SYNC_BENCH_RECONCILE_DOCS changes N.
"""

import math
import os
from datetime import datetime

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, last_json, scratch_directory

DOCUMENTS = int(os.environ.get("SYNC_BENCH_RECONCILE_DOCS", "2000"))

SET_UP = """
from apps.clients.models import Client
from apps.sandbox.zoho import books
from apps.sandbox.zoho.models import ZohoOrganization
from apps.sync.engine import outbox
from apps.sync.engine.bindings import binding_bind
from apps.sync.engine.records import RemoteRecord
from apps.sync.models import Connection
from tests.sync.reconcile_setup import invoices_in_step
outbox._kick = lambda: None  # nothing is pushed here
connection = Connection.objects.get(provider="zoho_books")
organization = ZohoOrganization.objects.get(organization_id=connection.remote_account_id)
customer = books.contact_create(
    organization=organization, data={"contact_name": "Bench client", "email": "b@example.com"}
)
client = Client.objects.create(name="Bench client", email="b@example.com")
binding_bind(connection, "clients", client.pk, record=RemoteRecord(
    remote_id=customer.contact_id, number="", modified_at=None, data={}))
made = invoices_in_step(connection=connection, client=client, customer=customer, count=COUNT)
print("MADE", len(made))
"""

RAW_READ = """
import time, requests
from apps.sync.engine.tokens import access_token
from apps.sync.models import Connection
connection = Connection.objects.select_related("credential").get(provider="zoho_books")
token, api_domain = access_token(connection.credential_id)
base = api_domain.rstrip("/") + "/books/v3"
session = requests.Session()
headers = {"Authorization": f"Zoho-oauthtoken {token}"}
started = time.perf_counter()
for resource in ("invoices", "estimates"):
    page = 1
    while True:
        answer = session.get(f"{base}/{resource}", headers=headers, timeout=60, params={
            "organization_id": connection.remote_account_id, "page": page, "per_page": 200})
        answer.raise_for_status()
        if not answer.json()["page_context"]["has_more_page"]:
            break
        page += 1
print("RAW", time.perf_counter() - started)
"""


def test_bench_reconcile(tmp_path):
    stack = Stack(scratch_directory(tmp_path))
    stack.migrate()
    try:
        stack.books_ready()
        assert f"MADE {DOCUMENTS}" in stack.python(SET_UP.replace("COUNT", str(DOCUMENTS)))
        runs, raws = [], []
        for _ in range(2):  # alternated, and the best of each kept: the machine is shared
            before = stack.last_call_id()
            summary = last_json(stack.manage("sync", "reconcile", "--connection", "Books"))
            calls, _ = stack.calls_since(before)
            started, finished = stack.query(
                "SELECT started_at, finished_at FROM sync_reconcilerun ORDER BY id DESC LIMIT 1"
            )[0]
            runs.append(
                (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
            )
            raw = stack.python(RAW_READ)
            raws.append(float(next(x for x in raw.splitlines() if x.startswith("RAW")).split()[1]))
    finally:
        stack.stop()
    run_s, raw_s = min(runs), min(raws)
    assert summary["checked"] == DOCUMENTS and summary["differences"] == [], summary
    floor = math.ceil(DOCUMENTS / 200) + 1
    emit(
        "reconcile",
        documents=DOCUMENTS,
        calls=calls,
        call_ratio=round(calls / floor, 2),
        run_s=round(run_s, 2),
        raw_s=round(raw_s, 2),
        ratio=round(run_s / raw_s, 2),
        differences=len(summary["differences"]),
    )
