"""Identity over real HTTP: consent with PKCE, token bodies, rotation with grace, revocation."""

import requests

from apps.sandbox import clock
from tests.sandbox.xero.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    consent,
    pkce_pair,
)
from tests.sandbox.xero.schema import response_component, xero_validate

SCOPE = "openid profile email offline_access accounting.contacts accounting.transactions"


def _urls(live_server) -> dict:
    base = f"{live_server.url}/sandbox/xero"
    return {
        "authorize": f"{base}/login/identity/connect/authorize",
        "token": f"{base}/identity/connect/token",
        "revocation": f"{base}/identity/connect/revocation",
        "connections": f"{base}/api/connections",
    }


def _authorize_params(challenge: str) -> dict:
    return {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def _token(urls, data: dict) -> requests.Response:
    return requests.post(urls["token"], data=data, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)


def _code_flow(live_server, browser, tenants=None) -> tuple[dict, str, str]:
    urls = _urls(live_server)
    verifier, challenge = pkce_pair()
    redirect = consent(browser, urls["authorize"], _authorize_params(challenge), tenants=tenants)
    return urls, redirect["code"], verifier


def test_pkce_is_checked_and_the_code_is_single_use(live_server, live_seeded, staff_browser):
    urls, code, verifier = _code_flow(live_server, staff_browser)
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    wrong = _token(urls, {**grant, "code_verifier": verifier + "x"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = _token(urls, grant)
    assert missing.json()["error"] == "invalid_grant"
    good = _token(urls, {**grant, "code_verifier": verifier})
    assert good.status_code == 200, good.text
    body = good.json()
    xero_validate("identity", "AccessToken", body)
    assert body["expires_in"] == 1800
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] and body["id_token"]
    assert body["access_token"].count(".") == 2  # JWT-shaped
    again = _token(urls, {**grant, "code_verifier": verifier})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_plain_challenge_method_is_refused(live_server, live_seeded, staff_browser):
    urls = _urls(live_server)
    params = {**_authorize_params("abc"), "code_challenge_method": "plain"}
    answer = staff_browser.get(urls["authorize"], params=params, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert "error=invalid_request" in answer.headers["Location"]
    assert "state=st4te" in answer.headers["Location"]


def test_bad_client_credentials(live_server, live_seeded):
    answer = requests.post(
        _urls(live_server)["token"],
        data={"grant_type": "refresh_token", "refresh_token": live_seeded["refresh_token"]},
        auth=(CLIENT_ID, "wrong"),
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_client"})


def test_rotated_refresh_token_keeps_its_30_minute_grace(live_server, live_seeded):
    urls = _urls(live_server)
    first = live_seeded["refresh_token"]
    rotated = _token(urls, {"grant_type": "refresh_token", "refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    # 29 vendor minutes later the previous token still refreshes (its answer may have been lost).
    clock.clock_advance(vendor="xero", account=CLIENT_ID, vendor_seconds=29 * 60)
    replay = _token(urls, {"grant_type": "refresh_token", "refresh_token": first})
    assert replay.status_code == 200, replay.text
    xero_validate("identity", "AccessToken", replay.json())
    # Past 30 minutes from its rotation it is dead; the newer ones still work.
    clock.clock_advance(vendor="xero", account=CLIENT_ID, vendor_seconds=2 * 60)
    dead = _token(urls, {"grant_type": "refresh_token", "refresh_token": first})
    assert (dead.status_code, dead.json()["error"]) == (400, "invalid_grant")
    fresh = _token(urls, {"grant_type": "refresh_token", "refresh_token": second})
    assert fresh.status_code == 200


def test_connections_list_and_delete_and_revocation(live_server, live_seeded, staff_browser):
    urls, code, verifier = _code_flow(
        live_server, staff_browser, tenants=[live_seeded["tenants"][1]["tenant_id"]]
    )
    tokens = _token(
        urls,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    ).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    listed = requests.get(urls["connections"], headers=bearer, timeout=10)
    assert listed.status_code == 200
    assert "X-AppMinLimit-Remaining" in listed.headers
    assert "X-MinLimit-Remaining" not in listed.headers
    body = listed.json()
    xero_validate("identity", response_component("identity", "/Connections", "GET"), body[0])
    assert [c["tenantId"] for c in body] == [live_seeded["tenants"][1]["tenant_id"]]
    assert body[0]["tenantType"] == "ORGANISATION"
    by_event = requests.get(
        urls["connections"],
        headers=bearer,
        params={"authEventId": body[0]["authEventId"]},
        timeout=10,
    )
    assert len(by_event.json()) == 1
    gone = requests.delete(f"{urls['connections']}/{body[0]['id']}", headers=bearer, timeout=10)
    assert gone.status_code == 204
    assert requests.get(urls["connections"], headers=bearer, timeout=10).json() == []
    revoked = requests.post(
        urls["revocation"],
        data={"token": tokens["refresh_token"]},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert revoked.status_code == 200
    after = _token(urls, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert after.json()["error"] == "invalid_grant"
    assert requests.get(urls["connections"], headers=bearer, timeout=10).status_code == 401
