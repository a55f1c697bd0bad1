"""Every Accounting answer of the emulator validates against xero_accounting.yaml."""

import pytest

from tests.sandbox.xero.conftest import body_of
from tests.sandbox.xero.schema import response_component, xero_validate

API = "/api.xro/2.0"


def check(response, path: str, method: str, status: str = "200"):
    assert response.status_code == int(status), response.content[:2000]
    body = body_of(response)
    xero_validate("accounting", response_component("accounting", path, method, status), body)
    return body


def test_contacts_list_create_update_get(xero):
    listed = check(xero.call("GET", f"{API}/Contacts"), "/Contacts", "GET")
    assert listed["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 1, "itemCount": 3}
    created = check(
        xero.call(
            "PUT",
            f"{API}/Contacts",
            json={"Contacts": [{"Name": "Acme Ltd", "EmailAddress": "ap@acme.test"}]},
        ),
        "/Contacts",
        "PUT",
    )
    contact = created["Contacts"][0]
    assert contact["Name"] == "Acme Ltd"
    assert contact["ContactStatus"] == "ACTIVE"
    contact_id = contact["ContactID"]
    updated = check(
        xero.call(
            "POST",
            f"{API}/Contacts/{contact_id}",
            json={"Contacts": [{"EmailAddress": "billing@acme.test"}]},
        ),
        "/Contacts/{ContactID}",
        "POST",
    )
    assert updated["Contacts"][0]["EmailAddress"] == "billing@acme.test"
    upserted = check(
        xero.call(
            "POST",
            f"{API}/Contacts",
            json={"Contacts": [{"ContactID": contact_id, "FirstName": "Ann"}, {"Name": "New"}]},
        ),
        "/Contacts",
        "POST",
    )
    assert [c["Name"] for c in upserted["Contacts"]] == ["Acme Ltd", "New"]
    one = check(xero.call("GET", f"{API}/Contacts/{contact_id}"), "/Contacts/{ContactID}", "GET")
    assert one["Contacts"][0]["FirstName"] == "Ann"
    assert one["Contacts"][0]["UpdatedDateUTC"].startswith("/Date(")


def test_duplicate_name_is_a_validation_exception(xero):
    answer = xero.call("PUT", f"{API}/Contacts", json={"Contacts": [{"Name": "Xero Customer 0001"}]})
    body = check(answer, "/Contacts", "PUT", "400")
    assert body["Type"] == "ValidationException"
    assert body["ErrorNumber"] == 10
    assert "already assigned to another contact" in body["Elements"][0]["ValidationErrors"][0][
        "Message"
    ]
