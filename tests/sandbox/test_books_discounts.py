"""Books document discounts: entity level before or after tax (percentage or amount), item level.

The before-tax cases are pinned to the figures Syncdesk's own arithmetic gives for the same lines
(apps/quotes/totals.py: discount spread over the lines in proportion, largest remainder to the
largest line, tax per line on what is left): the two must agree, so that a quote and its Books
estimate carry the same total. The figures are written out here, not imported.
"""

from decimal import Decimal

import pytest

from apps.sandbox.zoho.models import BooksEstimate, BooksTax


def _tax_id(percentage) -> str:
    """The organisation's tax of that percentage ("" is Books' explicit no tax for 0)."""
    if not Decimal(str(percentage)):
        return ""
    return BooksTax.objects.get(tax_percentage=Decimal(str(percentage))).tax_id


def _lines(rows):
    return [
        {"name": f"Line {n}", "quantity": q, "rate": r, "tax_id": _tax_id(t)}
        for n, (q, r, t) in enumerate(rows, start=1)
    ]


def _estimate(books_api, rows, **fields):
    customer = books_api.post("contacts", {"contact_name": "Discount Ltd"}).json()["contact"]
    body = {"customer_id": customer["contact_id"], "line_items": _lines(rows)} | fields
    return books_api.post("estimates", body)


BEFORE_TAX = [
    # lines (quantity, rate, tax %), discount, sub_total, discount, tax_total, total, line shares
    (
        [("1", "100.00", "15"), ("1", "100.00", "15"), ("1", "100.00", "15")],
        "10.00",
        "300.00",
        "10.00",
        "43.50",
        "333.50",
        ["3.34", "3.33", "3.33"],
    ),
    (
        [("3", "33.33", "15"), ("2", "12.50", "0"), ("1", "0.01", "15")],
        "10%",
        "125.00",
        "12.50",
        "13.50",
        "126.00",
        ["10.00", "2.50", "0.00"],
    ),
    (
        [("7", "19.99", "15"), ("1", "250.00", "15")],
        "33.33",
        "389.93",
        "33.33",
        "53.49",
        "410.09",
        ["11.96", "21.37"],
    ),
    ([("2.5", "80.00", "15")], "100%", "200.00", "200.00", "0.00", "0.00", ["200.00"]),
    (
        [("1", "0.05", "15"), ("1", "0.05", "15"), ("1", "0.05", "15")],
        "0.10",
        "0.15",
        "0.10",
        "0.00",
        "0.05",
        ["0.04", "0.03", "0.03"],
    ),
]


@pytest.mark.parametrize(
    ("rows", "discount", "sub_total", "taken", "tax_total", "total", "shares"), BEFORE_TAX
)
def test_entity_discount_before_tax_equals_syncdesk_arithmetic(
    books_api, rows, discount, sub_total, taken, tax_total, total, shares
):
    answer = _estimate(
        books_api,
        rows,
        discount=discount,
        is_discount_before_tax=True,
        discount_type="entity_level",
    )
    assert answer.status_code == 201, answer.content
    estimate = answer.json()["estimate"]
    assert estimate["is_discount_before_tax"] is True
    assert estimate["discount_type"] == "entity_level"
    for key, expected in (
        ("sub_total", sub_total),
        ("discount", taken),
        ("tax_total", tax_total),
        ("total", total),
    ):
        assert Decimal(str(estimate[key])) == Decimal(expected), key
    stored = BooksEstimate.objects.get(estimate_id=estimate["estimate_id"])
    assert [line["_entity_discount"] for line in stored.line_items] == shares


@pytest.mark.parametrize(
    ("discount", "taken", "total"), [("10%", "17.25", "155.25"), ("20", "20.00", "152.50")]
)
def test_entity_discount_after_tax(books_api, discount, taken, total):
    """After tax the lines are taxed in full (15.00 + 7.50) and the discount comes off the
    total; a percentage is of sub_total + tax (172.50)."""
    answer = _estimate(
        books_api,
        [("1", "100", "15"), ("1", "50", "15")],
        discount=discount,
        is_discount_before_tax=False,
    )
    estimate = answer.json()["estimate"]
    assert estimate["is_discount_before_tax"] is False
    assert (estimate["sub_total"], estimate["tax_total"]) == (150.0, 22.5)
    assert Decimal(str(estimate["discount"])) == Decimal(taken)
    assert Decimal(str(estimate["total"])) == Decimal(total)


def test_item_level_discounts_come_off_their_lines(books_api):
    answer = _estimate(
        books_api,
        [("1", "100", "15"), ("2", "25", "0")],
        line_items=[
            {"name": "A", "quantity": 1, "rate": 100, "tax_id": _tax_id(15), "discount": "10%"},
            {"name": "B", "quantity": 2, "rate": 25, "tax_id": "", "discount": 5},
        ],
    )
    estimate = answer.json()["estimate"]
    assert estimate["discount_type"] == "item_level"
    assert [line["item_total"] for line in estimate["line_items"]] == [90.0, 45.0]
    assert [line["discount_amount"] for line in estimate["line_items"]] == [10.0, 5.0]
    assert (estimate["sub_total"], estimate["tax_total"], estimate["total"]) == (135.0, 13.5, 148.5)


def test_changing_only_the_discount_reprices_with_the_stored_lines(books_api):
    estimate = _estimate(books_api, [("1", "100", "15")], discount="10%").json()["estimate"]
    assert estimate["total"] == 103.5  # (100 - 10) x 1.15
    moved = books_api.put(
        f"estimates/{estimate['estimate_id']}", {"is_discount_before_tax": False}
    ).json()["estimate"]
    assert moved["total"] == 103.5  # 115 - 11.50
    amount = books_api.put(f"estimates/{estimate['estimate_id']}", {"discount": 15}).json()
    assert amount["estimate"]["total"] == 100.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"discount": "101%"}, "Invalid value passed for discount."),
        ({"discount": "-1"}, "Invalid value passed for discount."),
        ({"discount": "100.01"}, "Invalid value passed for discount."),
        ({"discount": "5", "discount_type": "item_level"}, "Invalid value passed for discount."),
        ({"discount_type": "document"}, "Invalid value passed for discount_type."),
        ({"is_discount_before_tax": "maybe"}, "Invalid value passed for is_discount_before_tax."),
    ],
)
def test_bad_discounts_are_refused(books_api, fields, message):
    answer = _estimate(books_api, [("1", "100", "0")], **fields)
    assert answer.status_code == 400
    assert answer.json() == {"code": 4, "message": message}
