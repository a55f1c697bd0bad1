"""A mounted sandbox cannot be turned against its host: outbound URLs, consent, redirects, controls,
and production refusing to mount it at all."""

import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.sandbox import webhooks
from apps.sandbox.models import WebhookDelivery
from apps.sandbox.xero.models import XeroApp
from apps.sandbox.xero.seed import seed_xero
from apps.sandbox.zoho import accounts
from apps.sandbox.zoho.models import ZohoClient
from tests.sandbox.conftest import CLIENT_ID, REDIRECT_URI

ROOT = Path(__file__).resolve().parent.parent.parent
ZOHO_AUTH = "/sandbox/zoho/accounts/oauth/v2/auth"
XERO_AUTH = "/sandbox/xero/login/identity/connect/authorize"
FOREIGN = ["http://169.254.169.254/latest/meta-data", "http://example.com/hook", "file:///etc"]


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user(email="visitor@example.com", password="x" * 12)


# --- outbound URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", FOREIGN)
def test_books_webhook_refuses_a_foreign_url(books_api, url):
    answer = books_api.post(
        "settings/webhooks", {"webhook_name": "x", "entity": "contact", "url": url}
    )
    assert answer.status_code == 400
    assert answer.json() == {"code": 4, "message": "Invalid value passed for url."}


@pytest.mark.parametrize("url", FOREIGN)
def test_crm_watch_refuses_a_foreign_notify_url(crm_api, url):
    answer = crm_api.send(
        "post",
        "actions/watch",
        {"watch": [{"channel_id": "7", "events": ["Contacts.all"], "notify_url": url}]},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "INVALID_DATA" and body["details"]["api_name"] == "notify_url"


def test_loopback_and_the_sandbox_host_are_allowed(settings):
    settings.SANDBOX_BASE_URL = "https://demo.example.org/sandbox"
    for url in (
        "http://127.0.0.1:8000/hook",
        "http://localhost/x",
        "http://[::1]:9/x",
        "https://demo.example.org/sync/webhooks/zoho/books/",
    ):
        assert webhooks.target_url_allowed(url), url
    for url in (*FOREIGN, "http://demo.example.org.evil.test/", "http://user:pw@127.0.0.1/"):
        assert not webhooks.target_url_allowed(url), url


def test_a_stored_foreign_url_is_never_called(db):
    """Defence in depth: a row that reached the outbox by another route is refused at send time."""
    webhooks.webhook_enqueue(
        vendor="zoho", account="1", kind="test", url="http://198.51.100.1:9/x", body={}
    )
    webhooks.webhook_deliver_due()
    row = WebhookDelivery.objects.get()
    assert row.attempts == 1 and row.last_status_code is None
    assert row.last_error.startswith("Refused")


# --- consent pages -------------------------------------------------------------------------------


def _zoho_params() -> dict:
    return {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code"}


def test_zoho_consent_needs_a_signed_in_staff_user(client, zoho_client, zoho_org, plain_user):
    url = f"{ZOHO_AUTH}?{urlencode(_zoho_params())}"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    posted = client.post(ZOHO_AUTH, {**_zoho_params(), "decision": "approve"})
    assert posted.status_code == 302 and "code=" not in posted["Location"]
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    assert b"Acme Services" not in client.get(url).content


def test_xero_consent_needs_a_signed_in_staff_user(client, seeded_xero, plain_user, agent_user):
    params = {
        "response_type": "code",
        "client_id": "SECXERO",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "scope": "openid offline_access accounting.contacts",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    url = f"{XERO_AUTH}?{urlencode(params)}"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    client.force_login(agent_user)
    assert client.get(url).status_code == 200


@pytest.fixture
def seeded_xero(db):
    return seed_xero(
        tenants=1,
        contacts=1,
        items=1,
        client_id="SECXERO",
        client_secret="s",
        redirect_uris=["http://127.0.0.1:9/callback"],
    )


# --- redirect URIs ------------------------------------------------------------------------------


def test_a_client_without_redirect_uris_allows_none(client, zoho_org, agent_user):
    accounts.client_register(client_id="1000.BARE", client_secret="s", redirect_uris="")
    client.force_login(agent_user)
    for target in ("http://evil.test/cb", REDIRECT_URI):
        answer = client.get(ZOHO_AUTH, {"client_id": "1000.BARE", "redirect_uri": target})
        assert answer.status_code == 400


def test_redirect_uris_match_exactly(client, zoho_client, agent_user):
    client.force_login(agent_user)
    for near in (REDIRECT_URI + "/", REDIRECT_URI + "?next=http://evil.test", REDIRECT_URI.upper()):
        assert (
            client.get(ZOHO_AUTH, {"client_id": CLIENT_ID, "redirect_uri": near}).status_code == 400
        )


def test_seed_registers_the_sync_callbacks_exactly(db, settings):
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:8000/sandbox"
    call_command("sandbox", "seed", "--contacts", "1", "--documents", "0", stdout=io.StringIO())
    zoho = ZohoClient.objects.get()
    assert zoho.redirect_uris.split() == ["http://127.0.0.1:8000/sync/oauth/zoho/callback/"]
    assert XeroApp.objects.get().redirect_uris == [
        "http://127.0.0.1:8000/sync/oauth/xero/callback/"
    ]
    call_command(
        "sandbox",
        "seed",
        "--contacts",
        "1",
        "--documents",
        "0",
        "--callback-base-url",
        "http://localhost:8000",
        "--callback-base-url",
        "http://testserver",
        stdout=io.StringIO(),
    )
    zoho.refresh_from_db()
    assert zoho.redirect_uris.split() == [
        "http://localhost:8000/sync/oauth/zoho/callback/",
        "http://testserver/sync/oauth/zoho/callback/",
    ]
    # Minting credentials later (`sandbox token`) keeps the registered URIs.
    call_command("sandbox", "token", "zoho", stdout=io.StringIO())
    zoho.refresh_from_db()
    assert len(zoho.redirect_uris.split()) == 2


# --- Xero controls ------------------------------------------------------------------------------


def _replay_url(seeded_xero) -> str:
    return f"/sandbox/xero/control/tenants/{seeded_xero['tenants'][0]['tenant_id']}/events"


def test_controls_are_for_staff_only(client, seeded_xero, plain_user):
    itr = "/sandbox/xero/control/apps/SECXERO/intent-to-receive"
    for url in (_replay_url(seeded_xero), itr):
        assert client.post(url).status_code == 401
    client.force_login(plain_user)
    for url in (_replay_url(seeded_xero), itr):
        assert client.post(url).status_code == 403


def test_controls_check_csrf(seeded_xero, agent_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent_user)
    assert browser.post(_replay_url(seeded_xero), {"minutes": "5"}).status_code == 403


@pytest.mark.parametrize("minutes", ["abc", "0", "-5", "1.5", "99999999"])
def test_replay_minutes_is_validated(staff_client, seeded_xero, minutes):
    answer = staff_client.post(_replay_url(seeded_xero), {"minutes": minutes})
    assert answer.status_code == 400
    assert answer.json()["field"] == "minutes"


def test_replay_with_good_input(staff_client, seeded_xero):
    answer = staff_client.post(_replay_url(seeded_xero), {"minutes": "30"})
    assert answer.status_code == 200 and "queued" in answer.json()
    assert staff_client.post("/sandbox/xero/control/tenants/not-a-uuid/events").status_code == 404


# --- production ---------------------------------------------------------------------------------


def test_production_settings_refuse_the_sandbox(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "PYTEST"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="p" * 20 + "-k9Xq2Lm7Vt4Rw8Zs1Nc5Bh3Jd6Fg0Ye" + "a1b2c3d4e5",
        ALLOWED_HOSTS="office.example.com",
        TOKEN_ENCRYPTION_KEYS="7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y=",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        SANDBOX_ENABLED="True",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SANDBOX_ENABLED" in result.stderr
