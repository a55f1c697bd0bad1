"""401/403 problem bodies, the JSON-only rule and scopes."""

import base64

from tests.sandbox.xero.conftest import CLIENT_SECRET, body_of

API = "/api.xro/2.0"


def _problem(body: dict, status: int, detail_start: str) -> None:
    assert set(body) == {"Type", "Title", "Status", "Detail", "Instance", "Extensions"}
    assert body["Status"] == status
    assert body["Type"] is None
    assert body["Detail"].startswith(detail_start)


def test_missing_tenant_header_is_403(xero):
    answer = xero.call("GET", f"{API}/Contacts", tenant=False)
    assert answer.status_code == 403
    _problem(body_of(answer), 403, "AuthenticationUnsuccessful")
    assert body_of(answer)["Title"] == "Forbidden"


def test_unconnected_tenant_is_403(xero):
    xero.tenant_id = "00000000-0000-0000-0000-000000000001"
    answer = xero.call("GET", f"{API}/Contacts")
    assert answer.status_code == 403
    _problem(body_of(answer), 403, "AuthenticationUnsuccessful")


def test_bad_token_is_401(xero):
    xero.access_token = "nonsense"
    answer = xero.call("GET", f"{API}/Contacts")
    assert answer.status_code == 401
    _problem(body_of(answer), 401, "AuthenticationUnsuccessful")
    assert body_of(answer)["Title"] == "Unauthorized"


def test_expired_token_is_401_token_expired(xero, seeded):
    from apps.sandbox import clock

    clock.clock_advance(vendor="xero", account=seeded["client_id"], vendor_seconds=1801)
    answer = xero.call("GET", f"{API}/Contacts")
    assert answer.status_code == 401
    _problem(body_of(answer), 401, "TokenExpired: token expired at ")


def test_missing_scope_is_401(client, seeded, tenant_id):
    from apps.sandbox.xero.identity import refresh_token_issue
    from apps.sandbox.xero.models import XeroGrant

    grant = XeroGrant.objects.get()
    grant.scope = "openid accounting.contacts.read"
    grant.save()
    token = refresh_token_issue(grant=grant).access_token
    headers = {
        "Authorization": f"Bearer {token}",
        "xero-tenant-id": tenant_id,
        "Accept": "application/json",
    }
    assert client.get(f"/sandbox/xero/api{API}/Contacts", headers=headers).status_code == 200
    answer = client.get(f"/sandbox/xero/api{API}/Invoices", headers=headers)
    assert answer.status_code == 401
    _problem(answer.json(), 401, "AuthorizationUnsuccessful")


def test_xml_is_not_spoken(client, seeded, tenant_id):
    answer = client.get(
        f"/sandbox/xero/api{API}/Contacts",
        headers={"Authorization": f"Bearer {seeded['access_token']}", "xero-tenant-id": tenant_id},
    )
    assert answer.status_code == 406


TOKEN_URL = "/sandbox/xero/identity/connect/token"


def test_token_endpoint_accepts_client_credentials_in_the_body(client, seeded):
    """The identity OAS's RefreshToken body carries client_id and client_secret (xero-python)."""
    answer = client.post(
        TOKEN_URL,
        {
            "grant_type": "refresh_token",
            "refresh_token": seeded["refresh_token"],
            "client_id": seeded["client_id"],
            "client_secret": CLIENT_SECRET,
            "scope": "accounting.contacts",
        },
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["refresh_token"] != seeded["refresh_token"]


def test_token_endpoint_refuses_a_wrong_or_missing_secret_in_the_body(client, seeded):
    wrong = client.post(
        TOKEN_URL,
        {
            "grant_type": "refresh_token",
            "refresh_token": seeded["refresh_token"],
            "client_id": seeded["client_id"],
            "client_secret": "not-the-secret",
        },
    )
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_client"})
    # A confidential app's id alone in the body is refused, naming both ways to authenticate.
    alone = client.post(
        TOKEN_URL,
        {
            "grant_type": "refresh_token",
            "refresh_token": seeded["refresh_token"],
            "client_id": seeded["client_id"],
        },
    )
    assert alone.status_code == 401 and alone.json()["error"] == "invalid_client"
    assert "client_secret" in alone.json()["error_description"]
    assert alone["WWW-Authenticate"].startswith("Basic")


def test_token_endpoint_refuses_basic_and_body_together(client, seeded):
    basic = base64.b64encode(f"{seeded['client_id']}:{CLIENT_SECRET}".encode()).decode()
    both = client.post(
        TOKEN_URL,
        {
            "grant_type": "refresh_token",
            "refresh_token": seeded["refresh_token"],
            "client_id": seeded["client_id"],
            "client_secret": CLIENT_SECRET,
        },
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


def test_token_endpoint_accepts_basic_auth(client, seeded):
    basic = base64.b64encode(f"{seeded['client_id']}:{CLIENT_SECRET}".encode()).decode()
    answer = client.post(
        TOKEN_URL,
        {"grant_type": "refresh_token", "refresh_token": seeded["refresh_token"]},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["refresh_token"] != seeded["refresh_token"]
