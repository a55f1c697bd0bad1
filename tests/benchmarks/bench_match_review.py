"""match_review: the cost of reviewing a first connection before it syncs. N Zoho Books contacts
in the sandbox (its own web server process), N/4 of them clients we already have (the same
e-mail in another letter case) plus N/20 of ours the books lack; each step is its own
`manage.py` process.

Figures: `review_s` and `review_requests`, reading the account into a plan (`sync connect
--review`, the connect itself included); `plan_s`, `sync plan` of the held first pull (the real
pull in its dry-run mode); `pull_s`, the approval with the first pull of clients it starts;
`review_ratio` and `plan_ratio`, each over `pull_s`; `links`, `creates` as the plan proposed
them and the pull made them. SYNC_BENCH_REVIEW_RECORDS changes N.
"""

import os
import time

from tests.benchmarks.report import emit
from tests.sync.stack import Stack, last_json, scratch_directory

RECORDS = int(os.environ.get("SYNC_BENCH_REVIEW_RECORDS", "5000"))

OURS = """
from apps.clients.models import Client
from apps.sandbox.zoho.models import BooksContact
emails = list(BooksContact.objects.order_by("id").values_list("email", flat=True)[: {mine}])
Client.objects.bulk_create(
    [Client(name=f"Ours {{n}}", email=e.upper(), active=True) for n, e in enumerate(emails)]
    + [Client(name=f"Only here {{n}}", email=f"here{{n}}@ours.test", active=True)
       for n in range({only})]
)
"""

APPROVE = """
from apps.sync.matching.models import MatchPlan
from apps.sync.matching.services import match_plan_apply
match_plan_apply(plan=MatchPlan.objects.get())
"""


def timed(stack: Stack, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = stack.manage(*args, timeout=1800)
    return time.perf_counter() - started, out


def test_bench_match_review(tmp_path):
    stack = Stack(scratch_directory(tmp_path))
    stack.migrate()
    try:
        zoho = stack.seed(contacts=RECORDS, skip_xero=True)["zoho"]
        stack.python(OURS.format(mine=RECORDS // 4, only=RECORDS // 20))
        stack.start_server()
        started = time.perf_counter()
        out = stack.books_connect(zoho, "--review", timeout=1800)
        review_s = time.perf_counter() - started
        counts = last_json(out)["reviews"][0]["entities"]["clients"]
        assert counts["link"] == RECORDS // 4, counts
        review_requests = stack.query("SELECT COUNT(*) FROM sync_synclog")[0][0]
        plan_s, out = timed(stack, "sync", "plan", "--entity", "clients", "--direction", "pull")
        planned = last_json(out)["plans"][0]["pull"][0]
        # Approving queues the first sync; the test settings run tasks at once (django-q2 sync),
        # so this process is the approval and the first pull of clients.
        pull_s, _ = timed(stack, "shell", "-c", APPROVE)
        linked, created = stack.query(
            "SELECT linked, created FROM sync_syncrun WHERE entity = 'clients' "
            "AND direction = 'pull' AND dry_run = 0 ORDER BY id DESC LIMIT 1"
        )[0]
        run = {"linked": linked, "created": created}
    finally:
        stack.stop()
    assert (run["linked"], run["created"]) == (counts["link"], counts["create"]), (run, counts)
    emit(
        "match_review",
        records=RECORDS,
        links=run["linked"],
        creates=run["created"],
        review_s=round(review_s, 2),
        review_requests=review_requests,
        plan_s=round(plan_s, 2),
        plan_creates=planned["created"],
        pull_s=round(pull_s, 2),
        review_ratio=round(review_s / pull_s, 2),
        plan_ratio=round(plan_s / pull_s, 2),
    )
