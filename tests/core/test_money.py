"""The one rounding helper."""

from decimal import Decimal

import pytest

from apps.core.money import round_money, to_decimal


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("2.005", "ZAR", "2.01"),
        ("2.004", "USD", "2.00"),
        ("-2.005", "ZAR", "-2.01"),
        ("1.0005", "KWD", "1.001"),
        ("150.5", "JPY", "151"),
    ],
)
def test_round_money_half_up_to_currency_places(value, currency, expected):
    assert round_money(value, currency) == Decimal(expected)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_decimal(0.1)
