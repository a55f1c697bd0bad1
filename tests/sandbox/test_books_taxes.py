"""Books taxes and currencies in the sandbox: a line names its tax by `tax_id` (or takes its
item's), `tax_percentage` and `currency_code` in a request are ignored, documents take
`currency_id`, and `is_inclusive_tax` prices the tax inside the rate."""

import pytest

from apps.sandbox.zoho.models import BooksTax

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_id(books_api):
    return books_api.post("contacts", {"contact_name": "Tax Ltd"}).json()["contact"]["contact_id"]


@pytest.fixture
def vat(zoho_org):
    return BooksTax.objects.get(organization=zoho_org, tax_name="VAT")


def _item(books_api, **fields):
    answer = books_api.post("items", {"name": "Apostille", "rate": 100, **fields})
    assert answer.status_code == 201, answer.content
    return answer.json()["item"]


def _estimate(books_api, customer_id, lines, **fields):
    return books_api.post("estimates", {"customer_id": customer_id, "line_items": lines, **fields})


def test_settings_list_the_organisations_taxes_and_currencies(books_api, vat):
    taxes = books_api.get("settings/taxes").json()
    assert taxes["code"] == 0
    by_name = {tax["tax_name"]: tax for tax in taxes["taxes"]}
    assert by_name["VAT"] == {
        "tax_id": vat.tax_id,
        "tax_name": "VAT",
        "tax_percentage": 15.0,
        "tax_type": "tax",
        "is_default_tax": True,
        "is_editable": True,
    }
    assert books_api.get(f"settings/taxes/{vat.tax_id}").json()["tax"]["tax_id"] == vat.tax_id
    assert books_api.get("settings/taxes/1234567").json()["code"] == 1002
    currencies = books_api.get("settings/currencies").json()["currencies"]
    base = [c["currency_code"] for c in currencies if c["is_base_currency"]]
    assert base == ["ZAR"] and {"USD", "EUR", "GBP"} <= {c["currency_code"] for c in currencies}
    created = books_api.post("settings/taxes", {"tax_name": "Levy", "tax_percentage": 7.5})
    assert created.status_code == 201 and created.json()["tax"]["tax_percentage"] == 7.5
    refused = books_api.post("settings/taxes", {"tax_name": "", "tax_percentage": 7.5})
    assert refused.status_code == 400 and "tax_name" in refused.json()["message"]


def test_a_line_without_tax_id_takes_its_items_tax_and_ignores_tax_percentage(
    books_api, customer_id, vat
):
    item = _item(books_api, tax_id=vat.tax_id, tax_percentage=99)
    assert (item["tax_id"], item["tax_percentage"]) == (vat.tax_id, 15.0)
    answer = _estimate(
        books_api, customer_id, [{"item_id": item["item_id"], "quantity": 2, "tax_percentage": 0}]
    )
    estimate = answer.json()["estimate"]
    # 2 x 100.00 with the item's 15%: the request's tax_percentage 0 changes nothing.
    assert (estimate["sub_total"], estimate["tax_total"], estimate["total"]) == (200, 30, 230)
    assert estimate["line_items"][0]["tax_id"] == vat.tax_id


def test_an_empty_tax_id_is_no_tax_and_a_named_tax_wins_over_the_items(
    books_api, customer_id, vat, zoho_org
):
    reduced = BooksTax.objects.create(organization=zoho_org, tax_name="Low", tax_percentage=5)
    item = _item(books_api, tax_id=vat.tax_id)
    lines = [
        {"item_id": item["item_id"], "tax_id": ""},
        {"item_id": item["item_id"], "tax_id": reduced.tax_id},
        {"name": "Typed", "rate": 50, "tax_percentage": 15},
    ]
    estimate = _estimate(books_api, customer_id, lines).json()["estimate"]
    assert [line["tax_percentage"] for line in estimate["line_items"]] == [0, 5, 0]
    assert (estimate["sub_total"], estimate["tax_total"], estimate["total"]) == (250, 5, 255)


def test_an_unknown_tax_or_currency_is_refused_and_nothing_is_made(books_api, customer_id):
    answer = _estimate(books_api, customer_id, [{"name": "X", "rate": 1, "tax_id": "999"}])
    assert (answer.status_code, answer.json()["code"]) == (404, 1002)
    assert answer.json()["message"] == "Tax does not exist."
    answer = _estimate(books_api, customer_id, [{"name": "X", "rate": 1}], currency_id="999")
    assert answer.json()["message"] == "Currency does not exist."
    assert books_api.get("estimates").json()["estimates"] == []


def test_documents_take_currency_id_not_currency_code(books_api, customer_id):
    currencies = books_api.get("settings/currencies").json()["currencies"]
    usd = next(c for c in currencies if c["currency_code"] == "USD")
    line = [{"name": "X", "rate": 10}]
    by_code = _estimate(books_api, customer_id, line, currency_code="USD").json()["estimate"]
    assert by_code["currency_code"] == "ZAR"  # not a create field: the base currency
    by_id = _estimate(books_api, customer_id, line, currency_id=usd["currency_id"]).json()
    assert (by_id["estimate"]["currency_code"], by_id["estimate"]["currency_id"]) == (
        "USD",
        usd["currency_id"],
    )


def test_tax_inclusive_rates_hold_the_tax(books_api, customer_id, vat):
    lines = [{"name": "X", "rate": 115, "quantity": 1, "tax_id": vat.tax_id}]
    inclusive = _estimate(books_api, customer_id, lines, is_inclusive_tax=True).json()["estimate"]
    assert inclusive["is_inclusive_tax"] is True
    assert (inclusive["sub_total"], inclusive["tax_total"], inclusive["total"]) == (115, 15, 115)
    exclusive = _estimate(books_api, customer_id, lines, is_inclusive_tax=False).json()
    assert exclusive["estimate"]["total"] == 132.25
    refused = _estimate(books_api, customer_id, lines, is_inclusive_tax="maybe")
    assert refused.status_code == 400 and "is_inclusive_tax" in refused.json()["message"]
