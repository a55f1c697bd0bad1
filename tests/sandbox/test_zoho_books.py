"""Zoho Books v3 in the sandbox, field by field against vendor-contracts.md §2."""

from datetime import timedelta

import pytest

from apps.sandbox import faults, seed
from apps.sandbox.models import WebhookDelivery
from apps.sandbox.zoho.models import BooksContact, BooksTax, BooksWebhook

pytestmark = pytest.mark.django_db

CONTACT_KEYS = {
    "contact_id",
    "contact_name",
    "company_name",
    "contact_type",
    "status",
    "email",
    "phone",
    "mobile",
    "first_name",
    "last_name",
    "website",
    "currency_code",
    "payment_terms",
    "payment_terms_label",
    "outstanding_receivable_amount",
    "is_linked_with_zohocrm",
    "contact_persons",
    "billing_address",
    "shipping_address",
    "notes",
    "created_time",
    "last_modified_time",
}
PAGE_CONTEXT_KEYS = {
    "page",
    "per_page",
    "has_more_page",
    "report_name",
    "applied_filter",
    "sort_column",
    "sort_order",
}
TIMESTAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$"


def _contact(books_api, **fields):
    answer = books_api.post("contacts", {"contact_name": "Thandi Nkosi", **fields})
    assert answer.status_code == 201, answer.content
    return answer.json()["contact"]


def _item(books_api, **fields):
    vat = BooksTax.objects.get(tax_name="VAT")
    body = {"name": "Labour", "rate": 520, "sku": "LAB-1", "tax_id": vat.tax_id}
    body |= fields
    answer = books_api.post("items", body)
    assert answer.status_code == 201, answer.content
    return answer.json()["item"]


def test_organizations_list(books_api, zoho_org):
    body = books_api.get("organizations").json()
    assert body["code"] == 0 and body["message"] == "success"
    assert [org["organization_id"] for org in body["organizations"]] == [zoho_org.organization_id]
    assert body["organizations"][0]["name"] == "Acme Services"


def test_contact_create_read_envelope_and_fields(books_api):
    created = _contact(books_api, email="thandi@example.test", company_name="Nkosi Plumbing")
    assert set(created) >= CONTACT_KEYS
    assert created["status"] == "active" and created["contact_type"] == "customer"
    import re

    assert re.match(TIMESTAMP, created["created_time"])
    read = books_api.get(f"contacts/{created['contact_id']}")
    assert read.status_code == 200
    body = read.json()
    assert (body["code"], body["message"]) == (0, "success")
    assert body["contact"]["email"] == "thandi@example.test"


def test_organization_id_is_required_and_checked(books_api, client, access_token):
    headers = {"HTTP_AUTHORIZATION": f"Zoho-oauthtoken {access_token}"}
    missing = client.get("/sandbox/zoho/api/books/v3/contacts", **headers)
    assert missing.status_code == 400
    assert missing.json() == {"code": 1002, "message": "Organization does not exist."}
    other = seed.accounts.organization_create(name="Other")
    foreign = client.get(
        f"/sandbox/zoho/api/books/v3/contacts?organization_id={other.organization_id}", **headers
    )
    assert foreign.status_code == 401 and foreign.json()["code"] == 57


def test_missing_or_bad_token_is_401_code_14(client, zoho_org):
    url = f"/sandbox/zoho/api/books/v3/contacts?organization_id={zoho_org.organization_id}"
    assert client.get(url).json() == {"code": 14, "message": "Invalid OAuth token"}
    bad = client.get(url, HTTP_AUTHORIZATION="Zoho-oauthtoken 1000.x.y")
    assert bad.status_code == 401


def test_unknown_id_is_1002_does_not_exist(books_api):
    answer = books_api.get("invoices/123456789")
    assert answer.status_code == 404
    assert answer.json() == {"code": 1002, "message": "Invoice does not exist."}


def test_unknown_path_is_invalid_url(books_api):
    answer = books_api.get("bananas")
    assert answer.status_code == 404 and answer.json()["message"] == "Invalid URL Passed"


def test_validation_error_names_the_field_and_changes_nothing(books_api):
    answer = books_api.post("contacts", {"email": "x@example.test"})
    assert answer.status_code == 400
    assert answer.json() == {"code": 4, "message": "Invalid value passed for contact_name."}
    assert BooksContact.objects.count() == 0


def test_jsonstring_form_body_is_accepted(books_api):
    answer = books_api.client.post(
        books_api.url("contacts"),
        {"JSONString": '{"contact_name": "Form Person"}'},
        **books_api.headers,
    )
    assert answer.status_code == 201 and answer.json()["contact"]["contact_name"] == "Form Person"


def test_paging_with_page_context(books_api, zoho_org):
    seed.contacts_top_up(zoho_org, 450)
    first = books_api.get("contacts", per_page=200).json()
    assert len(first["contacts"]) == 200
    assert set(first["page_context"]) == PAGE_CONTEXT_KEYS
    assert first["page_context"] | {} == {
        "page": 1,
        "per_page": 200,
        "has_more_page": True,
        "report_name": "Contacts",
        "applied_filter": "Status.All",
        "sort_column": "contact_name",
        "sort_order": "A",
    }
    third = books_api.get("contacts", page=3, per_page=200).json()
    assert len(third["contacts"]) == 50 and third["page_context"]["has_more_page"] is False
    capped = books_api.get("contacts", per_page=500).json()
    assert capped["page_context"]["per_page"] == 200


def test_search_filters_sorts_and_status_filter(books_api):
    _contact(books_api, contact_name="Zed Alpha", email="zed@example.test")
    beta = _contact(books_api, contact_name="Amy Beta", email="amy@example.test")
    books_api.post(f"contacts/{beta['contact_id']}/inactive")
    by_email = books_api.get("contacts", email="ZED@example.test").json()["contacts"]
    assert [c["contact_name"] for c in by_email] == ["Zed Alpha"]
    contains = books_api.get("contacts", contact_name_contains="bet").json()["contacts"]
    assert [c["contact_name"] for c in contains] == ["Amy Beta"]
    ordered = books_api.get("contacts", sort_column="contact_name", sort_order="D").json()
    assert [c["contact_name"] for c in ordered["contacts"]] == ["Zed Alpha", "Amy Beta"]
    active = books_api.get("contacts", filter_by="Status.Active").json()["contacts"]
    assert [c["contact_name"] for c in active] == ["Zed Alpha"]
    assert books_api.get("contacts", filter_by="Status.Nonsense").status_code == 400
    assert books_api.get("contacts", sort_column="nonsense").status_code == 400


def test_last_modified_time_filter(books_api, zoho_org):
    old = _contact(books_api, contact_name="Old")
    BooksContact.objects.filter(contact_id=old["contact_id"]).update(
        last_modified_time=BooksContact.objects.get(contact_id=old["contact_id"]).last_modified_time
        - timedelta(days=2)
    )
    fresh = _contact(books_api, contact_name="Fresh")
    since = fresh["last_modified_time"]
    names = [
        c["contact_name"]
        for c in books_api.get("contacts", last_modified_time=since).json()["contacts"]
    ]
    assert names == ["Fresh"]


def test_item_sku_search_and_uniqueness(books_api):
    _item(books_api)
    assert [i["sku"] for i in books_api.get("items", sku="lab-1").json()["items"]] == ["LAB-1"]
    clash = books_api.post("items", {"name": "Other", "rate": 1, "sku": "LAB-1"})
    assert clash.status_code == 400 and "SKU" in clash.json()["message"]
    assert books_api.post("items", {"name": "No rate"}).json()["message"] == (
        "Invalid value passed for rate."
    )


def _estimate(books_api, customer_id, item_id, **fields):
    body = {
        "customer_id": customer_id,
        "reference_number": "Q-000123",
        "line_items": [
            {"item_id": item_id, "quantity": 3},
            {"name": "Parts", "rate": "99.99", "quantity": 1},
        ],
    } | fields
    answer = books_api.post("estimates", body)
    assert answer.status_code == 201, answer.content
    return answer.json()["estimate"]


def test_estimate_totals_statuses_and_messages(books_api):
    customer = _contact(books_api)
    item = _item(books_api)
    estimate = _estimate(books_api, customer["contact_id"], item["item_id"])
    # 3 x 520.00 = 1560.00 taxed 15% = 234.00; 99.99 untaxed.
    assert (estimate["sub_total"], estimate["tax_total"], estimate["total"]) == (
        1659.99,
        234.0,
        1893.99,
    )
    assert estimate["status"] == "draft"
    assert estimate["line_items"][0]["item_total"] == 1560.0
    assert (
        estimate["taxes"] == [{"tax_name": "VAT", "tax_amount": 234.0}]
        or estimate["taxes"][0]["tax_amount"] == 234.0
    )
    estimate_id = estimate["estimate_id"]
    sent = books_api.post(f"estimates/{estimate_id}/status/sent").json()
    assert sent == {"code": 0, "message": "Estimate status has been changed to Sent."}
    assert books_api.post(f"estimates/{estimate_id}/status/accepted").json()["message"] == (
        "Estimate status has been changed to Accepted."
    )
    assert books_api.post(f"estimates/{estimate_id}/status/declined").json()["message"] == (
        "Estimate status has been changed to Declined."
    )
    found = books_api.get("estimates", reference_number="Q-000123").json()["estimates"]
    assert [e["status"] for e in found] == ["declined"]
    assert books_api.get("estimates", filter_by="Status.Declined").json()["estimates"]


def test_invoice_from_estimate_payments_and_status_actions(books_api):
    customer = _contact(books_api, email="pay@example.test")
    item = _item(books_api)
    estimate = _estimate(books_api, customer["contact_id"], item["item_id"])
    books_api.post(f"estimates/{estimate['estimate_id']}/status/sent")
    books_api.post(f"estimates/{estimate['estimate_id']}/status/accepted")
    created = books_api.post(
        "invoices",
        {
            "customer_id": customer["contact_id"],
            "estimate_id": estimate["estimate_id"],
            "reference_number": "Q-000123",
            "line_items": [{"item_id": item["item_id"], "quantity": 2}],
            "payment_terms": 30,
        },
    )
    assert created.status_code == 201
    invoice = created.json()["invoice"]
    assert invoice["estimate_id"] == estimate["estimate_id"]
    assert (invoice["status"], invoice["total"], invoice["balance"]) == ("draft", 1196.0, 1196.0)
    status = books_api.get(f"estimates/{estimate['estimate_id']}").json()["estimate"]["status"]
    assert status == "invoiced"
    invoice_id = invoice["invoice_id"]
    assert books_api.post(f"invoices/{invoice_id}/status/sent").json()["message"] == (
        "Invoice status has been changed to Sent."
    )
    paid = books_api.post(
        "customerpayments",
        {
            "customer_id": customer["contact_id"],
            "payment_mode": "banktransfer",
            "amount": 500,
            "date": "2026-11-20",
            "reference_number": "EFT-1",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": 500}],
        },
    )
    assert paid.status_code == 201, paid.content
    payment = paid.json()["payment"]
    assert payment["invoices"][0]["amount_applied"] == 500.0
    assert payment["invoices"][0]["balance"] == 696.0
    assert payment["unused_amount"] == 0.0
    after = books_api.get(f"invoices/{invoice_id}").json()["invoice"]
    assert (after["status"], after["balance"], after["payment_made"]) == (
        "partially_paid",
        696.0,
        500.0,
    )
    assert books_api.get("invoices", status="partiallypaid").json()["invoices"]
    contact = books_api.get(f"contacts/{customer['contact_id']}").json()["contact"]
    assert contact["outstanding_receivable_amount"] == 696.0
    over = books_api.post(
        "customerpayments",
        {
            "customer_id": customer["contact_id"],
            "payment_mode": "cash",
            "amount": 1000,
            "date": "2026-11-20",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": 700}],
        },
    )
    assert over.status_code == 400 and "exceeds its balance" in over.json()["message"]
    books_api.post(
        "customerpayments",
        {
            "customer_id": customer["contact_id"],
            "payment_mode": "cash",
            "amount": 696,
            "date": "2026-11-21",
            "invoices": [{"invoice_id": invoice_id, "amount_applied": 696}],
        },
    )
    final = books_api.get(f"invoices/{invoice_id}").json()["invoice"]
    assert (final["status"], final["balance"]) == ("paid", 0.0)
    assert books_api.post(f"invoices/{invoice_id}/status/void").status_code == 400
    payments = books_api.get("customerpayments", invoice_id=invoice_id).json()
    assert len(payments["customerpayments"]) == 2
    # Deleting a payment puts the balance back.
    books_api.delete(f"customerpayments/{payment['payment_id']}")
    back = books_api.get(f"invoices/{invoice_id}").json()["invoice"]
    assert (back["status"], back["balance"]) == ("partially_paid", 500.0)


def test_void_and_back_to_draft(books_api):
    customer = _contact(books_api)
    invoice = books_api.post(
        "invoices",
        {"customer_id": customer["contact_id"], "line_items": [{"name": "X", "rate": 10}]},
    ).json()["invoice"]
    invoice_id = invoice["invoice_id"]
    assert books_api.post(f"invoices/{invoice_id}/status/draft").status_code == 400
    assert books_api.post(f"invoices/{invoice_id}/status/void").json()["message"] == (
        "Invoice status has been changed to void."
    )
    assert books_api.post(f"invoices/{invoice_id}/status/draft").json()["message"] == (
        "Status of invoice changed from void to draft."
    )


def test_overdue_is_computed_from_the_due_date(books_api):
    customer = _contact(books_api)
    invoice = books_api.post(
        "invoices",
        {
            "customer_id": customer["contact_id"],
            "date": "2020-01-01",
            "due_date": "2020-01-31",
            "line_items": [{"name": "X", "rate": 10}],
        },
    ).json()["invoice"]
    books_api.post(f"invoices/{invoice['invoice_id']}/status/sent")
    assert (
        books_api.get(f"invoices/{invoice['invoice_id']}").json()["invoice"]["status"] == "overdue"
    )
    assert books_api.get("invoices", filter_by="Status.OverDue").json()["invoices"]
    assert not books_api.get("invoices", filter_by="Status.Sent").json()["invoices"]


def test_delete_and_mark_messages(books_api):
    contact = _contact(books_api)
    item = _item(books_api)
    assert books_api.post(f"items/{item['item_id']}/inactive").json()["message"] == (
        "The item has been marked as inactive."
    )
    assert books_api.delete(f"items/{item['item_id']}").json() == {
        "code": 0,
        "message": "The item has been deleted.",
    }
    assert books_api.post(f"contacts/{contact['contact_id']}/inactive").json()["message"] == (
        "The contact has been marked as inactive."
    )
    assert books_api.delete(f"contacts/{contact['contact_id']}").json()["message"] == (
        "The contact has been deleted."
    )


def test_update_contact(books_api):
    contact = _contact(books_api)
    answer = books_api.put(f"contacts/{contact['contact_id']}", {"phone": "+27 21 000 0000"})
    assert answer.status_code == 200
    assert answer.json()["contact"]["phone"] == "+27 21 000 0000"
    assert answer.json()["contact"]["contact_name"] == "Thandi Nkosi"


def test_rate_limit_headers_on_every_answer(books_api, zoho_org):
    answer = books_api.get("contacts")
    assert answer["X-Rate-Limit-Limit"] == str(zoho_org.books_daily_quota)
    assert answer["X-Rate-Limit-Remaining"] == str(zoho_org.books_daily_quota - 1)
    assert 0 < int(answer["X-Rate-Limit-Reset"]) <= 86400


def test_daily_quota_answers_429(books_api, zoho_org):
    zoho_org.books_daily_quota = 2
    zoho_org.save()
    assert [books_api.get("contacts").status_code for _ in range(3)] == [200, 200, 429]
    refused = books_api.get("contacts")
    assert refused["X-Rate-Limit-Remaining"] == "0" and int(refused["Retry-After"]) > 0


def test_error_share_answers_503_in_the_envelope(books_api, zoho_org):
    faults.fault_plan_set(vendor="zoho", account=zoho_org.organization_id, error_share=1.0)
    answer = books_api.get("contacts")
    assert answer.status_code == 503
    assert answer.json() == {"code": 1000, "message": "Internal error"}


def test_storm_answers_429_with_retry_after(books_api, zoho_org):
    faults.fault_storm(vendor="zoho", account=zoho_org.organization_id, vendor_seconds=20)
    answer = books_api.get("contacts")
    assert answer.status_code == 429 and 1 <= int(answer["Retry-After"]) <= 20


def test_books_webhook_is_queued_with_token_header_and_signature(books_api, zoho_org):
    created = books_api.post(
        "settings/webhooks",
        {
            "webhook_name": "Syncdesk",
            "entity": "contact",
            "url": "http://127.0.0.1:9/hook",
            "secret": "abcdefghijkl12",
            "query_parameters": [{"param_name": "k", "param_value": "v"}],
            "headers": [{"param_name": "X-Token", "param_value": "shared"}],
        },
    )
    assert created.status_code == 201
    contact = _contact(books_api)
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.url == "http://127.0.0.1:9/hook?k=v"
    assert delivery.headers["X-Token"] == "shared"
    from apps.sandbox.zoho.books import books_webhook_signature

    assert delivery.headers["X-Zoho-Webhook-Signature"] == books_webhook_signature(
        "abcdefghijkl12", {"k": "v"}, delivery.body
    )
    import json

    assert json.loads(delivery.body)["contact"]["contact_id"] == contact["contact_id"]
    assert BooksWebhook.objects.count() == 1
    assert books_api.get("settings/webhooks").json()["webhooks"][0]["entity"] == "contact"


def test_a_list_call_costs_a_few_queries_whatever_the_page(books_api, zoho_org, client):
    """Token, two rate counters, clock, fault plan, ids, rows: no transaction, no repeats."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.sandbox import seed

    seed.contacts_top_up(zoho_org, 450)
    books_api.get("contacts")  # the first call of a window also sweeps old windows
    for page in (1, 3):
        with CaptureQueriesContext(connection) as captured:
            answer = books_api.get("contacts", page=page)
        assert answer.status_code == 200 and len(answer.json()["contacts"]) == 200 - 150 * (
            page == 3
        )
        statements = [query["sql"] for query in captured.captured_queries]
        assert len(statements) <= 7, "\n".join(statements)
        assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()]
