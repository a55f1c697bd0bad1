"""Fixtures for the Xero emulator's tests: a seeded sandbox and a small API client."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from apps.sandbox.xero.seed import seed_xero

REDIRECT_URI = "http://127.0.0.1:9/callback"
CLIENT_ID = "TESTXEROCLIENT"
CLIENT_SECRET = "test-xero-secret"
WEBHOOK_KEY = "test-webhook-key"


@pytest.fixture
def seeded(db):
    return seed_xero(
        tenants=2,
        contacts=3,
        items=2,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        webhook_key=WEBHOOK_KEY,
    )


@pytest.fixture
def tenant_id(seeded) -> str:
    return seeded["tenants"][0]["tenant_id"]


class XeroCaller:
    """Calls the emulator the way a Xero client does, over Django's test client or real HTTP."""

    def __init__(self, *, base: str, access_token: str, tenant_id: str, session=None, client=None):
        self.base = base.rstrip("/")
        self.access_token = access_token
        self.tenant_id = tenant_id
        self.session = session
        self.client = client

    def headers(self, extra: dict | None = None, *, tenant: bool = True) -> dict:
        headers = {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}
        if tenant:
            headers["xero-tenant-id"] = self.tenant_id
        headers.update(extra or {})
        return headers

    def call(self, method: str, path: str, *, json=None, params=None, headers=None, tenant=True):
        url = f"{self.base}{path}"
        all_headers = self.headers(headers, tenant=tenant)
        if self.session is not None:
            return self.session.request(
                method, url, json=json, params=params, headers=all_headers, timeout=10
            )
        import json as jsonlib

        body = jsonlib.dumps(json) if json is not None else ""
        if params:
            from urllib.parse import urlencode

            url = f"{url}?{urlencode(params)}"
        response = self.client.generic(
            method,
            url,
            data=body,
            content_type="application/json",
            headers=all_headers,
        )
        response.json_body = (
            jsonlib.loads(response.content)
            if response.get("Content-Type", "").startswith("application/json")
            else None
        )
        return response


def body_of(response):
    return response.json_body if hasattr(response, "json_body") else response.json()


@pytest.fixture
def xero(client, seeded, tenant_id) -> XeroCaller:
    """Over Django's test client: fast, in-process, same views and middleware."""
    return XeroCaller(
        base="/sandbox/xero/api",
        access_token=seeded["access_token"],
        tenant_id=tenant_id,
        client=client,
    )


@pytest.fixture
def live_seeded(live_server, transactional_db):
    return seed_xero(
        tenants=2,
        contacts=3,
        items=2,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        webhook_key=WEBHOOK_KEY,
    )


@pytest.fixture
def live_xero(live_server, live_seeded) -> XeroCaller:
    """Over real HTTP against pytest-django's live server."""
    return XeroCaller(
        base=f"{live_server.url}/sandbox/xero/api",
        access_token=live_seeded["access_token"],
        tenant_id=live_seeded["tenants"][0]["tenant_id"],
        session=requests.Session(),
    )


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def consent(session: requests.Session, authorize_url: str, params: dict, *, tenants=None) -> dict:
    """Open the consent page, allow, and return the query of the redirect to the app."""
    page = session.get(authorize_url, params=params, timeout=10)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    form = {**params, "csrfmiddlewaretoken": token, "decision": "allow"}
    # A browser sends the checked boxes; the page checks the first organisation by default.
    form["tenant"] = (
        tenants
        if tenants is not None
        else re.findall(r'name="tenant" value="([^"]+)" checked', page.text)
    )
    answer = session.post(
        authorize_url,
        data=form,
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}
