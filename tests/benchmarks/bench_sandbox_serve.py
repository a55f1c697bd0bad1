"""sandbox_serve: Zoho Books contact pages (200 each) served over real HTTP, pages per second."""

import time

import pytest
import requests

from apps.sandbox import seed
from apps.sandbox.zoho import accounts
from tests.benchmarks.report import emit

PAGES = 250
PER_PAGE = 200


@pytest.mark.django_db(transaction=True)
def test_bench_sandbox_serve(live_server, monkeypatch):
    from django.core.servers.basehttp import WSGIRequestHandler

    # The test server sends headers and body separately; without TCP_NODELAY every answer
    # waits ~40 ms for the client's delayed ACK, which would measure the kernel, not us.
    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", True, raising=False)
    organization = accounts.organization_create(name="Bench Org")
    # The bench measures serving, not throttling: lift this organisation's limits.
    organization.books_minute_limit = organization.books_daily_quota = 1_000_000
    organization.save()
    seed.contacts_top_up(organization, PAGES * PER_PAGE)
    seed.tables_analyze()  # as `manage.py sandbox seed` does after its bulk inserts
    client = accounts.client_register(client_id="bench", client_secret="bench-secret")
    refresh = accounts.refresh_token_issue(client=client, organization=organization).token
    token = requests.post(
        f"{live_server.url}/sandbox/zoho/accounts/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "bench",
            "client_secret": "bench-secret",
            "refresh_token": refresh,
        },
        timeout=10,
    ).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {token['access_token']}"
    url = f"{token['api_domain']}/books/v3/contacts"
    seen = 0
    started = time.perf_counter()
    for page in range(1, PAGES + 1):
        answer = session.get(
            url,
            params={
                "organization_id": organization.organization_id,
                "page": page,
                "per_page": PER_PAGE,
            },
            timeout=30,
        )
        body = answer.json()
        assert answer.status_code == 200 and body["page_context"]["page"] == page
        seen += len(body["contacts"])
    elapsed = time.perf_counter() - started
    assert seen == PAGES * PER_PAGE
    emit("sandbox_serve", pages=PAGES, pages_per_s=round(PAGES / elapsed, 1))
