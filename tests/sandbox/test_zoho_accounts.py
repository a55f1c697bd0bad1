"""Zoho Accounts in the sandbox, field by field against vendor-contracts.md §1."""

from urllib.parse import parse_qs, urlparse

import pytest

from apps.sandbox import clock, faults
from apps.sandbox.zoho.models import ZohoAccessToken, ZohoRefreshToken
from tests.sandbox.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, mint

pytestmark = pytest.mark.django_db
TOKEN_URL = "/sandbox/zoho/accounts/oauth/v2/token"
AUTH_URL = "/sandbox/zoho/accounts/oauth/v2/auth"


@pytest.fixture(autouse=True)
def _staff_signed_in(client, agent_user):
    """The consent page stands for Zoho's login: it requires staff of this site."""
    client.force_login(agent_user)


def _consent(client, zoho_org, *, decision="approve", state="st-123"):
    params = {
        "scope": "ZohoBooks.fullaccess.all,ZohoCRM.modules.ALL",
        "client_id": CLIENT_ID,
        "response_type": "code",
        "access_type": "offline",
        "redirect_uri": REDIRECT_URI,
        "state": state,
    }
    page = client.get(AUTH_URL, params)
    assert page.status_code == 200
    assert b"Acme Services" in page.content
    return client.post(
        AUTH_URL, {**params, "organization_id": zoho_org.organization_id, "decision": decision}
    )


def test_consent_redirects_with_code_location_accounts_server_and_state(
    client, zoho_org, zoho_client
):
    answer = _consent(client, zoho_org)
    assert answer.status_code == 302
    target = urlparse(answer["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT_URI
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert set(query) == {"code", "location", "accounts-server", "state"}
    assert query["state"] == "st-123"
    assert query["location"] == "us"
    assert query["accounts-server"] == "http://testserver/sandbox/zoho/accounts"


def test_consent_refused_redirects_with_access_denied(client, zoho_org, zoho_client):
    answer = _consent(client, zoho_org, decision="deny")
    query = parse_qs(urlparse(answer["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st-123"]}


def test_consent_page_refuses_unknown_client_and_foreign_redirect(client, zoho_client):
    assert (
        client.get(AUTH_URL, {"client_id": "nope", "redirect_uri": REDIRECT_URI}).status_code == 400
    )
    foreign = client.get(AUTH_URL, {"client_id": CLIENT_ID, "redirect_uri": "http://evil.test/cb"})
    assert foreign.status_code == 400


def _exchange(client, code, **overrides):
    body = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "code": code,
    } | overrides
    return client.post(TOKEN_URL, body)


def test_code_grant_answers_the_five_fields_and_the_code_works_once(client, zoho_org, zoho_client):
    code = parse_qs(urlparse(_consent(client, zoho_org)["Location"]).query)["code"][0]
    answer = _exchange(client, code)
    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == ["access_token", "refresh_token", "api_domain", "token_type", "expires_in"]
    assert body["api_domain"] == "http://testserver/sandbox/zoho/api"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("1000.") and body["refresh_token"].startswith("1000.")
    again = _exchange(client, code)
    assert again.status_code == 200 and again.json() == {"error": "invalid_code"}


def test_code_grant_errors_are_http_200_with_error(client, zoho_org, zoho_client):
    code = parse_qs(urlparse(_consent(client, zoho_org)["Location"]).query)["code"][0]
    wrong_secret = _exchange(client, code, client_secret="bad")
    assert (wrong_secret.status_code, wrong_secret.json()) == (200, {"error": "invalid_client"})
    wrong_redirect = _exchange(client, code, redirect_uri="http://127.0.0.1/other")
    assert wrong_redirect.json() == {"error": "invalid_code"}


def test_expired_code_is_invalid(client, zoho_org, zoho_client):
    code = parse_qs(urlparse(_consent(client, zoho_org)["Location"]).query)["code"][0]
    clock.clock_advance(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=181)
    assert _exchange(client, code).json() == {"error": "invalid_code"}


def test_refresh_grant_has_no_refresh_token_and_does_not_rotate(client, refresh_token):
    first = mint(client, refresh_token)
    assert list(first) == ["access_token", "api_domain", "token_type", "expires_in"]
    second = mint(client, refresh_token)
    assert second["access_token"] != first["access_token"]
    assert ZohoRefreshToken.objects.get(token=refresh_token).revoked_at is None


def test_refresh_with_basic_auth_and_query_string(client, refresh_token):
    import base64

    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    answer = client.post(
        f"{TOKEN_URL}?grant_type=refresh_token&refresh_token={refresh_token}",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert "access_token" in answer.json()


def test_bad_refresh_token_is_invalid_code(client, zoho_client):
    assert mint(client, "1000.nope.nope") == {"error": "invalid_code"}


def test_ten_mints_per_ten_minutes_then_blocked_until_the_window_ends(
    client, zoho_org, refresh_token
):
    clock.clock_set(vendor="zoho", account=zoho_org.organization_id, seconds_per_minute=60)
    answers = [mint(client, refresh_token) for _ in range(11)]
    assert all("access_token" in answer for answer in answers[:10])
    assert answers[10]["error"] == "Access Denied"
    clock.clock_advance(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=600)
    assert "access_token" in mint(client, refresh_token)


def test_twenty_first_refresh_token_evicts_the_oldest(zoho_org, zoho_client):
    from apps.sandbox.zoho import accounts

    tokens = [
        accounts.refresh_token_issue(client=zoho_client, organization=zoho_org) for _ in range(21)
    ]
    tokens[0].refresh_from_db()
    tokens[1].refresh_from_db()
    assert tokens[0].revoked_at is not None
    assert tokens[1].revoked_at is None


def test_revoke_refresh_token_revokes_its_access_tokens(client, refresh_token, access_token):
    answer = client.post(f"/sandbox/zoho/accounts/oauth/v2/token/revoke?token={refresh_token}")
    assert (answer.status_code, answer.json()) == (200, {"status": "success"})
    assert ZohoAccessToken.objects.get(token=access_token).revoked_at is not None
    assert mint(client, refresh_token) == {"error": "invalid_code"}
    again = client.post(f"/sandbox/zoho/accounts/oauth/v2/token/revoke?token={refresh_token}")
    assert again.status_code == 400


def test_newer_revoke_path_is_accepted(client, refresh_token):
    answer = client.post(
        f"/sandbox/zoho/accounts/oauth/v2/revoke/token?token={refresh_token}&token_type=refresh_token"
    )
    assert answer.json() == {"status": "success"}


def test_token_lifetime_fault_expires_tokens_early(client, zoho_org, refresh_token, books_api):
    faults.fault_plan_set(vendor="zoho", account=zoho_org.organization_id, token_lifetime_seconds=5)
    token = mint(client, refresh_token)
    assert token["expires_in"] == 3600  # the answer still claims an hour
    books_api.headers = {"HTTP_AUTHORIZATION": f"Zoho-oauthtoken {token['access_token']}"}
    assert books_api.get("contacts").status_code == 200
    clock.clock_advance(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=6)
    expired = books_api.get("contacts")
    assert expired.status_code == 401
    assert expired.json() == {"code": 14, "message": "Invalid OAuth token"}
