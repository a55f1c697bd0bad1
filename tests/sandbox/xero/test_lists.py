"""List reads: pageSize up to 1000, If-Modified-Since on the tenant's clock, and lookups of many
references in one call (IDs=, InvoiceNumbers=, ContactIDs=, Statuses=)."""

import pytest

from apps.sandbox import clock
from tests.sandbox.xero.conftest import body_of
from tests.sandbox.xero.test_accounting_contract import API, _first_contact_id, _invoice, check

PER_ELEMENT = {"summarizeErrors": "false"}


def _add_contacts(xero, count: int) -> None:
    elements = [{"Name": f"Listed {n:04d}"} for n in range(count)]
    answer = xero.call("PUT", f"{API}/Contacts", params=PER_ELEMENT, json={"Contacts": elements})
    assert answer.status_code == 200


def test_page_size_up_to_1000(xero):
    _add_contacts(xero, 1002)  # 1,005 with the 3 seeded
    default = check(xero.call("GET", f"{API}/Contacts"), "/Contacts", "GET")
    assert default["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 11, "itemCount": 1005}
    big = check(xero.call("GET", f"{API}/Contacts", params={"pageSize": 1000}), "/Contacts", "GET")
    assert len(big["Contacts"]) == 1000
    assert big["pagination"] == {"page": 1, "pageSize": 1000, "pageCount": 2, "itemCount": 1005}
    last = body_of(xero.call("GET", f"{API}/Contacts", params={"pageSize": 1000, "page": 2}))
    assert len(last["Contacts"]) == 5
    seen = {c["ContactID"] for c in big["Contacts"]} | {c["ContactID"] for c in last["Contacts"]}
    assert len(seen) == 1005
    # More than 1000 is served as 1000 (the documented maximum).
    capped = body_of(xero.call("GET", f"{API}/Contacts", params={"pageSize": 5000}))
    assert capped["pagination"]["pageSize"] == 1000


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_bad_page_size_is_refused_with_its_name(xero, value):
    answer = xero.call("GET", f"{API}/Invoices", params={"pageSize": value})
    assert answer.status_code == 400
    assert "pageSize" in body_of(answer)["Message"]


def test_if_modified_since_follows_the_tenant_clock(xero):
    tenant = xero.tenant_id
    contact_id = _first_contact_id(xero)
    clock.clock_advance(vendor="xero", account=tenant, vendor_seconds=3600)
    since = clock.now("xero", tenant).replace(microsecond=0)
    updated = xero.call(
        "POST", f"{API}/Contacts/{contact_id}", json={"Contacts": [{"EmailAddress": "n@x.test"}]}
    )
    assert updated.status_code == 200
    changed = body_of(
        xero.call("GET", f"{API}/Contacts", headers={"If-Modified-Since": since.isoformat()})
    )
    assert [c["ContactID"] for c in changed["Contacts"]] == [contact_id]
    bad = xero.call("GET", f"{API}/Contacts", headers={"If-Modified-Since": "yesterday"})
    assert bad.status_code == 400 and "If-Modified-Since" in body_of(bad)["Message"]


def test_invoice_lookups_of_many_references_in_one_call(xero):
    contacts = body_of(xero.call("GET", f"{API}/Contacts"))["Contacts"]
    first, second = contacts[0]["ContactID"], contacts[1]["ContactID"]
    elements = [_invoice(first, InvoiceNumber=f"LK-{n}") for n in range(4)] + [
        _invoice(second, InvoiceNumber="LK-9", Status="AUTHORISED")
    ]
    created = body_of(
        xero.call("PUT", f"{API}/Invoices", params=PER_ELEMENT, json={"Invoices": elements})
    )["Invoices"]
    by_number = {i["InvoiceNumber"]: i["InvoiceID"] for i in created}

    def numbers(params):
        body = check(xero.call("GET", f"{API}/Invoices", params=params), "/Invoices", "GET")
        return sorted(i["InvoiceNumber"] for i in body["Invoices"])

    assert numbers({"InvoiceNumbers": "LK-1,LK-3,LK-404"}) == ["LK-1", "LK-3"]
    assert numbers({"ContactIDs": second}) == ["LK-9"]
    assert numbers({"ContactIDs": f"{first},{second}", "Statuses": "AUTHORISED"}) == ["LK-9"]
    assert numbers({"IDs": f"{by_number['LK-0']},{by_number['LK-9']}"}) == ["LK-0", "LK-9"]
    assert numbers({"Statuses": "DRAFT", "where": 'InvoiceNumber=="LK-2"'}) == ["LK-2"]
    bad = xero.call("GET", f"{API}/Invoices", params={"ContactIDs": "not-a-guid"})
    assert bad.status_code == 400 and "ContactIDs" in body_of(bad)["Message"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('Name=="Xero Customer 0001" OR Name=="Xero Customer 0003"', [1, 3]),
        ('Name=="Xero Customer 0001" || Name=="xero customer 0002"', [1, 2]),
        (
            'ContactStatus=="ACTIVE" AND (Name=="Xero Customer 0002" OR Name=="Nobody")',
            [2],
        ),
        ('(Name=="Xero Customer 0001") AND (EmailAddress.Contains("0001"))', [1]),
        ('Name=="Xero Customer 0001 AND more"', []),  # AND inside text is text
        ('Name=="Xero Customer 0001" OR ContactStatus=="ARCHIVED"', [1]),
    ],
)
def test_where_with_or_and_groups(xero, where, expected):
    body = check(xero.call("GET", f"{API}/Contacts", params={"where": where}), "/Contacts", "GET")
    assert [c["Name"] for c in body["Contacts"]] == [f"Xero Customer {n:04d}" for n in expected]


@pytest.mark.parametrize("where", ['Name=="a" OR', 'Name=="a" AND AND Name=="b"', "(Name"])
def test_broken_where_is_refused(xero, where):
    answer = xero.call("GET", f"{API}/Contacts", params={"where": where})
    assert answer.status_code == 400
    assert "where" in body_of(answer)["Message"]


def test_invoice_by_number(xero):
    contact_id = _first_contact_id(xero)
    xero.call(
        "PUT", f"{API}/Invoices", json={"Invoices": [_invoice(contact_id, InvoiceNumber="BY-NO-1")]}
    )
    body = check(xero.call("GET", f"{API}/Invoices/BY-NO-1"), "/Invoices/{InvoiceID}", "GET")
    assert [i["InvoiceNumber"] for i in body["Invoices"]] == ["BY-NO-1"]
    assert xero.call("GET", f"{API}/Invoices/NO-SUCH").status_code == 404


def test_invoice_lines_come_with_paging_or_alone(xero):
    contact_id = _first_contact_id(xero)
    created = body_of(
        xero.call(
            "PUT", f"{API}/Invoices", json={"Invoices": [_invoice(contact_id, InvoiceNumber="L-1")]}
        )
    )["Invoices"][0]
    assert created["LineItems"]
    unpaged = check(xero.call("GET", f"{API}/Invoices"), "/Invoices", "GET")["Invoices"]
    assert unpaged[0]["LineItems"] == [] and unpaged[0]["Total"] == created["Total"]
    paged = body_of(xero.call("GET", f"{API}/Invoices", params={"page": 1}))["Invoices"]
    assert paged[0]["LineItems"] == created["LineItems"]
    summary = body_of(
        xero.call("GET", f"{API}/Invoices", params={"page": 1, "summaryOnly": "true"})
    )["Invoices"]
    assert summary[0]["LineItems"] == []
    alone = body_of(xero.call("GET", f"{API}/Invoices/{created['InvoiceID']}"))["Invoices"][0]
    assert alone["LineItems"] == created["LineItems"]
