"""The Zoho sandbox over real HTTP (a live server and `requests`): paging, limits, time-outs."""

import math
import time

import pytest
import requests

from apps.sandbox import clock, faults, seed
from apps.sandbox.zoho import accounts
from apps.sandbox.zoho.models import BooksContact
from tests.sandbox.conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(live_server, zoho_org, zoho_client):
    """A session holding a fresh access token minted through the real token endpoint."""
    refresh = accounts.refresh_token_issue(client=zoho_client, organization=zoho_org).token
    answer = requests.post(
        f"{live_server.url}/sandbox/zoho/accounts/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh,
        },
        timeout=10,
    )
    body = answer.json()
    assert answer.status_code == 200 and body["expires_in"] == 3600
    assert body["api_domain"] == f"{live_server.url}/sandbox/zoho/api"
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {body['access_token']}"
    session.books = f"{body['api_domain']}/books/v3"
    session.params = {"organization_id": zoho_org.organization_id}
    yield session
    session.close()


def test_paging_1000_contacts_returns_each_exactly_once(live, zoho_org):
    seed.contacts_top_up(zoho_org, 1000)
    seen, page = [], 1
    while True:
        body = live.get(f"{live.books}/contacts", params={"page": page, "per_page": 200}).json()
        assert body["code"] == 0 and body["page_context"]["page"] == page
        seen += [contact["contact_id"] for contact in body["contacts"]]
        if not body["page_context"]["has_more_page"]:
            break
        page += 1
    assert page == 5
    assert len(seen) == 1000 == len(set(seen))
    assert set(seen) == set(BooksContact.objects.values_list("contact_id", flat=True))


def _align_to_window_start(account: str, seconds_per_minute: float) -> None:
    """Shift the account's clock so a new minute window begins now (no waiting in the test)."""
    clock.clock_set(vendor="zoho", account=account, seconds_per_minute=seconds_per_minute)
    moment = time.time()
    start = math.ceil(moment / seconds_per_minute) * seconds_per_minute
    clock.clock_set(vendor="zoho", account=account, offset_seconds=start - moment + 0.01)


def test_the_101st_call_in_a_minute_gets_429_with_the_documented_headers(live, zoho_org):
    account = zoho_org.organization_id
    _align_to_window_start(account, seconds_per_minute=30)  # a "minute" is 30 real seconds
    answers = [live.get(f"{live.books}/contacts", params={"per_page": 1}) for _ in range(101)]
    assert [answer.status_code for answer in answers[:100]] == [200] * 100
    refused = answers[100]
    assert refused.status_code == 429
    assert refused.json()["code"] == 429
    assert refused.headers["X-Rate-Limit-Limit"] == str(zoho_org.books_daily_quota)
    assert refused.headers["X-Rate-Limit-Remaining"] == str(zoho_org.books_daily_quota - 100)
    assert int(refused.headers["X-Rate-Limit-Reset"]) > 0
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert answers[99].headers["X-Rate-Limit-Remaining"] == str(zoho_org.books_daily_quota - 100)
    # The next vendor minute serves again.
    clock.clock_advance(vendor="zoho", account=account, vendor_seconds=60)
    assert live.get(f"{live.books}/contacts", params={"per_page": 1}).status_code == 200


def test_time_out_after_commit_really_commits(live, zoho_org):
    faults.fault_plan_set(
        vendor="zoho", account=zoho_org.organization_id, timeout_share=1.0, timeout_seconds=1.5
    )
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        live.post(
            f"{live.books}/contacts",
            json={"contact_name": "Committed Before Timeout", "email": "late@example.test"},
            timeout=0.4,
        )
    assert time.monotonic() - started < 1.5
    found = live.get(f"{live.books}/contacts", params={"email": "late@example.test"}).json()
    assert [c["contact_name"] for c in found["contacts"]] == ["Committed Before Timeout"]
    time.sleep(1.2)  # let the stalled answer finish before the live server shuts down


def test_expired_token_then_refresh_over_http(live, live_server, zoho_org, zoho_client):
    clock.clock_advance(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=3601)
    expired = live.get(f"{live.books}/contacts")
    assert expired.status_code == 401 and expired.json()["code"] == 14
    crm = live.get(
        f"{live_server.url}/sandbox/zoho/api/crm/v6/Contacts", params={"fields": "Last_Name"}
    )
    assert crm.status_code == 401 and crm.json()["code"] == "INVALID_TOKEN"
