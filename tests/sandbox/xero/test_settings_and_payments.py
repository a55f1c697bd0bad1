"""/Accounts and /TaxRates as Xero answers them, and payments posted as one bare object."""

from apps.sandbox.xero.seed import seed_xero
from tests.sandbox.xero.conftest import XeroCaller, body_of
from tests.sandbox.xero.test_accounting_contract import API, _first_contact_id, _invoice, check


def test_accounts_list_the_demo_chart(xero):
    body = check(xero.call("GET", f"{API}/Accounts"), "/Accounts", "GET")
    by_code = {a["Code"]: a for a in body["Accounts"]}
    assert by_code["200"]["Name"] == "Sales" and by_code["200"]["Type"] == "REVENUE"
    assert by_code["200"]["Class"] == "REVENUE" and by_code["200"]["TaxType"] == "OUTPUT"
    bank = by_code["090"]
    assert (bank["Name"], bank["Type"], bank["BankAccountType"]) == (
        "Business Bank Account",
        "BANK",
        "BANK",
    )
    assert bank["CurrencyCode"] == "ZAR" and bank["Class"] == "ASSET"
    assert by_code["610"]["SystemAccount"] == "DEBTORS"
    assert list(by_code) == sorted(by_code)  # ordered by code


def test_accounts_where_order_and_one(xero):
    banks = check(
        xero.call("GET", f"{API}/Accounts", params={"where": 'Status=="ACTIVE" AND Type=="BANK"'}),
        "/Accounts",
        "GET",
    )
    assert [a["Code"] for a in banks["Accounts"]] == ["090", "091"]
    ordered = body_of(xero.call("GET", f"{API}/Accounts", params={"order": "Name DESC"}))
    names = [a["Name"] for a in ordered["Accounts"]]
    assert names == sorted(names, reverse=True)
    one_id = banks["Accounts"][0]["AccountID"]
    one = check(xero.call("GET", f"{API}/Accounts/{one_id}"), "/Accounts/{AccountID}", "GET")
    assert [a["Code"] for a in one["Accounts"]] == ["090"]
    future = xero.call("GET", f"{API}/Accounts", headers={"If-Modified-Since": "2999-01-01"})
    assert body_of(future)["Accounts"] == []
    assert xero.call("PUT", f"{API}/Accounts", json={"Accounts": []}).status_code == 405


def test_tax_rates_with_components_and_effective_rate(xero):
    body = check(xero.call("GET", f"{API}/TaxRates"), "/TaxRates", "GET")
    by_type = {t["TaxType"]: t for t in body["TaxRates"]}
    assert {"OUTPUT", "INPUT", "NONE", "ZERORATEDOUTPUT", "EXEMPTOUTPUT"} <= set(by_type)
    output = by_type["OUTPUT"]
    assert output["EffectiveRate"] == 15 and output["DisplayTaxRate"] == 15
    assert output["TaxComponents"] == [
        {"Name": "VAT", "Rate": 15, "IsCompound": False, "IsNonRecoverable": False}
    ]
    assert output["CanApplyToRevenue"] is True and output["CanApplyToExpenses"] is False
    assert by_type["INPUT"]["CanApplyToExpenses"] is True
    assert by_type["NONE"]["EffectiveRate"] == 0
    active = check(
        xero.call("GET", f"{API}/TaxRates", params={"where": 'Status=="ACTIVE"'}),
        "/TaxRates",
        "GET",
    )
    assert len(active["TaxRates"]) == len(body["TaxRates"])
    named = body_of(xero.call("GET", f"{API}/TaxRates", params={"where": 'TaxType=="INPUT"'}))
    assert [t["Name"] for t in named["TaxRates"]] == ["Standard Rate Purchases"]


def test_settings_need_a_settings_scope(client, db):
    narrow = seed_xero(tenants=1, contacts=1, items=1, scope="accounting.contacts")
    caller = XeroCaller(
        base="/sandbox/xero/api",
        access_token=narrow["access_token"],
        tenant_id=narrow["tenants"][0]["tenant_id"],
        client=client,
    )
    assert caller.call("GET", f"{API}/TaxRates").status_code == 401
    assert caller.call("GET", f"{API}/Accounts").status_code == 401


def _authorised_invoice(xero) -> dict:
    created = body_of(
        xero.call(
            "PUT",
            f"{API}/Invoices",
            json={"Invoices": [_invoice(_first_contact_id(xero), Status="AUTHORISED")]},
        )
    )
    return created["Invoices"][0]


def test_a_single_payment_object_is_accepted_by_post_and_put(xero):
    invoice = _authorised_invoice(xero)
    single = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Date": "2026-03-05",
        "Amount": 10,
    }
    posted = check(xero.call("POST", f"{API}/Payments", json=single), "/Payments", "POST")
    assert [p["Amount"] for p in posted["Payments"]] == [10]
    put = check(
        xero.call("PUT", f"{API}/Payments", json={**single, "Amount": 5}), "/Payments", "PUT"
    )
    payment_id = put["Payments"][0]["PaymentID"]
    after = body_of(xero.call("GET", f"{API}/Invoices/{invoice['InvoiceID']}"))["Invoices"][0]
    assert after["AmountPaid"] == 15
    # deletePayment takes one PaymentDelete object too.
    deleted = check(
        xero.call("POST", f"{API}/Payments/{payment_id}", json={"Status": "DELETED"}),
        "/Payments/{PaymentID}",
        "POST",
    )
    assert deleted["Payments"][0]["Status"] == "DELETED"
    again = body_of(xero.call("GET", f"{API}/Invoices/{invoice['InvoiceID']}"))["Invoices"][0]
    assert again["AmountPaid"] == 10


def test_a_wrapped_payment_list_still_works_and_an_empty_body_is_refused(xero):
    invoice = _authorised_invoice(xero)
    wrapped = {
        "Payments": [
            {
                "Invoice": {"InvoiceNumber": invoice["InvoiceNumber"]},
                "Account": {"Code": "090"},
                "Amount": 1,
            }
        ]
    }
    assert check(xero.call("PUT", f"{API}/Payments", json=wrapped), "/Payments", "PUT")
    empty = xero.call("POST", f"{API}/Payments", json={})
    assert empty.status_code == 400
    assert "Payments" in body_of(empty)["Message"]
