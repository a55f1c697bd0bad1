"""hostile_vendor: what a hostile vendor answer costs the transport over real loopback HTTP — the
wall time of a slow drip against the total deadline, and the peak memory (tracemalloc) of a
50 MB answer against the body size limit."""

import time
import tracemalloc

import pytest

from apps.sync.engine.records import TransientError
from apps.sync.engine.transport import CallContext, HttpClient, ResponseTooLarge
from tests.benchmarks.report import emit
from tests.sync.hostile_server import HostileServer, huge_body, slow_drip

BODY = 50 * 1024 * 1024


@pytest.mark.django_db
def test_bench_hostile_vendor(settings):
    settings.SYNC_HTTP_TIMEOUT = 30.0
    settings.SYNC_HTTP_DEADLINE = 5.0
    settings.SYNC_HTTP_MAX_BODY_BYTES = 10 * 1024 * 1024
    client = HttpClient(context=CallContext())
    with HostileServer() as vendor:
        vendor.route("/drip", slow_drip(seconds=60, interval=1.0))
        vendor.route("/huge", huge_body(BODY, declare_length=False))
        started = time.monotonic()
        with pytest.raises(TransientError):
            client.request("GET", f"{vendor.url}/drip")
        drip_s = time.monotonic() - started

        tracemalloc.start()
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge):
            client.request("GET", f"{vendor.url}/huge")
        huge_s = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    emit(
        "hostile_vendor",
        drip_answer_s=60,
        deadline_s=settings.SYNC_HTTP_DEADLINE,
        drip_cut_after_s=round(drip_s, 2),
        body_mb=BODY // (1024 * 1024),
        limit_mb=settings.SYNC_HTTP_MAX_BODY_BYTES // (1024 * 1024),
        body_refused_after_s=round(huge_s, 3),
        body_peak_traced_mb=round(peak / (1024 * 1024), 1),
    )
