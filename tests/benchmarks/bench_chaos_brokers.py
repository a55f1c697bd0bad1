"""chaos_brokers: django-q2's ORM broker against its Redis broker under the chaos run
(tests/chaos/harness.py): 3 qcluster workers, SIGKILL every 5 s while the driver makes
SYNC_BENCH_CHAOS_CHANGES changes (500 by default), the faulty sandbox in its own process. Both
runs go at once, so they share the machine's load; the figures are each run's seconds from the
first change to an empty queue, their ratio, and what each left wrong (duplicates, lost, order
violations, dead letters), which must be 0 for either broker: the outbox row is the record and
the broker only wakes workers. Needs PostgreSQL (DATABASE_URL) and redis-server on PATH."""

import os
import threading
from urllib.parse import urlsplit

import pytest

from tests.benchmarks.report import emit
from tests.chaos.harness import Chaos, Options

CHANGES = int(os.environ.get("SYNC_BENCH_CHAOS_CHANGES", "500"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")


@pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql://")),
    reason="the chaos run needs PostgreSQL: set DATABASE_URL",
)
def test_bench_chaos_brokers():
    name = urlsplit(DATABASE_URL).path.lstrip("/") or "syncdesk"
    results: dict[str, dict] = {}

    def one(broker: str) -> None:
        chaos = Chaos(
            Options(
                changes=CHANGES,
                workers=3,
                broker=broker,
                database_url=DATABASE_URL,
                prefix=f"{name}_bench_{broker}",
                log=lambda line: None,
            )
        )
        try:
            chaos.setup()
            results[broker] = chaos.run()
        finally:
            chaos.close()

    # The template database first, so the two runs do not both migrate it.
    first = Chaos(Options(database_url=DATABASE_URL, prefix=f"{name}_bench_t"))
    first.template()
    first.close()
    runs = [threading.Thread(target=one, args=(broker,)) for broker in ("orm", "redis")]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    figures = {
        f"{broker}_{key}": results[broker][key]
        for broker in ("orm", "redis")
        for key in ("seconds", "duplicates", "lost", "order_violations", "dead_letters")
    }
    emit(
        "chaos_brokers",
        changes=CHANGES,
        **figures,
        redis_over_orm=round(results["redis"]["seconds"] / results["orm"]["seconds"], 3),
    )
    for broker in ("orm", "redis"):
        assert results[broker]["duplicates"] == results[broker]["lost"] == 0
