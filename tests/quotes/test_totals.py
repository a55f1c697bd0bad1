"""The totals arithmetic, pinned case by case (discount before tax, spread per line)."""

from decimal import Decimal

import pytest

from apps.quotes.totals import DiscountType, LineInput, compute_totals

A, P = DiscountType.AMOUNT, DiscountType.PERCENT


def lines(*specs):
    return [LineInput(Decimal(q), Decimal(r), Decimal(t)) for q, r, t in specs]


# (id, lines (quantity, rate, tax %), currency, discount type, value,
#  expected line amounts, line discounts, line taxes, subtotal, discount, tax, total)
CASES = [
    ("no lines", [], "ZAR", A, "0", [], [], [], "0", "0", "0", "0"),
    (
        "one line no tax",
        [("1", "100", "0")],
        "ZAR",
        A,
        "0",
        ["100.00"],
        ["0"],
        ["0.00"],
        "100.00",
        "0.00",
        "0.00",
        "100.00",
    ),
    (
        "one line 15% VAT",
        [("2", "100", "15")],
        "ZAR",
        A,
        "0",
        ["200.00"],
        ["0"],
        ["30.00"],
        "200.00",
        "0.00",
        "30.00",
        "230.00",
    ),
    (
        "line amount rounds half up",
        [("1", "0.005", "0")],
        "ZAR",
        A,
        "0",
        ["0.01"],
        ["0"],
        ["0.00"],
        "0.01",
        "0.00",
        "0.00",
        "0.01",
    ),
    (
        "tax rounds half up at 0.005",
        [("1", "0.10", "5")],
        "ZAR",
        A,
        "0",
        ["0.10"],
        ["0"],
        ["0.01"],
        "0.10",
        "0.00",
        "0.01",
        "0.11",
    ),
    (
        "tax just below half rounds down",
        [("1", "0.09", "5")],
        "ZAR",
        A,
        "0",
        ["0.09"],
        ["0"],
        ["0.00"],
        "0.09",
        "0.00",
        "0.00",
        "0.09",
    ),
    (
        "three-decimal quantity",
        [("1.125", "10", "0")],
        "ZAR",
        A,
        "0",
        ["11.25"],
        ["0"],
        ["0.00"],
        "11.25",
        "0.00",
        "0.00",
        "11.25",
    ),
    (
        "three-decimal rate",
        [("3", "33.335", "0")],
        "ZAR",
        A,
        "0",
        ["100.01"],
        ["0"],
        ["0.00"],
        "100.01",
        "0.00",
        "0.00",
        "100.01",
    ),
    (
        "three-decimal tax rate",
        [("1", "100", "7.125")],
        "ZAR",
        A,
        "0",
        ["100.00"],
        ["0"],
        ["7.13"],
        "100.00",
        "0.00",
        "7.13",
        "107.13",
    ),
    (
        "per-line tax rounding is summed",
        [("1", "0.10", "5"), ("1", "0.10", "5")],
        "ZAR",
        A,
        "0",
        ["0.10", "0.10"],
        ["0", "0"],
        ["0.01", "0.01"],
        "0.20",
        "0.00",
        "0.02",
        "0.22",
    ),
    (
        "mixed tax rates",
        [("1", "100", "15"), ("1", "50", "0")],
        "ZAR",
        A,
        "0",
        ["100.00", "50.00"],
        ["0", "0"],
        ["15.00", "0.00"],
        "150.00",
        "0.00",
        "15.00",
        "165.00",
    ),
    (
        "amount discount spread proportionally",
        [("1", "300", "15"), ("1", "100", "15")],
        "ZAR",
        A,
        "40",
        ["300.00", "100.00"],
        ["30.00", "10.00"],
        ["40.50", "13.50"],
        "400.00",
        "40.00",
        "54.00",
        "414.00",
    ),
    (
        "amount discount residue to the largest line",
        [("1", "10", "0"), ("1", "10", "0"), ("1", "10", "0")],
        "ZAR",
        A,
        "10",
        ["10.00", "10.00", "10.00"],
        ["3.34", "3.33", "3.33"],
        ["0.00", "0.00", "0.00"],
        "30.00",
        "10.00",
        "0.00",
        "20.00",
    ),
    (
        "discount only on taxed part lowers tax",
        [("1", "100", "15"), ("1", "100", "0")],
        "ZAR",
        A,
        "20",
        ["100.00", "100.00"],
        ["10.00", "10.00"],
        ["13.50", "0.00"],
        "200.00",
        "20.00",
        "13.50",
        "193.50",
    ),
    (
        "percent discount",
        [("1", "200", "15")],
        "ZAR",
        P,
        "10",
        ["200.00"],
        ["20.00"],
        ["27.00"],
        "200.00",
        "20.00",
        "27.00",
        "207.00",
    ),
    (
        "three-decimal percent discount",
        [("1", "1000", "0")],
        "ZAR",
        P,
        "12.345",
        ["1000.00"],
        ["123.45"],
        ["0.00"],
        "1000.00",
        "123.45",
        "0.00",
        "876.55",
    ),
    (
        "percent discount rounds on the document",
        [("1", "0.15", "0")],
        "ZAR",
        P,
        "50",
        ["0.15"],
        ["0.08"],
        ["0.00"],
        "0.15",
        "0.08",
        "0.00",
        "0.07",
    ),
    (
        "percent discount over mixed lines",
        [("3", "19.99", "15"), ("1", "5.01", "0")],
        "ZAR",
        P,
        "7.5",
        ["59.97", "5.01"],
        ["4.49", "0.38"],
        ["8.32", "0.00"],
        "64.98",
        "4.87",
        "8.32",
        "68.43",
    ),
    (
        "full discount leaves no tax",
        [("1", "100", "15")],
        "ZAR",
        P,
        "100",
        ["100.00"],
        ["100.00"],
        ["0.00"],
        "100.00",
        "100.00",
        "0.00",
        "0.00",
    ),
    (
        "discount equal to subtotal",
        [("2", "25", "15")],
        "ZAR",
        A,
        "50",
        ["50.00"],
        ["50.00"],
        ["0.00"],
        "50.00",
        "50.00",
        "0.00",
        "0.00",
    ),
    (
        "zero-place currency",
        [("3", "333.5", "10")],
        "JPY",
        A,
        "0",
        ["1001"],
        ["0"],
        ["100"],
        "1001",
        "0",
        "100",
        "1101",
    ),
    (
        "zero-place currency discount",
        [("1", "1000", "10"), ("1", "500", "10")],
        "JPY",
        P,
        "3",
        ["1000", "500"],
        ["30", "15"],
        ["97", "49"],
        "1500",
        "45",
        "146",
        "1601",
    ),
    (
        "three-place currency",
        [("1", "1.2345", "5")],
        "KWD",
        A,
        "0",
        ["1.235"],
        ["0"],
        ["0.062"],
        "1.235",
        "0.000",
        "0.062",
        "1.297",
    ),
    (
        "amount discount rounded to the currency",
        [("1", "100", "0")],
        "ZAR",
        A,
        "10.005",
        ["100.00"],
        ["10.01"],
        ["0.00"],
        "100.00",
        "10.01",
        "0.00",
        "89.99",
    ),
]


def many_lines_case():
    specs = [("1", "0.33", "15")] * 100
    return ("100 lines of 0.33 at 15% with 10.00 off", specs, "ZAR", A, "10.00")


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_totals_table(case):
    (_, specs, currency, kind, value, amounts, shares, taxes, subtotal, discount, tax, total) = case
    result = compute_totals(
        lines=lines(*specs), currency=currency, discount_type=kind, discount_value=Decimal(value)
    )
    assert [line.amount for line in result.lines] == [Decimal(x) for x in amounts]
    assert [line.discount for line in result.lines] == [Decimal(x) for x in shares]
    assert [line.tax for line in result.lines] == [Decimal(x) for x in taxes]
    assert result.subtotal == Decimal(subtotal)
    assert result.discount_total == Decimal(discount)
    assert result.tax_total == Decimal(tax)
    assert result.total == Decimal(total)
    # Invariants every case must keep.
    assert sum((line.discount for line in result.lines), Decimal(0)) == result.discount_total
    assert result.total == result.subtotal - result.discount_total + result.tax_total


def test_many_lines_discount_shares_add_up_and_tax_is_per_line():
    _, specs, currency, kind, value = many_lines_case()
    result = compute_totals(
        lines=lines(*specs), currency=currency, discount_type=kind, discount_value=Decimal(value)
    )
    assert result.subtotal == Decimal("33.00")
    assert result.discount_total == Decimal("10.00")
    # Each 0.33 line takes 0.10 (10/33 of it, rounded); the largest (first) line absorbs the rest.
    assert [line.discount for line in result.lines[1:]] == [Decimal("0.10")] * 99
    assert result.lines[0].discount == Decimal("10.00") - Decimal("9.90")
    # Tax per line: (0.33 - 0.10) x 15% = 0.0345 -> 0.03; the first line 0.23 x 15% -> 0.03.
    assert result.tax_total == Decimal("3.00")
    assert result.total == Decimal("26.00")


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (A, "-1", "discount_value: A discount cannot be negative."),
        (P, "100.5", "discount_value: A percentage discount cannot exceed 100."),
        (A, "100.01", "discount_value: The discount (100.01) cannot exceed the subtotal (100.00)."),
        ("coupon", "1", "discount_type: Unknown discount type 'coupon'."),
    ],
)
def test_bad_discounts_are_refused_naming_the_field(kind, value, message):
    with pytest.raises(ValueError) as error:
        compute_totals(
            lines=lines(("1", "100", "0")),
            currency="ZAR",
            discount_type=kind,
            discount_value=Decimal(value),
        )
    assert str(error.value) == message


def test_floats_are_not_money():
    with pytest.raises(TypeError):
        compute_totals(lines=[LineInput(1, 0.1, 0)], currency="ZAR")
