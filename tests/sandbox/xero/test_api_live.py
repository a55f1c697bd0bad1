"""Accounting over real HTTP: Idempotency-Key replay, rate limits, faults on demand."""

import concurrent.futures
import time

import pytest
import requests

from apps.sandbox import clock, faults
from apps.sandbox.xero.models import XeroContact, XeroTenant
from tests.sandbox.xero.schema import response_component, xero_validate

API = "/api.xro/2.0"


def test_idempotency_key_replays_the_same_answer(live_xero):
    payload = {"Contacts": [{"Name": "Once Only Ltd"}]}
    headers = {"Idempotency-Key": "key-123"}
    first = live_xero.call("PUT", f"{API}/Contacts", json=payload, headers=headers)
    second = live_xero.call("PUT", f"{API}/Contacts", json=payload, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    xero_validate("accounting", response_component("accounting", "/Contacts", "PUT"), first.json())
    assert XeroContact.objects.filter(name="Once Only Ltd").count() == 1
    other = live_xero.call(
        "PUT", f"{API}/Contacts", json={"Contacts": [{"Name": "Different"}]}, headers=headers
    )
    assert other.status_code == 400
    assert "different request" in other.json()["Message"]
    # Errors are remembered too: the same refused request gets the same 400 again.
    clash = {"Contacts": [{"Name": "Once Only Ltd"}]}
    refused = [
        live_xero.call(
            "PUT",
            f"{API}/Contacts",
            params={"summarizeErrors": "true"},
            json=clash,
            headers={"Idempotency-Key": "k2"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in refused] == [400, 400]
    assert refused[0].json() == refused[1].json()


def test_idempotency_key_expires_after_six_minutes(live_xero):
    headers = {"Idempotency-Key": "key-expiring"}
    payload = {"Contacts": [{"Name": "Twice Ltd", "ContactStatus": "ARCHIVED"}]}
    live_xero.call("PUT", f"{API}/Contacts", json=payload, headers=headers)
    clock.clock_advance(vendor="xero", account=live_xero.tenant_id, vendor_seconds=361)
    live_xero.call("PUT", f"{API}/Contacts", json=payload, headers=headers)
    assert XeroContact.objects.filter(name="Twice Ltd").count() == 2


def test_minute_limit_answers_429_with_headers_then_recovers(live_xero):
    tenant = live_xero.tenant_id
    # Start at the top of a minute on the tenant's clock (a jump, not a wait).
    clock.clock_advance(
        vendor="xero", account=tenant, vendor_seconds=clock.window("xero", tenant).reset_seconds
    )
    answers = [live_xero.call("GET", f"{API}/Organisation") for _ in range(61)]
    assert [a.status_code for a in answers[:60]] == [200] * 60
    assert answers[0].headers["X-MinLimit-Remaining"] == "59"
    assert answers[0].headers["X-DayLimit-Remaining"] == "4999"
    assert answers[0].headers["X-AppMinLimit-Remaining"] == "9999"
    assert answers[59].headers["X-MinLimit-Remaining"] == "0"
    throttled = answers[60]
    assert throttled.status_code == 429
    assert throttled.headers["X-Rate-Limit-Problem"] == "minute"
    assert throttled.content == b""
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    if retry_after > 2:
        clock.clock_advance(vendor="xero", account=tenant, vendor_seconds=retry_after - 2)
        assert live_xero.call("GET", f"{API}/Organisation").status_code == 429
        clock.clock_advance(vendor="xero", account=tenant, vendor_seconds=2)
    else:
        clock.clock_advance(vendor="xero", account=tenant, vendor_seconds=retry_after)
    recovered = live_xero.call("GET", f"{API}/Organisation")
    assert recovered.status_code == 200
    assert recovered.headers["X-MinLimit-Remaining"] == "59"


def test_scaled_minute_passes_in_real_seconds(live_xero):
    tenant = live_xero.tenant_id
    XeroTenant.objects.filter(tenant_id=tenant).update(minute_limit=3)
    clock.clock_set(vendor="xero", account=tenant, seconds_per_minute=1.5)
    clock.clock_advance(
        vendor="xero", account=tenant, vendor_seconds=clock.window("xero", tenant).reset_seconds
    )
    codes = [live_xero.call("GET", f"{API}/Organisation").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    time.sleep(1.6)  # one scaled minute of real time
    assert live_xero.call("GET", f"{API}/Organisation").status_code == 200


def test_day_limit_names_the_day(live_xero):
    XeroTenant.objects.filter(tenant_id=live_xero.tenant_id).update(day_limit=2)
    codes = [live_xero.call("GET", f"{API}/Organisation") for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert codes[2].headers["X-Rate-Limit-Problem"] == "day"
    assert codes[2].headers["X-DayLimit-Remaining"] == "0"
    assert int(codes[2].headers["Retry-After"]) > 0


def test_app_minute_limit(live_xero):
    from apps.sandbox.xero.models import XeroApp

    XeroApp.objects.update(app_minute_limit=1)
    codes = [live_xero.call("GET", f"{API}/Organisation") for _ in range(2)]
    assert codes[1].status_code == 429
    assert codes[1].headers["X-Rate-Limit-Problem"] == "appminute"


@pytest.mark.postgres  # parallel requests: SQLite's shared test connection cannot serve them
def test_concurrent_limit(live_xero):
    XeroTenant.objects.filter(tenant_id=live_xero.tenant_id).update(concurrent_limit=2)
    faults.fault_plan_set(vendor="xero", account=live_xero.tenant_id, slow_ms=600)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: requests.get(
                    f"{live_xero.base}{API}/Organisation",
                    headers=live_xero.headers(),
                    timeout=10,
                ),
                range(4),
            )
        )
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, [a.status_code for a in answers]
    assert all(a.headers["X-Rate-Limit-Problem"] == "concurrent" for a in throttled)
    assert all("Retry-After" not in a.headers for a in throttled)
    assert any(a.status_code == 200 for a in answers)


def test_time_out_after_commit_really_commits(live_xero):
    faults.fault_plan_set(
        vendor="xero", account=live_xero.tenant_id, timeout_share=1.0, timeout_seconds=1.5
    )
    payload = {"Contacts": [{"Name": "Lost Answer Ltd"}]}
    with pytest.raises(requests.exceptions.ReadTimeout):
        live_xero.session.put(
            f"{live_xero.base}{API}/Contacts",
            json=payload,
            headers=live_xero.headers({"Idempotency-Key": "lost-1"}),
            timeout=0.5,
        )
    assert XeroContact.objects.filter(name="Lost Answer Ltd").count() == 1
    faults.fault_plan_clear(vendor="xero", account=live_xero.tenant_id)
    # The client's retry with the same key gets the stored answer, and no second contact.
    retry = live_xero.call(
        "PUT", f"{API}/Contacts", json=payload, headers={"Idempotency-Key": "lost-1"}
    )
    assert retry.status_code == 200
    assert retry.json()["Contacts"][0]["Name"] == "Lost Answer Ltd"
    assert XeroContact.objects.filter(name="Lost Answer Ltd").count() == 1
    # Let the stalled request finish in the server thread before the test's database goes.
    time.sleep(1.5)


def test_server_errors_and_storms_on_demand(live_xero):
    faults.fault_plan_set(vendor="xero", account=live_xero.tenant_id, error_share=0.5)
    codes = [live_xero.call("GET", f"{API}/Organisation").status_code for _ in range(4)]
    assert codes == [200, 503, 200, 503]
    faults.fault_plan_clear(vendor="xero", account=live_xero.tenant_id)
    faults.fault_storm(vendor="xero", account=live_xero.tenant_id, vendor_seconds=30)
    storm = live_xero.call("GET", f"{API}/Organisation")
    assert storm.status_code == 429
    assert int(storm.headers["Retry-After"]) <= 30
