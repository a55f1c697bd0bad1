"""Money is Decimal: one rounding helper, one place that knows each currency's places."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for the currencies a small business here is likely to bill in;
# anything not listed has two places.
CURRENCY_PLACES = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}

ZERO = Decimal("0")


def currency_places(currency: str) -> int:
    return CURRENCY_PLACES.get((currency or "").upper(), 2)


def to_decimal(value: object) -> Decimal:
    """Turn an int, str or Decimal into a Decimal; floats are refused, they are not money."""
    if isinstance(value, float):
        raise TypeError("Money must not be a float; pass a str or Decimal.")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def round_money(value: object, currency: str = "") -> Decimal:
    """Round half up to the currency's places (the way invoicing vendors round a line)."""
    places = currency_places(currency)
    quantum = Decimal(1).scaleb(-places)
    return to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
