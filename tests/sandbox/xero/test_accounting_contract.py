"""Every Accounting answer of the emulator validates against xero_accounting.yaml."""

import pytest

from tests.sandbox.xero.conftest import body_of
from tests.sandbox.xero.schema import response_component, xero_validate

API = "/api.xro/2.0"
# Xero's default is a summarised 400 for a refused element (the OAS says default false).
SUMMARIZE = {"summarizeErrors": "true"}


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
    answer = xero.call(
        "PUT",
        f"{API}/Contacts",
        params=SUMMARIZE,
        json={"Contacts": [{"Name": "Xero Customer 0001"}]},
    )
    body = check(answer, "/Contacts", "PUT", "400")
    assert body["Type"] == "ValidationException"
    assert body["ErrorNumber"] == 10
    assert (
        "already assigned to another contact"
        in body["Elements"][0]["ValidationErrors"][0]["Message"]
    )


def _invoice(contact_id: str, **extra) -> dict:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-03-01",
        "DueDate": "2026-03-31",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Consulting",
                "Quantity": 3,
                "UnitAmount": "33.33",
                "AccountCode": "200",
            }
        ],
        **extra,
    }


def _first_contact_id(xero) -> str:
    return body_of(xero.call("GET", f"{API}/Contacts"))["Contacts"][0]["ContactID"]


def test_items_create_update_list_get_delete(xero):
    listed = check(xero.call("GET", f"{API}/Items"), "/Items", "GET")
    assert [i["Code"] for i in listed["Items"]] == ["SRV-001", "SRV-002"]
    created = check(
        xero.call(
            "PUT",
            f"{API}/Items",
            json={"Items": [{"Code": "NEW-1", "Name": "New", "SalesDetails": {"UnitPrice": 12.5}}]},
        ),
        "/Items",
        "PUT",
    )
    item_id = created["Items"][0]["ItemID"]
    assert created["Items"][0]["SalesDetails"]["UnitPrice"] == 12.5
    updated = check(
        xero.call("POST", f"{API}/Items/{item_id}", json={"Items": [{"Name": "Renamed"}]}),
        "/Items/{ItemID}",
        "POST",
    )
    assert updated["Items"][0]["Name"] == "Renamed"
    # POST to the collection with a known Code updates that item rather than adding one.
    check(
        xero.call("POST", f"{API}/Items", json={"Items": [{"Code": "NEW-1", "Name": "Again"}]}),
        "/Items",
        "POST",
    )
    one = check(xero.call("GET", f"{API}/Items/{item_id}"), "/Items/{ItemID}", "GET")
    assert one["Items"][0]["Name"] == "Again"
    assert xero.call("DELETE", f"{API}/Items/{item_id}").status_code == 204
    assert xero.call("GET", f"{API}/Items/{item_id}").status_code == 404
    duplicate = xero.call(
        "PUT", f"{API}/Items", params=SUMMARIZE, json={"Items": [{"Code": "SRV-001"}]}
    )
    check(duplicate, "/Items", "PUT", "400")


def test_quotes_lifecycle_and_totals(xero):
    contact_id = _first_contact_id(xero)
    created = check(
        xero.call(
            "PUT",
            f"{API}/Quotes",
            json={
                "Quotes": [
                    {
                        "Contact": {"ContactID": contact_id},
                        "Date": "2026-02-01",
                        "ExpiryDate": "2026-02-28",
                        "Reference": "Q-000123",
                        "LineItems": [
                            {"Description": "Foobar", "Quantity": 1, "UnitAmount": 20},
                            {"ItemCode": "SRV-001", "Quantity": 2},
                        ],
                    }
                ]
            },
        ),
        "/Quotes",
        "PUT",
    )
    quote = created["Quotes"][0]
    assert quote["Status"] == "DRAFT"
    assert quote["QuoteNumber"] == "QU-0001"
    assert quote["Reference"] == "Q-000123"
    # SRV-001 sells at 125.00; OUTPUT is 15 % in the seeded organisation, rounded per line.
    assert quote["SubTotal"] == 270.00
    assert quote["TotalTax"] == 40.50
    assert quote["Total"] == 310.50
    quote_id = quote["QuoteID"]
    for status in ("SENT", "ACCEPTED", "INVOICED"):
        moved = check(
            xero.call("POST", f"{API}/Quotes/{quote_id}", json={"Quotes": [{"Status": status}]}),
            "/Quotes/{QuoteID}",
            "POST",
        )
        assert moved["Quotes"][0]["Status"] == status
    back = xero.call(
        "POST",
        f"{API}/Quotes/{quote_id}",
        params=SUMMARIZE,
        json={"Quotes": [{"Status": "DRAFT"}]},
    )
    check(back, "/Quotes/{QuoteID}", "POST", "400")
    found = check(
        xero.call("GET", f"{API}/Quotes", params={"QuoteNumber": "QU-0001"}), "/Quotes", "GET"
    )
    assert [q["QuoteID"] for q in found["Quotes"]] == [quote_id]
    check(xero.call("GET", f"{API}/Quotes/{quote_id}"), "/Quotes/{QuoteID}", "GET")


def test_invoice_payments_move_amounts_and_status(xero):
    contact_id = _first_contact_id(xero)
    created = check(
        xero.call(
            "PUT",
            f"{API}/Invoices",
            json={"Invoices": [_invoice(contact_id, Reference="INV-REF-1", Status="AUTHORISED")]},
        ),
        "/Invoices",
        "PUT",
    )
    invoice = created["Invoices"][0]
    assert invoice["Reference"] == "INV-REF-1"
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (99.99, 15.0, 114.99)
    assert invoice["AmountDue"] == 114.99
    invoice_id = invoice["InvoiceID"]
    paid = check(
        xero.call(
            "PUT",
            f"{API}/Payments",
            json={
                "Payments": [
                    {
                        "Invoice": {"InvoiceID": invoice_id},
                        "Account": {"Code": "970"},
                        "Date": "2026-03-05",
                        "Amount": "100.00",
                    }
                ]
            },
        ),
        "/Payments",
        "PUT",
    )
    assert paid["Payments"][0]["Amount"] == 100.0
    after = check(xero.call("GET", f"{API}/Invoices/{invoice_id}"), "/Invoices/{InvoiceID}", "GET")
    assert after["Invoices"][0]["AmountPaid"] == 100.0
    assert after["Invoices"][0]["AmountDue"] == 14.99
    assert after["Invoices"][0]["Status"] == "AUTHORISED"
    over = xero.call(
        "POST",
        f"{API}/Payments",
        params=SUMMARIZE,
        json={
            "Payments": [
                {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "970"}, "Amount": 20}
            ]
        },
    )
    assert (
        "exceeds the amount outstanding"
        in check(over, "/Payments", "POST", "400")["Elements"][0]["ValidationErrors"][0]["Message"]
    )
    rest = check(
        xero.call(
            "POST",
            f"{API}/Payments",
            json={
                "Payments": [
                    {
                        "Invoice": {"InvoiceID": invoice_id},
                        "Account": {"Code": "090"},
                        "Amount": 14.99,
                    }
                ]
            },
        ),
        "/Payments",
        "POST",
    )
    payment_id = rest["Payments"][0]["PaymentID"]
    settled = check(
        xero.call("GET", f"{API}/Invoices/{invoice_id}"), "/Invoices/{InvoiceID}", "GET"
    )
    assert settled["Invoices"][0]["Status"] == "PAID"
    assert settled["Invoices"][0]["AmountDue"] == 0
    assert len(settled["Invoices"][0]["Payments"]) == 2
    deleted = check(
        xero.call(
            "POST", f"{API}/Payments/{payment_id}", json={"Payments": [{"Status": "DELETED"}]}
        ),
        "/Payments/{PaymentID}",
        "POST",
    )
    assert deleted["Payments"][0]["Status"] == "DELETED"
    reopened = body_of(xero.call("GET", f"{API}/Invoices/{invoice_id}"))["Invoices"][0]
    assert (reopened["Status"], reopened["AmountDue"]) == ("AUTHORISED", 14.99)
    payments = check(xero.call("GET", f"{API}/Payments"), "/Payments", "GET")
    assert payments["pagination"]["itemCount"] == 2
    check(xero.call("GET", f"{API}/Payments/{payment_id}"), "/Payments/{PaymentID}", "GET")


def test_invoice_update_and_filters(xero):
    contact_id = _first_contact_id(xero)
    first = body_of(
        xero.call(
            "PUT", f"{API}/Invoices", json={"Invoices": [_invoice(contact_id, Reference="A")]}
        )
    )["Invoices"][0]
    xero.call("PUT", f"{API}/Invoices", json={"Invoices": [_invoice(contact_id, Reference="B")]})
    updated = check(
        xero.call(
            "POST",
            f"{API}/Invoices/{first['InvoiceID']}",
            json={"Invoices": [{"Reference": "A2", "Status": "AUTHORISED"}]},
        ),
        "/Invoices/{InvoiceID}",
        "POST",
    )
    assert updated["Invoices"][0]["Reference"] == "A2"
    found = check(
        xero.call("GET", f"{API}/Invoices", params={"where": 'Reference=="A2"'}), "/Invoices", "GET"
    )
    assert [i["InvoiceID"] for i in found["Invoices"]] == [first["InvoiceID"]]
    by_status = body_of(
        xero.call("GET", f"{API}/Invoices", params={"Statuses": "DRAFT", "order": "Reference DESC"})
    )
    assert [i["Reference"] for i in by_status["Invoices"]] == ["B"]
    upsert = check(
        xero.call(
            "POST",
            f"{API}/Invoices",
            json={"Invoices": [{"InvoiceNumber": first["InvoiceNumber"], "Reference": "A3"}]},
        ),
        "/Invoices",
        "POST",
    )
    assert upsert["Invoices"][0]["InvoiceID"] == first["InvoiceID"]


def test_organisation(xero, seeded):
    body = check(xero.call("GET", f"{API}/Organisation"), "/Organisation", "GET")
    assert body["Organisations"][0]["OrganisationID"] == seeded["tenants"][0]["tenant_id"]


def test_summarize_errors_false_answers_each_element(xero):
    answer = xero.call(
        "PUT",
        f"{API}/Contacts",
        params={"summarizeErrors": "false"},
        json={"Contacts": [{"Name": "Fresh Co"}, {"Name": "Xero Customer 0002"}]},
    )
    body = check(answer, "/Contacts", "PUT")
    good, bad = body["Contacts"]
    assert good["StatusAttributeString"] == "OK" and good["ContactID"]
    assert bad["StatusAttributeString"] == "ERROR"
    assert bad["HasValidationErrors"] is True
    assert bad["ValidationErrors"][0]["Message"].startswith("The contact name Xero Customer 0002")
    names = [c["Name"] for c in body_of(xero.call("GET", f"{API}/Contacts"))["Contacts"]]
    assert "Fresh Co" in names


@pytest.mark.parametrize("params", [SUMMARIZE, None])
def test_summarised_batch_is_a_400_yet_keeps_the_valid_elements(xero, params):
    """Xero's default (and summarizeErrors=true): 400 listing the refused elements, while the
    valid ones are created without their IDs being returned (ecosystem-notes §10(e))."""
    answer = xero.call(
        "PUT",
        f"{API}/Contacts",
        params=params,
        json={"Contacts": [{"Name": "Kept"}, {"Name": ""}]},
    )
    body = check(answer, "/Contacts", "PUT", "400")
    assert body["Message"] == "A validation exception occurred"
    assert len(body["Elements"]) == 1
    assert body["Elements"][0]["ValidationErrors"] == [
        {"Message": "The contact name must be provided."}
    ]
    names = [c["Name"] for c in body_of(xero.call("GET", f"{API}/Contacts"))["Contacts"]]
    assert "Kept" in names


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('Name=="xero customer 0002"', ["Xero Customer 0002"]),
        ('EmailAddress=="customer0003@xero-sandbox.test"', ["Xero Customer 0003"]),
        ('ContactStatus=="ACTIVE" AND Name.StartsWith("Xero Customer 000")', None),
        ('ContactStatus=="ARCHIVED"', []),
    ],
)
def test_contacts_where(xero, where, expected):
    body = check(xero.call("GET", f"{API}/Contacts", params={"where": where}), "/Contacts", "GET")
    names = [c["Name"] for c in body["Contacts"]]
    if expected is None:
        expected = ["Xero Customer 0001", "Xero Customer 0002", "Xero Customer 0003"]
    assert names == expected


def test_unknown_where_field_is_refused(xero):
    answer = xero.call("GET", f"{API}/Contacts", params={"where": 'Colour=="red"'})
    assert "Colour" in check(answer, "/Contacts", "PUT", "400")["Message"]


def test_order_paging_and_if_modified_since(xero):
    body = body_of(
        xero.call(
            "GET",
            f"{API}/Contacts",
            params={"order": "Name DESC", "page": 2, "pageSize": 2},
        )
    )
    assert body["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    assert [c["Name"] for c in body["Contacts"]] == ["Xero Customer 0001"]
    updated = body_of(xero.call("GET", f"{API}/Contacts", params={"order": "UpdatedDateUTC ASC"}))
    stamps = [c["UpdatedDateUTC"] for c in updated["Contacts"]]
    assert stamps == sorted(stamps, key=lambda s: int(s[6:-7]))
    future = xero.call(
        "GET", f"{API}/Contacts", headers={"If-Modified-Since": "2999-01-01T00:00:00"}
    )
    assert body_of(future)["Contacts"] == []
    past = xero.call("GET", f"{API}/Contacts", headers={"If-Modified-Since": "2000-01-01T00:00:00"})
    assert len(body_of(past)["Contacts"]) == 3
    since = xero.call(
        "GET",
        f"{API}/Contacts",
        params={"where": "UpdatedDateUTC>=DateTime(2000,01,01)"},
    )
    assert len(body_of(since)["Contacts"]) == 3
