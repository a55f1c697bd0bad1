"""Quotes and invoices by Xero's rules: totals per line, statuses and their moves, payments, and
validation errors worded as Xero words them."""

import pytest

from tests.sandbox.xero.conftest import body_of
from tests.sandbox.xero.test_accounting_contract import API, _first_contact_id, check

PER_ELEMENT = {"summarizeErrors": "false"}


def _lines(*specs) -> list[dict]:
    return [
        {"Description": f"Line {n}", "Quantity": q, "UnitAmount": u, "AccountCode": "200", **x}
        for n, (q, u, x) in enumerate(specs, start=1)
    ]


def _create_invoice(xero, lines, *, params=None, **extra) -> dict:
    element = {
        "Type": "ACCREC",
        "Contact": {"ContactID": _first_contact_id(xero)},
        "Date": "2026-03-01",
        "LineItems": lines,
        **extra,
    }
    answer = xero.call("PUT", f"{API}/Invoices", params=params, json={"Invoices": [element]})
    return check(answer, "/Invoices", "PUT")["Invoices"][0]


def test_tax_is_rounded_per_line_as_xero_documents(xero):
    # developer.xero.com "Rounding in Xero": 25.06, 25.61, 25.63 at 15 % -> tax 11.44, not 11.45.
    invoice = _create_invoice(xero, _lines((1, "25.06", {}), (1, "25.61", {}), (1, "25.63", {})))
    assert [line["TaxAmount"] for line in invoice["LineItems"]] == [3.76, 3.84, 3.84]
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (76.30, 11.44, 87.74)


def test_discount_rate_of_a_third_and_quantity_three(xero):
    invoice = _create_invoice(
        xero, _lines((3, "10.00", {"DiscountRate": "33.3333"}), (3, "33.33", {}))
    )
    first, second = invoice["LineItems"]
    assert (first["LineAmount"], first["TaxAmount"]) == (20.00, 3.00)
    assert (second["LineAmount"], second["TaxAmount"]) == (99.99, 15.00)
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (119.99, 18.00, 137.99)
    assert invoice["IsDiscounted"] is True
    amount_off = _create_invoice(xero, _lines((2, "50", {"DiscountAmount": "10"})))
    assert amount_off["LineItems"][0]["LineAmount"] == 90.00
    assert amount_off["Total"] == 103.50


def test_inclusive_and_no_tax(xero):
    inclusive = _create_invoice(
        xero, _lines((1, "115.00", {}), (1, "10.00", {})), LineAmountTypes="Inclusive"
    )
    assert [line["TaxAmount"] for line in inclusive["LineItems"]] == [15.00, 1.30]
    assert (inclusive["SubTotal"], inclusive["TotalTax"], inclusive["Total"]) == (
        108.70,
        16.30,
        125.00,
    )
    no_tax = _create_invoice(xero, _lines((3, "33.33", {})), LineAmountTypes="NoTax")
    assert no_tax["LineItems"][0]["TaxType"] == "NONE"
    assert (no_tax["SubTotal"], no_tax["TotalTax"], no_tax["Total"]) == (99.99, 0, 99.99)


def test_unit_amounts_keep_two_places_unless_unitdp_4(xero):
    two = _create_invoice(xero, _lines((1000, "0.061171", {})))
    assert two["LineItems"][0]["UnitAmount"] == 0.06 and two["SubTotal"] == 60.00
    four = _create_invoice(xero, _lines((1000, "0.061171", {})), params={"unitdp": "4"})
    assert four["LineItems"][0]["UnitAmount"] == 0.0612 and four["SubTotal"] == 61.20


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"ItemCode": "NOPE"}, "Item code 'NOPE' is not valid."),
        (
            {"AccountCode": "999"},
            "Account code '999' is not a valid code for this document.",
        ),
        (
            {"TaxType": "OUTPUT9"},
            "The TaxType code 'OUTPUT9' does not exist or cannot be used with this type of "
            "transaction.",
        ),
        ({"DiscountRate": 120}, "DiscountRate must be between 0 and 100."),
        ({"Quantity": "lots"}, "Quantity must be a number."),
    ],
)
def test_line_errors_are_worded_as_xero_words_them(xero, line, message):
    element = {
        "Type": "ACCREC",
        "Contact": {"ContactID": _first_contact_id(xero)},
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, **line}],
    }
    answer = xero.call("PUT", f"{API}/Invoices", params=PER_ELEMENT, json={"Invoices": [element]})
    row = check(answer, "/Invoices", "PUT")["Invoices"][0]
    assert row["StatusAttributeString"] == "ERROR"
    assert [e["Message"] for e in row["ValidationErrors"]] == [message]


def test_duplicate_invoice_number_is_refused(xero):
    _create_invoice(xero, _lines((1, "1", {})), InvoiceNumber="DUP-1")
    element = {
        "Type": "ACCREC",
        "Contact": {"ContactID": _first_contact_id(xero)},
        "InvoiceNumber": "dup-1",
        "LineItems": _lines((1, "1", {})),
    }
    answer = xero.call("PUT", f"{API}/Invoices", params=PER_ELEMENT, json={"Invoices": [element]})
    row = check(answer, "/Invoices", "PUT")["Invoices"][0]
    assert row["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]


def _pay(xero, invoice_id: str, amount) -> object:
    return xero.call(
        "PUT",
        f"{API}/Payments",
        params=PER_ELEMENT,
        json={
            "Payments": [
                {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"}, "Amount": amount}
            ]
        },
    )


def _errors(answer) -> list[str]:
    row = body_of(answer)["Payments"][0]
    return [e["Message"] for e in row.get("ValidationErrors", [])]


def test_invoice_statuses_with_payments(xero):
    draft = _create_invoice(xero, _lines((3, "33.33", {})))  # 114.99
    assert draft["Status"] == "DRAFT"
    assert _errors(_pay(xero, draft["InvoiceID"], 1)) == [
        "Payments can only be made against Authorised documents"
    ]
    invoice_id = draft["InvoiceID"]
    authorised = body_of(
        xero.call(
            "POST", f"{API}/Invoices/{invoice_id}", json={"Invoices": [{"Status": "AUTHORISED"}]}
        )
    )["Invoices"][0]
    assert (authorised["Status"], authorised["AmountDue"]) == ("AUTHORISED", 114.99)
    assert _errors(_pay(xero, invoice_id, "115.00")) == [
        "Payment amount exceeds the amount outstanding on this document"
    ]
    assert _errors(_pay(xero, invoice_id, "50.00")) == []
    part = body_of(xero.call("GET", f"{API}/Invoices/{invoice_id}"))["Invoices"][0]
    assert (part["Status"], part["AmountPaid"], part["AmountDue"]) == ("AUTHORISED", 50, 64.99)
    void = xero.call(
        "POST",
        f"{API}/Invoices/{invoice_id}",
        params=PER_ELEMENT,
        json={"Invoices": [{"Status": "VOIDED"}]},
    )
    assert body_of(void)["Invoices"][0]["StatusAttributeString"] == "ERROR"
    assert _errors(_pay(xero, invoice_id, "64.99")) == []
    paid = check(xero.call("GET", f"{API}/Invoices/{invoice_id}"), "/Invoices/{InvoiceID}", "GET")
    invoice = paid["Invoices"][0]
    assert (invoice["Status"], invoice["AmountPaid"], invoice["AmountDue"]) == ("PAID", 114.99, 0)
    assert len(invoice["Payments"]) == 2 and invoice["FullyPaidOnDate"]


def test_void_without_payments_and_delete_only_drafts(xero):
    voided = _create_invoice(xero, _lines((1, "5", {})), Status="AUTHORISED")
    answer = xero.call(
        "POST", f"{API}/Invoices/{voided['InvoiceID']}", json={"Invoices": [{"Status": "VOIDED"}]}
    )
    assert body_of(answer)["Invoices"][0]["Status"] == "VOIDED"
    deleted = xero.call(
        "POST",
        f"{API}/Invoices/{voided['InvoiceID']}",
        params=PER_ELEMENT,
        json={"Invoices": [{"Status": "DELETED"}]},
    )
    assert body_of(deleted)["Invoices"][0]["StatusAttributeString"] == "ERROR"
    draft = _create_invoice(xero, _lines((1, "5", {})))
    gone = xero.call(
        "POST", f"{API}/Invoices/{draft['InvoiceID']}", json={"Invoices": [{"Status": "DELETED"}]}
    )
    assert body_of(gone)["Invoices"][0]["Status"] == "DELETED"


def _quote(xero) -> str:
    element = {
        "Contact": {"ContactID": _first_contact_id(xero)},
        "Date": "2026-02-01",
        "LineItems": _lines((3, "33.33", {})),
    }
    answer = xero.call("PUT", f"{API}/Quotes", json={"Quotes": [element]})
    return check(answer, "/Quotes", "PUT")["Quotes"][0]["QuoteID"]


def _move(xero, quote_id: str, status: str) -> dict:
    answer = xero.call(
        "POST",
        f"{API}/Quotes/{quote_id}",
        params=PER_ELEMENT,
        json={"Quotes": [{"Status": status}]},
    )
    return check(answer, "/Quotes/{QuoteID}", "POST")["Quotes"][0]


def test_quote_moves(xero):
    quote_id = _quote(xero)
    refused = _move(xero, quote_id, "ACCEPTED")
    assert refused["StatusAttributeString"] == "ERROR"
    assert refused["ValidationErrors"] == [
        {"Message": "A quote cannot move from DRAFT to ACCEPTED."}
    ]
    for status in ("SENT", "DECLINED", "SENT", "ACCEPTED", "INVOICED"):
        assert _move(xero, quote_id, status)["Status"] == status
    assert _move(xero, quote_id, "SENT")["StatusAttributeString"] == "ERROR"
    other = _quote(xero)
    assert _move(xero, other, "DELETED")["Status"] == "DELETED"
    assert _move(xero, other, "DRAFT")["StatusAttributeString"] == "ERROR"


def test_an_authorised_invoice_needs_an_account_on_each_line(xero):
    element = {
        "Type": "ACCREC",
        "Contact": {"ContactID": _first_contact_id(xero)},
        "Status": "AUTHORISED",
        "LineItems": [
            {"Description": "posted", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"},
            {"Description": "not posted", "Quantity": 1, "UnitAmount": 5},
            {"ItemCode": "SRV-001", "Quantity": 1},  # the item's sales account (200)
        ],
    }
    answer = xero.call("PUT", f"{API}/Invoices", params=PER_ELEMENT, json={"Invoices": [element]})
    row = check(answer, "/Invoices", "PUT")["Invoices"][0]
    assert row["ValidationErrors"] == [
        {
            "Message": "An Account Code must be specified for line item 2 before the invoice "
            "can be approved."
        }
    ]
    draft = xero.call(
        "PUT",
        f"{API}/Invoices",
        params=PER_ELEMENT,
        json={"Invoices": [{**element, "Status": "DRAFT"}]},
    )
    assert check(draft, "/Invoices", "PUT")["Invoices"][0]["StatusAttributeString"] == "OK"


def test_contact_identified_by_number_or_refused_in_xero_words(xero):
    contact_id = _first_contact_id(xero)
    xero.call(
        "POST", f"{API}/Contacts/{contact_id}", json={"Contacts": [{"ContactNumber": "C-77"}]}
    )
    lines = _lines((1, "1", {}))
    by_number = {"Type": "ACCREC", "Contact": {"ContactNumber": "C-77"}, "LineItems": lines}
    nobody = {"Type": "ACCREC", "Contact": {}, "LineItems": lines}
    answer = xero.call(
        "PUT", f"{API}/Invoices", params=PER_ELEMENT, json={"Invoices": [by_number, nobody]}
    )
    found, refused = check(answer, "/Invoices", "PUT")["Invoices"]
    assert found["Contact"]["ContactID"] == contact_id
    assert refused["ValidationErrors"] == [
        {
            "Message": "The Contact must contain at least 1 of the following elements to "
            "identify the contact: Name, ContactID, ContactNumber"
        }
    ]


def test_duplicate_item_code_in_xero_words(xero):
    answer = xero.call(
        "PUT", f"{API}/Items", params=PER_ELEMENT, json={"Items": [{"Code": "SRV-001"}]}
    )
    row = check(answer, "/Items", "PUT")["Items"][0]
    assert row["ValidationErrors"] == [
        {"Message": "Price List Item with Code 'SRV-001' already exists"}
    ]
