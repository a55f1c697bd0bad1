"""healthz: what one health probe costs (database, cache and broker round trips)."""

import pytest

from tests.benchmarks.report import count_queries, emit, median_ms


@pytest.mark.django_db
def test_bench_healthz(client):
    def probe():
        assert client.get("/healthz").status_code == 200

    with count_queries() as queries:
        probe()
    emit("healthz", median_ms=median_ms(probe, repeat=200), queries=len(queries))
