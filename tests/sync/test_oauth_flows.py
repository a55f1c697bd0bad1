"""The admin's Connect Zoho / Connect Xero buttons end to end against the sandbox's consent
pages over real HTTP: state checked, PKCE for Xero, the code exchanged, accounts chosen."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.sync.models import Connection, Credential
from tests.sync.sandbox import point_settings_at, seed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(live_server, settings):
    point_settings_at(settings, live_server.url)
    return live_server


def consent(url: str, choices: dict, *, signed_in) -> str:
    """Open a sandbox consent page as the signed-in admin (the sandbox stands for the vendor's
    login with this site's staff session), submit `choices`; return where it redirects."""
    browser = requests.Session()
    browser.cookies.set("sessionid", signed_in.cookies["sessionid"].value)
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = browser.post(
        url.split("?")[0],
        data={**fields, **choices, "csrfmiddlewaretoken": token},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def test_connect_zoho_from_the_admin(sandbox, admin_client_mfa):
    zoho = seed(
        contacts=0,
        items=0,
        documents=0,
        crm_contacts=0,
        deals=0,
        skip_xero=True,
        callback_base_url="http://testserver",
    )["zoho"]
    start = admin_client_mfa.post("/sync/connect/zoho/", {"region": "com"})
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(f"{sandbox.url}/sandbox/zoho/accounts/oauth/v2/auth?")
    state = parse_qs(urlsplit(authorize).query)["state"][0]

    callback = consent(
        authorize,
        {"decision": "approve", "organization_id": zoho["organization_id"]},
        signed_in=admin_client_mfa,
    )
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [state] and query["accounts-server"]

    done = admin_client_mfa.get(f"{urlsplit(callback).path}?{urlsplit(callback).query}")
    assert done.status_code == 302 and done["Location"].endswith("/admin/sync/connection/")
    connection = Connection.objects.get(provider="zoho_books")
    assert connection.remote_account_id == zoho["organization_id"]
    assert connection.credential.api_domain.startswith(sandbox.url)


def test_a_callback_with_a_forged_state_is_refused(sandbox, admin_client_mfa):
    admin_client_mfa.post("/sync/connect/zoho/", {"region": "com"})
    forged = admin_client_mfa.get("/sync/oauth/zoho/callback/?code=x&state=forged")
    assert forged.status_code == 400
    assert Credential.objects.count() == 0


def test_a_callback_naming_a_foreign_accounts_server_is_refused(sandbox, admin_client_mfa):
    start = admin_client_mfa.post("/sync/connect/zoho/", {"region": "com"})
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    evil = admin_client_mfa.get(
        f"/sync/oauth/zoho/callback/?code=x&state={state}&accounts-server=https://evil.example"
    )
    assert evil.status_code == 400  # our client secret never goes to an unknown host


def test_connect_xero_with_pkce_one_connection_per_chosen_tenant(sandbox, admin_client_mfa):
    from apps.sandbox.xero.seed import seed_xero

    answer = seed_xero(
        tenants=3,
        contacts=0,
        items=0,
        redirect_uris=["http://testserver/sync/oauth/xero/callback/"],
    )
    start = admin_client_mfa.post("/sync/connect/xero/")
    authorize = start["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    chosen = [t["tenant_id"] for t in answer["tenants"][:2]]

    callback = consent(
        authorize, {"decision": "allow", "tenant": chosen}, signed_in=admin_client_mfa
    )
    parts = urlsplit(callback)
    page = admin_client_mfa.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200  # two organisations reachable: choose which
    done = admin_client_mfa.post("/sync/connect/choose/", {"account": chosen})
    assert done.status_code == 302
    connections = Connection.objects.filter(provider="xero")
    assert sorted(c.remote_account_id for c in connections) == sorted(chosen)
    assert Credential.objects.count() == 1
