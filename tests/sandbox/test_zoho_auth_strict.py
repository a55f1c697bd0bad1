"""Zoho auth is as strict as the contract: `Zoho-oauthtoken` only, and scopes checked per call."""

import pytest

from apps.sandbox.zoho import accounts
from tests.sandbox.conftest import Books, Crm, mint


def _token_with(client, zoho_org, zoho_client, scope: str) -> str:
    refresh = accounts.refresh_token_issue(client=zoho_client, organization=zoho_org, scope=scope)
    return mint(client, refresh.token)["access_token"]


def test_books_refuses_a_bearer_header(client, access_token, zoho_org):
    answer = client.get(
        f"/sandbox/zoho/api/books/v3/contacts?organization_id={zoho_org.organization_id}",
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
    )
    assert answer.status_code == 401
    assert answer.json() == {"code": 14, "message": "Invalid OAuth token"}


def test_crm_refuses_a_bearer_header(client, access_token):
    answer = client.get(
        "/sandbox/zoho/api/crm/v6/Contacts?fields=Last_Name",
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "AUTHENTICATION_FAILURE"


def test_a_crm_only_token_cannot_read_books(client, zoho_org, zoho_client):
    token = _token_with(client, zoho_org, zoho_client, "ZohoCRM.modules.ALL")
    books = Books(client, token, zoho_org.organization_id)
    for answer in (books.get("contacts"), books.get("organizations")):
        assert answer.status_code == 401
        assert answer.json() == {
            "code": 57,
            "message": "You are not authorized to perform this operation",
        }


def test_a_books_only_token_cannot_read_crm(client, zoho_org, zoho_client):
    token = _token_with(client, zoho_org, zoho_client, "ZohoBooks.fullaccess.all")
    answer = Crm(client, token).get("Contacts", fields="Last_Name")
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "OAUTH_SCOPE_MISMATCH",
        "message": "Unauthorized",
        "status": "error",
        "details": {},
    }


def test_a_read_scope_reads_but_does_not_write(client, zoho_org, zoho_client):
    token = _token_with(client, zoho_org, zoho_client, "ZohoBooks.contacts.READ")
    books = Books(client, token, zoho_org.organization_id)
    assert books.get("contacts").status_code == 200
    refused = books.post("contacts", {"contact_name": "Nope"})
    assert refused.status_code == 401 and refused.json()["code"] == 57
    # Items sit under the settings scope (assumed, see accounts.py), which contacts.READ lacks.
    assert books.get("items").json()["code"] == 57


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("ZohoCRM.modules.contacts.READ", True),
        ("ZohoCRM.modules.READ", True),
        ("ZohoCRM.modules.deals.ALL", False),
        ("ZohoCRM.notifications.ALL", False),
    ],
)
def test_crm_module_scopes(client, zoho_org, zoho_client, scope, allowed):
    token = _token_with(client, zoho_org, zoho_client, scope)
    answer = Crm(client, token).get("Contacts", fields="Last_Name")
    if allowed:
        assert answer.status_code == 204  # no contacts yet: allowed, and empty
    else:
        assert answer.status_code == 401 and answer.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_watch_needs_a_notifications_scope(client, zoho_org, zoho_client):
    token = _token_with(client, zoho_org, zoho_client, "ZohoCRM.modules.ALL")
    answer = Crm(client, token).get("actions/watch")
    assert answer.status_code == 401 and answer.json()["code"] == "OAUTH_SCOPE_MISMATCH"
