"""xero_sandbox_batches: how fast the sandbox's Xero serves batched invoice writes (the sandbox in
its own web server process, over real HTTP), so a push benchmark knows the vendor side is not its
bottleneck: 20 PUTs of 50 ACCREC invoices (3 lines each, summarizeErrors=false, one
Idempotency-Key each), then the lookup of all 1,000 by InvoiceNumbers= in pages of 50 numbers.

Figures: `batch_s` (median seconds per 50-invoice PUT), `invoices_per_s` over the writes,
`lookup_s` (median seconds per 50-number lookup) and `calls` as the sandbox counted them (one per
request, however many elements). SYNC_BENCH_BATCHES / SYNC_BENCH_BATCH_SIZE change the sizes.
"""

import json
import os
import statistics
import time
import uuid

import requests

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, scratch_directory

BATCHES = int(os.environ.get("SYNC_BENCH_BATCHES", "20"))
SIZE = int(os.environ.get("SYNC_BENCH_BATCH_SIZE", "50"))


def _invoice(contact_id: str, number: str) -> dict:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": number,
        "Reference": f"REF-{number}",
        "Date": "2026-03-01",
        "DueDate": "2026-03-31",
        "Status": "AUTHORISED",
        "LineItems": [
            {"ItemCode": "SRV-001", "Quantity": 3, "AccountCode": "200", "TaxType": "OUTPUT"},
            {"Description": "Set-up", "Quantity": 1, "UnitAmount": "99.99", "AccountCode": "200"},
            {
                "Description": "Travel",
                "Quantity": 2,
                "UnitAmount": "12.50",
                "DiscountRate": "33.33",
                "AccountCode": "200",
            },
        ],
    }


def test_bench_xero_sandbox_batches(tmp_path):
    stack = Stack(scratch_directory(tmp_path))
    stack.migrate()
    try:
        seeded = stack.manage(
            "sandbox", "seed", "--contacts", "0", "--items", "0", "--documents", "0",
            "--crm-contacts", "0", "--deals", "0",
        )  # fmt: skip
        xero = next(
            json.loads(line)
            for line in seeded.splitlines()
            if line.startswith("{") and '"xero"' in line
        )
        tenant = xero["tenants"][0]["tenant_id"]
        # Lift the tenant's limits: this measures serving, not throttling.
        stack.python(
            "import django; django.setup(); "
            "from apps.sandbox.xero.models import XeroTenant; "
            f"XeroTenant.objects.filter(tenant_id='{tenant}')"
            ".update(minute_limit=100000, day_limit=100000)"
        )
        stack.start_server()
        api = f"http://127.0.0.1:{stack.port}/sandbox/xero/api/api.xro/2.0"
        session = requests.Session()
        session.headers.update(
            {
                "Authorization": f"Bearer {xero['access_token']}",
                "xero-tenant-id": tenant,
                "Accept": "application/json",
            }
        )
        contacts = session.get(f"{api}/Contacts", timeout=30).json()["Contacts"]
        contact_id = contacts[0]["ContactID"]
        writes, numbers = [], []
        for batch in range(BATCHES):
            chunk = [f"BENCH-{batch:03d}-{n:03d}" for n in range(SIZE)]
            numbers += chunk
            started = time.perf_counter()
            answer = session.put(
                f"{api}/Invoices",
                params={"summarizeErrors": "false"},
                json={"Invoices": [_invoice(contact_id, number) for number in chunk]},
                headers={"Idempotency-Key": str(uuid.uuid4())},
                timeout=120,
            )
            writes.append(time.perf_counter() - started)
            rows = answer.json()["Invoices"]
            assert answer.status_code == 200
            assert [r["StatusAttributeString"] for r in rows] == ["OK"] * SIZE, rows[0]
        lookups = []
        for start in range(0, len(numbers), 50):
            started = time.perf_counter()
            answer = session.get(
                f"{api}/Invoices",
                params={"InvoiceNumbers": ",".join(numbers[start : start + 50]), "pageSize": 100},
                timeout=60,
            )
            lookups.append(time.perf_counter() - started)
            assert len(answer.json()["Invoices"]) == len(numbers[start : start + 50])
        counted = json.loads(stack.manage("sandbox", "calls", "xero", tenant).splitlines()[-1])
    finally:
        stack.stop()
    requests_made = 1 + BATCHES + len(lookups)
    assert counted["calls"] == requests_made, counted
    emit(
        "xero_sandbox_batches",
        invoices=BATCHES * SIZE,
        batch_size=SIZE,
        batch_s=round(statistics.median(writes), 3),
        invoices_per_s=round(BATCHES * SIZE / sum(writes), 1),
        lookup_s=round(statistics.median(lookups), 3),
        calls=counted["calls"],
    )
