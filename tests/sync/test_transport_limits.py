"""The transport's limits against a hostile vendor over real loopback HTTP (issue 11, items 4
and 9): a total deadline per call, a body size limit read in chunks, no cross-host redirect."""

import time
import tracemalloc

import pytest

from apps.sync.engine.records import Rejected, TransientError
from apps.sync.engine.transport import CallContext, HttpClient, ResponseTooLarge
from apps.sync.models import SyncLog
from tests.sync.hostile_server import (
    HostileServer,
    huge_body,
    json_answer,
    redirect_to,
    slow_drip,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor():
    with HostileServer() as server:
        yield server


def client() -> HttpClient:
    return HttpClient(context=CallContext())


def test_a_slow_drip_is_cut_at_the_total_deadline(vendor, settings):
    settings.SYNC_HTTP_TIMEOUT = 2.0  # each byte arrives well within the per-read timeout
    settings.SYNC_HTTP_DEADLINE = 1.0
    vendor.route("/drip", slow_drip(seconds=8, interval=0.1))
    started = time.monotonic()
    with pytest.raises(TransientError) as raised:
        client().request("GET", f"{vendor.url}/drip")
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed  # not the 8 s the drip would last
    assert "SYNC_HTTP_DEADLINE" in raised.value.message
    assert not raised.value.uncertain  # a GET changes nothing at the vendor
    log = SyncLog.objects.get()
    assert log.error_kind == "TransientError"


def test_a_stalled_answer_ends_at_the_deadline_not_after_a_full_read_timeout(vendor, settings):
    settings.SYNC_HTTP_TIMEOUT = 30.0
    settings.SYNC_HTTP_DEADLINE = 1.0
    vendor.route("/stall", slow_drip(seconds=10, interval=5))
    started = time.monotonic()
    with pytest.raises(TransientError):
        client().request("POST", f"{vendor.url}/stall", json_body={"x": 1})
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_huge_body_is_refused_without_reading_it_whole(vendor, settings, declare_length):
    settings.SYNC_HTTP_MAX_BODY_BYTES = 1024 * 1024
    vendor.route("/huge", huge_body(50 * 1024 * 1024, declare_length=declare_length))
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as raised:
            client().request("GET", f"{vendor.url}/huge")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "SYNC_HTTP_MAX_BODY_BYTES" in raised.value.message
    assert peak < 8 * 1024 * 1024, peak  # the 50 MB answer was never held in memory
    assert SyncLog.objects.get().error_kind == "ResponseTooLarge"


def test_a_body_within_the_limit_is_read(vendor, settings):
    settings.SYNC_HTTP_MAX_BODY_BYTES = 1024 * 1024
    vendor.route("/ok", json_answer({"contacts": [{"contact_id": "1"}]}))
    assert client().request("GET", f"{vendor.url}/ok").json() == {"contacts": [{"contact_id": "1"}]}


def test_a_redirect_to_another_host_is_refused(vendor):
    with HostileServer() as elsewhere:
        elsewhere.route("/contacts", json_answer({"contacts": [], "page_context": {}}))
        vendor.route("/contacts", redirect_to(f"{elsewhere.url}/contacts"))
        with pytest.raises(Rejected) as raised:
            client().request("GET", f"{vendor.url}/contacts")
    assert "redirected the call to 127.0.0.1:" in raised.value.message
    assert raised.value.status == 302


def test_a_redirect_on_the_same_host_is_followed_but_a_post_is_not_turned_into_a_get(vendor):
    vendor.route("/old", redirect_to("/new", status=301))
    vendor.route("/new", json_answer({"moved": True}))
    assert client().request("GET", f"{vendor.url}/old").json() == {"moved": True}
    with pytest.raises(Rejected):
        client().request("POST", f"{vendor.url}/old", json_body={"x": 1})
    vendor.route("/keep", redirect_to("/new", status=307))
    assert client().request("POST", f"{vendor.url}/keep", json_body={"x": 1}).json() == {
        "moved": True
    }
