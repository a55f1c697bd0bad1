"""The shared sandbox machinery: scaled clock, rate windows, fault plans and the webhook outbox."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from apps.sandbox import clock, faults, ratelimit, webhooks

pytestmark = pytest.mark.django_db


def test_scaled_clock_shortens_windows_and_durations():
    assert clock.real_seconds("zoho", "1", 3600) == 3600
    clock.clock_set(vendor="zoho", account="1", seconds_per_minute=2)
    assert clock.real_seconds("zoho", "1", 3600) == pytest.approx(120)
    window = clock.window("zoho", "1", 60)
    assert 1 <= window.reset_seconds <= 60
    # A different account keeps real time.
    assert clock.real_seconds("zoho", "2", 60) == 60


def test_clock_advance_moves_now_forward_by_scaled_seconds():
    clock.clock_set(vendor="xero", account="t", seconds_per_minute=6)  # ten times faster
    before = clock.now("xero", "t")
    clock.clock_advance(vendor="xero", account="t", vendor_seconds=600)
    assert (clock.now("xero", "t") - before).total_seconds() == pytest.approx(60, abs=1)


def test_rate_hit_counts_per_window_and_account():
    results = [
        ratelimit.rate_hit(vendor="zoho", account="1", bucket="b", limit=3, window_seconds=3600)
        for _ in range(4)
    ]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    other = ratelimit.rate_hit(vendor="zoho", account="2", bucket="b", limit=3, window_seconds=3600)
    assert other.allowed and other.used == 1
    peek = ratelimit.rate_peek(vendor="zoho", account="1", bucket="b", limit=3, window_seconds=3600)
    assert peek.used == 4


def test_concurrency_slot_refuses_past_the_limit_and_releases():
    slot = ratelimit.concurrency_slot
    with (
        slot(vendor="xero", account="t", bucket="c", limit=1) as first,
        slot(vendor="xero", account="t", bucket="c", limit=1) as second,
    ):
        assert first is True
        assert second is False
    with ratelimit.concurrency_slot(vendor="xero", account="t", bucket="c", limit=1) as again:
        assert again is True


def test_error_share_fails_an_exact_share_of_calls():
    faults.fault_plan_set(vendor="zoho", account="1", error_share=0.25, error_status=500)
    outcomes = [faults.call_fault("zoho", "1") for _ in range(8)]
    failed = [i + 1 for i, fault in enumerate(outcomes) if fault]
    assert failed == [4, 8]
    assert outcomes[3].status == 500
    assert faults.call_fault("zoho", "other") is None


def test_storm_answers_429_with_retry_after_until_it_ends():
    faults.fault_storm(vendor="zoho", account="1", vendor_seconds=30)
    fault = faults.call_fault("zoho", "1")
    assert fault.status == 429 and 1 <= fault.retry_after <= 30
    clock.clock_advance(vendor="zoho", account="1", vendor_seconds=31)
    assert faults.call_fault("zoho", "1") is None


def test_fault_plan_rejects_unknown_settings_and_bad_status():
    with pytest.raises(ValueError, match="Unknown fault settings: nonsense"):
        faults.fault_plan_set(vendor="zoho", account="1", nonsense=True)
    with pytest.raises(ValueError, match="500 or 503"):
        faults.fault_plan_set(vendor="zoho", account="1", error_status=404)


def test_token_lifetime_shortened_by_plan():
    assert faults.token_lifetime("zoho", "1", 3600) == 3600
    faults.fault_plan_set(vendor="zoho", account="1", token_lifetime_seconds=5)
    assert faults.token_lifetime("zoho", "1", 3600) == 5


class _Receiver:
    """A loopback HTTP server that records bodies and answers the statuses it is told to."""

    def __init__(self, statuses):
        received = self.received = []
        statuses = list(statuses)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                received.append((dict(self.headers), self.rfile.read(length).decode()))
                self.send_response(statuses.pop(0) if statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(_Receiver(statuses))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_webhook_failed_delivery_is_retried_then_delivered(receiver):
    hook = receiver(statuses=[500])
    clock.clock_set(vendor="zoho", account="1", seconds_per_minute=0.6)  # 100x faster
    [row] = webhooks.webhook_enqueue(
        vendor="zoho", account="1", kind="test", url=hook.url, body={"n": 1}, headers={"X-T": "s"}
    )
    first = webhooks.webhook_deliver_due()
    assert (first.delivered, first.retrying) == (0, 1)
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and row.last_status_code == 500
    # The first retry waits 10 vendor seconds = 0.1 s here.
    assert webhooks.webhook_deliver_due().delivered == 0  # not due yet
    time.sleep(0.15)
    second = webhooks.webhook_deliver_due()
    assert second.delivered == 1
    row.refresh_from_db()
    assert row.status == "delivered" and row.attempts == 2
    assert [json.loads(body) for _, body in hook.received] == [{"n": 1}, {"n": 1}]
    assert hook.received[1][0]["X-T"] == "s"


def test_webhook_gives_up_after_max_attempts(receiver):
    [row] = webhooks.webhook_enqueue(
        vendor="zoho",
        account="1",
        kind="t",
        url="http://127.0.0.1:9/none",
        body="{}",
        max_attempts=1,
    )
    report = webhooks.webhook_deliver_due()
    row.refresh_from_db()
    assert report.failed == 1 and row.status == "failed" and row.last_status_code is None
    assert "ConnectionError" in row.last_error


def test_webhook_duplicate_and_out_of_order_faults(receiver):
    hook = receiver()
    faults.fault_plan_set(
        vendor="zoho", account="1", webhook_duplicate=True, webhook_out_of_order=True
    )
    for n in (1, 2):
        webhooks.webhook_enqueue(vendor="zoho", account="1", kind="t", url=hook.url, body={"n": n})
    webhooks.webhook_deliver_due()
    assert [json.loads(body)["n"] for _, body in hook.received] == [2, 2, 1, 1]


def test_hmac_sha256_encodings():
    message = "The quick brown fox jumps over the lazy dog"
    expected = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert webhooks.hmac_sha256("key", message, "hex") == expected
    assert webhooks.hmac_sha256(b"key", message.encode()) == (
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    )


def test_a_slot_left_by_a_killed_request_stops_counting_when_its_lease_ends():
    leaked = ratelimit.concurrency_slot(vendor="xero", account="k", bucket="c", limit=1)
    assert leaked.__enter__() is True  # the request dies here: the slot is never released
    with ratelimit.concurrency_slot(vendor="xero", account="k", bucket="c", limit=1) as busy:
        assert busy is False
    clock.clock_advance(vendor="xero", account="k", vendor_seconds=ratelimit.SLOT_LEASE_SECONDS + 1)
    with ratelimit.concurrency_slot(vendor="xero", account="k", bucket="c", limit=1) as freed:
        assert freed is True


def test_counters_are_one_statement_each(django_assert_num_queries):
    ratelimit.rate_hit(vendor="zoho", account="q", bucket="b", limit=9, window_seconds=3600)
    with clock.request_scope(), django_assert_num_queries(3):  # the clock, then two hits
        for _ in range(2):
            ratelimit.rate_hit(vendor="zoho", account="q", bucket="b", limit=9, window_seconds=3600)
