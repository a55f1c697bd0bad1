"""Zoho CRM v6 in the sandbox, field by field against vendor-contracts.md §3."""

import json

import pytest

from apps.sandbox import clock, seed
from apps.sandbox.models import WebhookDelivery
from apps.sandbox.zoho import accounts
from apps.sandbox.zoho.models import CrmRecord
from tests.sandbox.conftest import Crm, mint

pytestmark = pytest.mark.django_db
INFO_KEYS = {
    "page",
    "per_page",
    "count",
    "more_records",
    "sort_by",
    "sort_order",
    "next_page_token",
    "previous_page_token",
    "page_token_expiry",
}


def test_get_requires_fields(crm_api):
    answer = crm_api.get("Contacts")
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param_name": "fields"},
        "message": "required param is missing",
        "status": "error",
    }


def test_more_than_fifty_fields_is_limit_exceeded(crm_api):
    answer = crm_api.get("Contacts", fields=",".join(f"F{n}" for n in range(51)))
    assert answer.json()["code"] == "LIMIT_EXCEEDED"
    assert answer.json()["details"] == {"limit": 50, "param_name": "fields"}


def test_empty_module_answers_204_with_no_body(crm_api):
    answer = crm_api.get("Deals", fields="Deal_Name")
    assert answer.status_code == 204 and answer.content == b""


def test_unknown_module_and_url(crm_api):
    assert crm_api.get("Bananas", fields="Name").json()["code"] == "INVALID_MODULE"
    assert crm_api.get("Contacts/1/2/3", fields="x").status_code == 404


def test_records_and_info_block(crm_api, zoho_org):
    seed.crm_top_up(zoho_org, "Contacts", 5)
    answer = crm_api.get("Contacts", fields="First_Name,Last_Name,Email", per_page=2)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body["info"]) >= INFO_KEYS
    assert body["info"]["count"] == 2 and body["info"]["more_records"] is True
    assert body["info"]["sort_by"] == "id" and body["info"]["sort_order"] == "desc"
    record = body["data"][0]
    assert set(record) == {"id", "First_Name", "Last_Name", "Email"}
    assert record["id"].isdigit()


def test_pages_beyond_ten_of_200_need_a_page_token(crm_api, zoho_org):
    answer = crm_api.get("Contacts", fields="Last_Name", page=11, per_page=200)
    assert answer.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


def test_page_token_walks_every_record_once(crm_api, zoho_org):
    seed.crm_top_up(zoho_org, "Contacts", 25)
    seen, params = [], {"fields": "Last_Name", "per_page": 10}
    while True:
        body = crm_api.get("Contacts", **params).json()
        seen += [row["id"] for row in body["data"]]
        if not body["info"]["more_records"]:
            break
        params = {
            "fields": "Last_Name",
            "per_page": 10,
            "page_token": body["info"]["next_page_token"],
        }
    assert len(seen) == 25 == len(set(seen))


def test_insert_201_then_207_with_per_record_results(crm_api):
    answer = crm_api.send("post", "Contacts", {"data": [{"Last_Name": "Doe", "Email": "j@x.test"}]})
    assert answer.status_code == 201
    [result] = answer.json()["data"]
    assert (result["code"], result["message"], result["status"]) == (
        "SUCCESS",
        "record added",
        "success",
    )
    assert {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"} <= set(
        result["details"]
    )
    mixed = crm_api.send(
        "post", "Contacts", {"data": [{"Last_Name": "A"}, {"First_Name": "NoLast"}]}
    )
    assert mixed.status_code == 207
    bad = mixed.json()["data"][1]
    assert bad == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
        "message": "required field not found",
        "status": "error",
    }
    invalid = crm_api.send("post", "Contacts", {"data": [{"Last_Name": "A", "Email": "not-mail"}]})
    assert invalid.status_code == 400
    assert invalid.json()["data"][0]["code"] == "INVALID_DATA"


def test_update_and_read_single_record(crm_api):
    created = crm_api.send(
        "post", "Deals", {"data": [{"Deal_Name": "Big", "Stage": "Qualification", "Amount": 100}]}
    )
    record_id = created.json()["data"][0]["details"]["id"]
    updated = crm_api.send("put", "Deals", {"data": [{"id": record_id, "Stage": "Closed Won"}]})
    assert updated.status_code == 200
    assert updated.json()["data"][0]["message"] == "record updated"
    one = crm_api.send("put", f"Deals/{record_id}", {"data": [{"Amount": 250}]})
    assert one.status_code == 200
    [record] = crm_api.get(f"Deals/{record_id}").json()["data"]
    assert (record["Deal_Name"], record["Stage"], record["Amount"]) == ("Big", "Closed Won", 250)
    assert record["Owner"]["name"] and record["Created_Time"].endswith("+02:00")
    missing = crm_api.send("put", "Deals", {"data": [{"id": "999", "Stage": "x"}]})
    assert missing.status_code == 400 and missing.json()["data"][0]["code"] == "INVALID_DATA"


def test_upsert_by_duplicate_check_fields(crm_api):
    first = crm_api.send(
        "post", "Contacts/upsert", {"data": [{"Last_Name": "Doe", "Email": "doe@x.test"}]}
    )
    assert first.status_code == 200
    inserted = first.json()["data"][0]
    assert (inserted["action"], inserted["duplicate_field"]) == ("insert", None)
    again = crm_api.send(
        "post",
        "Contacts/upsert",
        {
            "data": [{"Last_Name": "Doe", "Email": "DOE@x.test", "Phone": "1"}],
            "duplicate_check_fields": ["Email"],
        },
    )
    result = again.json()["data"][0]
    assert (result["action"], result["duplicate_field"], result["message"]) == (
        "update",
        "Email",
        "record updated",
    )
    assert result["details"]["id"] == inserted["details"]["id"]


def test_delete_by_ids(crm_api):
    created = crm_api.send("post", "Contacts", {"data": [{"Last_Name": "A"}, {"Last_Name": "B"}]})
    ids = [row["details"]["id"] for row in created.json()["data"]]
    answer = crm_api.client.delete(
        f"/sandbox/zoho/api/crm/v6/Contacts?ids={ids[0]},{ids[1]},123", **crm_api.headers
    )
    assert answer.status_code == 207
    results = answer.json()["data"]
    assert results[0] == {
        "code": "SUCCESS",
        "details": {"id": ids[0]},
        "message": "record deleted",
        "status": "success",
    }
    assert results[2]["code"] == "INVALID_DATA"


def test_expired_token_is_401_invalid_token(crm_api, zoho_org):
    clock.clock_advance(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=3601)
    answer = crm_api.get("Contacts", fields="Last_Name")
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }
    assert (
        crm_api.client.get("/sandbox/zoho/api/crm/v6/Contacts?fields=x").json()["code"]
        == "AUTHENTICATION_FAILURE"
    )


def test_watch_enable_list_notify_and_disable(crm_api):
    body = {
        "watch": [
            {
                "channel_id": "1000000068001",
                "events": ["Contacts.create", "Deals.all"],
                "token": "verify-me",
                "notify_url": "http://127.0.0.1:9/notify",
            }
        ]
    }
    enabled = crm_api.send("post", "actions/watch", body)
    assert enabled.status_code == 200
    [answer] = enabled.json()["watch"]
    assert (answer["code"], answer["status"]) == ("SUCCESS", "success")
    assert answer["message"] == "Successfully subscribed for actions-watch of the given module"
    events = answer["details"]["events"]
    assert {e["resource_name"] for e in events} == {"Contacts", "Deals"}
    assert all(e["channel_id"] == "1000000068001" and e["channel_expiry"] for e in events)
    listed = crm_api.get("actions/watch").json()["watch"]
    assert listed[0]["channel_id"] == 1000000068001
    created = crm_api.send("post", "Contacts", {"data": [{"Last_Name": "Notify"}]})
    record_id = created.json()["data"][0]["details"]["id"]
    [delivery] = WebhookDelivery.objects.filter(kind="crm.notification")
    sent = json.loads(delivery.body)
    assert (sent["channel_id"], sent["token"]) == (1000000068001, "verify-me")
    assert (sent["module"], sent["operation"], sent["ids"]) == ("Contacts", "insert", [record_id])
    # Contacts.edit is not watched: no callback.
    crm_api.send("put", "Contacts", {"data": [{"id": record_id, "Phone": "1"}]})
    assert WebhookDelivery.objects.filter(kind="crm.notification").count() == 1
    disabled = crm_api.client.delete(
        "/sandbox/zoho/api/crm/v6/actions/watch?channel_ids=1000000068001", **crm_api.headers
    )
    assert disabled.json()["watch"][0]["status"] == "success"
    assert crm_api.get("actions/watch").status_code == 204


def test_watch_requires_channel_id_and_short_token(crm_api):
    missing = crm_api.send(
        "post",
        "actions/watch",
        {"watch": [{"events": ["Contacts.all"], "notify_url": "http://127.0.0.1:9/notify"}]},
    )
    assert missing.json()["code"] == "MANDATORY_NOT_FOUND"
    long_token = crm_api.send(
        "post",
        "actions/watch",
        {
            "watch": [
                {
                    "channel_id": "1",
                    "events": ["Contacts.all"],
                    "notify_url": "http://127.0.0.1:9/notify",
                    "token": "x" * 51,
                }
            ]
        },
    )
    assert long_token.json()["code"] == "INVALID_DATA"


def _first_page(crm_api, **params):
    body = crm_api.get("Contacts", fields="Last_Name", per_page=2, **params).json()
    assert body["info"]["more_records"] is True
    return body


def test_page_token_survives_the_deletion_of_its_last_record(crm_api, zoho_org):
    seed.crm_top_up(zoho_org, "Contacts", 5)
    first = _first_page(crm_api)
    crm_api.client.delete(
        f"/sandbox/zoho/api/crm/v6/Contacts?ids={first['data'][-1]['id']}", **crm_api.headers
    )
    token = first["info"]["next_page_token"]
    assert len(token) <= 96
    rest, params = [], {"page_token": token}
    while True:
        body = crm_api.get("Contacts", fields="Last_Name", per_page=2, **params).json()
        rest += [row["id"] for row in body["data"]]
        if not body["info"]["more_records"]:
            break
        params = {"page_token": body["info"]["next_page_token"]}
    everyone = list(CrmRecord.objects.order_by("-record_id").values_list("record_id", flat=True))
    assert rest == everyone[1:]  # the deleted record was the first page's last one


@pytest.mark.parametrize(
    "other",
    [
        {"sort_order": "asc"},
        {"sort_by": "Modified_Time"},
        {"ids": "1,2"},
    ],
)
def test_page_token_only_continues_its_own_listing(crm_api, zoho_org, other):
    seed.crm_top_up(zoho_org, "Contacts", 5)
    token = _first_page(crm_api)["info"]["next_page_token"]
    answer = crm_api.get("Contacts", fields="Last_Name", per_page=2, page_token=token, **other)
    assert answer.status_code == 400
    assert answer.json()["details"] == {"param_name": "page_token"}


def test_page_token_is_tied_to_module_and_organisation(
    crm_api, client, zoho_org, zoho_client, access_token
):
    seed.crm_top_up(zoho_org, "Contacts", 5)
    seed.crm_top_up(zoho_org, "Deals", 5)
    token = _first_page(crm_api)["info"]["next_page_token"]
    deals = crm_api.get("Deals", fields="Deal_Name", per_page=2, page_token=token)
    assert deals.status_code == 400
    other_org = accounts.organization_create(name="Other Org")
    seed.crm_top_up(other_org, "Contacts", 5)
    refresh = accounts.refresh_token_issue(client=zoho_client, organization=other_org).token
    other = Crm(client, mint(client, refresh)["access_token"])
    answer = other.get("Contacts", fields="Last_Name", per_page=2, page_token=token)
    assert answer.status_code == 400


def test_page_token_expires_and_cannot_be_forged(crm_api, zoho_org, client, refresh_token):
    seed.crm_top_up(zoho_org, "Contacts", 5)
    token = _first_page(crm_api)["info"]["next_page_token"]
    served, rest = token.split(".", 1)
    forged = f"{int(served, 16) + 2:x}.{rest}"
    assert (
        crm_api.get("Contacts", fields="Last_Name", per_page=2, page_token=forged).status_code
        == 400
    )
    clock.clock_advance(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=86401)
    fresh = Crm(client, mint(client, refresh_token)["access_token"])  # the old one expired too
    expired = fresh.get("Contacts", fields="Last_Name", per_page=2, page_token=token)
    assert expired.status_code == 400
    assert expired.json()["details"] == {"param_name": "page_token"}
