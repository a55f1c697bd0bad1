"""The totals arithmetic, pinned case by case (discount before tax, spread per line)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        "leftover unit to the first of equal remainders",
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
    # Each 0.33 line takes exactly 10/33 of it, 0.10: no leftover unit to hand out.
    assert [line.discount for line in result.lines] == [Decimal("0.10")] * 100
    # Tax per line: (0.33 - 0.10) x 15% = 0.0345 -> 0.03.
    assert result.tax_total == Decimal("3.00")
    assert result.total == Decimal("26.00")


def test_a_thousand_tiny_lines_at_half_off_never_get_a_negative_share():
    # The old rule rounded each 0.005 share up to 0.01 and put the -4.99 residue on one line.
    result = compute_totals(
        lines=lines(*[("1", "0.01", "15")] * 1000),
        currency="ZAR",
        discount_type=P,
        discount_value=Decimal("50"),
    )
    shares = [line.discount for line in result.lines]
    assert (result.subtotal, result.discount_total) == (Decimal("10.00"), Decimal("5.00"))
    assert shares == [Decimal("0.01")] * 500 + [Decimal("0.00")] * 500
    assert sum(shares, Decimal(0)) == Decimal("5.00")
    assert result.tax_total == Decimal("0.00")  # 0.00 or 0.01 x 15% rounds to 0.00 per line


def test_a_share_never_exceeds_its_line():
    # The old rule gave each 0.01 line 0.00 (0.004 rounded) and put the 0.40 residue on the
    # 0.02 line: a discount of 0.41 on a line of 0.02.
    result = compute_totals(
        lines=lines(*[("1", "0.01", "0")] * 100, ("1", "0.02", "0")),
        currency="ZAR",
        discount_type=A,
        discount_value=Decimal("0.41"),
    )
    shares = [line.discount for line in result.lines]
    assert all(0 <= line.discount <= line.amount for line in result.lines)
    # 41 units over 102: remainders 41 (each 0.01 line) and 82 (the 0.02 line), so the 0.02
    # line takes the first leftover unit and the first 40 small lines one each.
    assert shares == [Decimal("0.01")] * 40 + [Decimal("0.00")] * 60 + [Decimal("0.01")]


money_lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5_000).map(lambda n: Decimal(n).scaleb(-3)),
        st.integers(min_value=0, max_value=200_000).map(lambda n: Decimal(n).scaleb(-2)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    specs=money_lines,
    percent=st.integers(min_value=0, max_value=100_000).map(lambda n: Decimal(n).scaleb(-3)),
    currency=st.sampled_from(["ZAR", "JPY", "KWD"]),
)
def test_shares_are_the_largest_remainder_split(specs, percent, currency):
    result = compute_totals(
        lines=[LineInput(quantity, rate, Decimal("15")) for quantity, rate in specs],
        currency=currency,
        discount_type=P,
        discount_value=percent,
    )
    unit = Decimal(1).scaleb(-{"ZAR": 2, "JPY": 0, "KWD": 3}[currency])
    assert sum((line.discount for line in result.lines), Decimal(0)) == result.discount_total
    for line in result.lines:
        assert 0 <= line.discount <= line.amount
        if result.subtotal:
            exact = result.discount_total * line.amount / result.subtotal
            # Rounded down, plus at most one leftover unit.
            assert exact - unit < line.discount < exact + unit


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
