"""The chaos run at CI size: 2 worker processes (`manage.py qcluster`, production settings) on
PostgreSQL and Redis, 500 changes made through the domain services while the sandbox (its own
gunicorn and database) times out a fifth of writes after committing them, answers 5% with 503
and throws a 429 storm, on the sandbox's scaled clock (a vendor minute per real second) with a
half-second client timeout; one worker is killed with SIGKILL mid-run and started again. The
vendor's own tables must then hold each document once: nothing duplicated, nothing lost, the
documents in the order they were queued. `make chaos` is the same at 10,000 changes."""

import os
import shutil
from urllib.parse import urlsplit

import pytest

from tests.chaos.harness import Chaos, Options

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.skipif(
        not DATABASE_URL.startswith(("postgres://", "postgresql://")),
        reason="the chaos run needs PostgreSQL (several worker processes on one database "
        "server; SQLite serialises writers): set DATABASE_URL to run it",
    ),
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="the chaos run starts its own redis-server, which is not on PATH",
    ),
]


@pytest.mark.timeout(1500)
def test_two_workers_one_sigkill_500_changes_no_duplicate_nothing_lost():
    name = urlsplit(DATABASE_URL).path.lstrip("/") or "syncdesk"
    lines: list[str] = []
    chaos = Chaos(
        Options(
            changes=500,
            workers=2,
            broker="redis",
            kills=1,
            first_kill_after=6.0,
            database_url=DATABASE_URL,
            prefix=f"{name}_chaos_ci",
            drain_timeout=1200,
            log=lines.append,
        )
    )
    try:
        chaos.setup()
        result = chaos.run()
    finally:
        chaos.close()
    report = "\n".join([*lines, *result["problems"]])
    assert result["kills"] == 1, report
    assert result["changes"] == 500
    assert result["duplicates"] == 0, report
    assert result["lost"] == 0, report
    assert result["order_violations"] == 0, report
    assert result["unfinished"] == 0, report
    # Each change is one vendor document (a contact, an item, an estimate, an invoice, a
    # payment) or a move of one (accepted, sent): the vendor holds one per create.
    made = result["made"]
    creates = made["client"] + made["services"] + made["quote_sent"]
    creates += made["invoice"] + made["payment"]
    assert result["remote_documents"] == creates, report
