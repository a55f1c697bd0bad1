"""Fixtures for the Zoho sandbox tests: an organisation, a registered client, live tokens."""

import pytest
import requests

from apps.sandbox.zoho import accounts
from apps.sandbox.zoho.models import ZohoOrganization

CLIENT_ID = "1000.TESTCLIENT"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "http://127.0.0.1:8000/sync/zoho/callback"


@pytest.fixture
def zoho_org(db) -> ZohoOrganization:
    return accounts.organization_create(name="Acme Services", currency_code="ZAR")


@pytest.fixture
def zoho_client(db):
    return accounts.client_register(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=REDIRECT_URI
    )


@pytest.fixture
def refresh_token(zoho_org, zoho_client) -> str:
    return accounts.refresh_token_issue(client=zoho_client, organization=zoho_org).token


def mint(client, refresh: str) -> dict:
    answer = client.post(
        "/sandbox/zoho/accounts/oauth/v2/token",
        {
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh,
        },
    )
    return answer.json()


@pytest.fixture
def access_token(client, refresh_token) -> str:
    return mint(client, refresh_token)["access_token"]


class Books:
    """A thin caller of the sandbox's Books API through Django's test client."""

    def __init__(self, client, token: str, organization_id: str) -> None:
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Zoho-oauthtoken {token}"}
        self.organization_id = organization_id

    def url(self, path: str, **params) -> str:
        from urllib.parse import urlencode

        query = urlencode({"organization_id": self.organization_id, **params})
        return f"/sandbox/zoho/api/books/v3/{path}?{query}"

    def get(self, path: str, **params):
        return self.client.get(self.url(path, **params), **self.headers)

    def post(self, path: str, body: dict | None = None, **params):
        return self.client.post(
            self.url(path, **params), body or {}, content_type="application/json", **self.headers
        )

    def put(self, path: str, body: dict, **params):
        return self.client.put(
            self.url(path, **params), body, content_type="application/json", **self.headers
        )

    def delete(self, path: str, **params):
        return self.client.delete(self.url(path, **params), **self.headers)


@pytest.fixture
def books_api(client, access_token, zoho_org) -> Books:
    return Books(client, access_token, zoho_org.organization_id)


class Crm:
    def __init__(self, client, token: str) -> None:
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Zoho-oauthtoken {token}"}

    def get(self, path: str, headers: dict | None = None, **params):
        from urllib.parse import urlencode

        query = f"?{urlencode(params)}" if params else ""
        return self.client.get(
            f"/sandbox/zoho/api/crm/v6/{path}{query}", **self.headers, **(headers or {})
        )

    def send(self, method: str, path: str, body: dict | None = None):
        call = getattr(self.client, method)
        return call(
            f"/sandbox/zoho/api/crm/v6/{path}",
            body or {},
            content_type="application/json",
            **self.headers,
        )


@pytest.fixture
def crm_api(client, access_token) -> Crm:
    return Crm(client, access_token)


@pytest.fixture(autouse=True)
def _no_nagle(monkeypatch):
    """Django's test server writes headers and body in two sends; with Nagle's algorithm and the
    client's delayed ACK every answer then waits ~40 ms. Real servers set TCP_NODELAY."""
    from django.core.servers.basehttp import WSGIRequestHandler

    monkeypatch.setattr(WSGIRequestHandler, "disable_nagle_algorithm", True, raising=False)


def signed_in_session(user) -> requests.Session:
    """A `requests` session carrying `user`'s Django session cookie (for live-server pages)."""
    from django.conf import settings
    from django.test import Client

    django_client = Client()
    django_client.force_login(user)
    session = requests.Session()
    name = settings.SESSION_COOKIE_NAME
    session.cookies.set(name, django_client.cookies[name].value)
    return session


@pytest.fixture
def staff_browser(agent_user) -> requests.Session:
    """A browser signed in as staff of this site (the sandbox's consent pages require one)."""
    return signed_in_session(agent_user)


@pytest.fixture
def staff_client(client, agent_user):
    client.force_login(agent_user)
    return client
