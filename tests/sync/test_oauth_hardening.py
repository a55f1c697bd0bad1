"""OAuth callbacks under bad answers (issue 11, item 6): an unreachable vendor is a message, not
a 500; `location` is checked; a Xero flow starts only from a POST with the CSRF token; codes do
not reach the access log."""

import logging
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client as DjangoClient

from apps.sync.models import Connection, Credential

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens here once the probe is closed


def zoho_state(client) -> str:
    start = client.post("/sync/connect/zoho/", {"region": "com"})
    return parse_qs(urlsplit(start["Location"]).query)["state"][0]


def test_an_unreachable_zoho_accounts_server_is_a_message_not_a_500(admin_client_mfa, settings):
    unreachable = f"http://127.0.0.1:{closed_port()}"
    settings.ZOHO_ACCOUNTS_URL = unreachable  # our configured server: allowed to get the code
    state = zoho_state(admin_client_mfa)
    answer = admin_client_mfa.get(
        "/sync/oauth/zoho/callback/",
        {"code": "c-1", "state": state, "accounts-server": unreachable},
        follow=True,
    )
    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0].endswith("/admin/sync/connection/")
    assert "Zoho could not be reached" in answer.content.decode()
    assert Credential.objects.count() == 0


@pytest.mark.parametrize("location", ["x" * 40, "mars", "<script>"])
def test_an_unknown_location_is_refused_before_anything_is_stored(admin_client_mfa, location):
    state = zoho_state(admin_client_mfa)
    answer = admin_client_mfa.get(
        "/sync/oauth/zoho/callback/", {"code": "c-1", "state": state, "location": location}
    )
    assert answer.status_code == 400
    assert b"location" in answer.content
    assert (Credential.objects.count(), Connection.objects.count()) == (0, 0)


def test_a_get_does_not_start_or_replace_a_xero_flow(admin_client_mfa):
    zoho_state(admin_client_mfa)
    pending = admin_client_mfa.session["sync_oauth"]
    page = admin_client_mfa.get("/sync/connect/xero/")
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    assert admin_client_mfa.session["sync_oauth"] == pending  # the Zoho flow is still pending
    started = admin_client_mfa.post("/sync/connect/xero/")
    assert started.status_code == 302
    assert admin_client_mfa.session["sync_oauth"]["vendor"] == "xero"


def test_a_post_without_the_csrf_token_is_refused(admin_with_mfa):
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.force_login(admin_with_mfa)
    assert browser.post("/sync/connect/xero/").status_code == 403
    assert "sync_oauth" not in browser.session


def test_access_log_lines_lose_the_authorization_code(settings):
    from logging.config import dictConfig

    dictConfig(settings.LOGGING)
    server_log = logging.getLogger("django.server")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    keeper = Keep()
    for handler in server_log.handlers:
        keeper.filters = handler.filters
    server_log.addHandler(keeper)
    try:
        server_log.info(
            '"%s" %s %s',
            "GET /sync/oauth/zoho/callback/?code=1000.secret&state=s1 HTTP/1.1",
            302,
            0,
        )
    finally:
        server_log.removeHandler(keeper)
    assert records and "1000.secret" not in records[0] and "s1" not in records[0]
    assert "code=[redacted]" in records[0]
