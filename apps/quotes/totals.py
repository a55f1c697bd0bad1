"""The one totals function for quotes and invoices: line amounts, discount spread, tax, totals.

The arithmetic follows Zoho Books' "discount before tax" mode:

1. Each line's amount is quantity x rate, rounded half up to the currency's places.
2. The subtotal is the sum of the rounded line amounts.
3. The document discount is either an amount (rounded to the currency) or a percentage of the
   subtotal (rounded once, on the document). It may not exceed the subtotal.
4. The discount is spread over the lines in proportion to their amounts by largest remainder,
   in the currency's minor units: each line's exact share is rounded down, and the units left
   over go one each to the lines with the largest remainders (the earlier line on a tie). The
   shares add up to the discount and each is between zero and its line's amount.
5. Each line's tax is (amount - its discount share) x its tax rate, rounded per line.
6. Tax total is the sum of the line taxes; total = subtotal - discount + tax.

The function is pure (no database), so every interface and the sandbox comparison share it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from apps.core.money import ZERO, currency_places, round_money, to_decimal

HUNDRED = Decimal("100")


class DiscountType:
    """Plain string constants, shared with the models' TextChoices."""

    AMOUNT = "amount"
    PERCENT = "percent"


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    rate: Decimal
    tax_rate: Decimal = ZERO  # percent, e.g. Decimal("15.000")


@dataclass(frozen=True)
class LineTotals:
    amount: Decimal  # quantity x rate, rounded
    discount: Decimal  # this line's share of the document discount
    tax: Decimal  # tax on (amount - discount), rounded


@dataclass(frozen=True)
class DocumentTotals:
    lines: tuple[LineTotals, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


def document_discount(
    *, subtotal: Decimal, discount_type: str, discount_value: object, currency: str
) -> Decimal:
    """The discount on the whole document, in money, checked against the subtotal."""
    value = to_decimal(discount_value or 0)
    if value < 0:
        raise ValueError("discount_value: A discount cannot be negative.")
    if discount_type == DiscountType.PERCENT:
        if value > HUNDRED:
            raise ValueError("discount_value: A percentage discount cannot exceed 100.")
        discount = round_money(subtotal * value / HUNDRED, currency)
    elif discount_type == DiscountType.AMOUNT:
        discount = round_money(value, currency)
    else:
        raise ValueError(f"discount_type: Unknown discount type {discount_type!r}.")
    if discount > subtotal:
        raise ValueError(
            f"discount_value: The discount ({discount}) cannot exceed the subtotal ({subtotal})."
        )
    return discount


def spread_discount(
    *, discount: Decimal, amounts: Sequence[Decimal], currency: str
) -> list[Decimal]:
    """Each line's share of `discount`, by largest remainder in minor units.

    With D the discount and S the subtotal in minor units, a line of amount a gets
    floor(D * a / S) units; the D - sum(floors) units left over (fewer than the lines) go one each
    to the lines with the largest remainders (D * a mod S), earlier lines first on a tie. A line
    that gets a leftover unit has a non-zero remainder, so its floor is below its amount: every
    share is at least 0 and at most its line's amount, because D <= S.
    """
    if not discount or not amounts:
        return [ZERO] * len(amounts)
    quantum = Decimal(1).scaleb(-currency_places(currency))
    units = [int(amount / quantum) for amount in amounts]
    total_units = sum(units)
    discount_units = int(discount / quantum)
    if not total_units:
        return [ZERO] * len(amounts)
    floors, remainders = [], []
    for line_units in units:
        floor, remainder = divmod(discount_units * line_units, total_units)
        floors.append(floor)
        remainders.append(remainder)
    leftover = discount_units - sum(floors)
    by_remainder = sorted(range(len(units)), key=lambda index: (-remainders[index], index))
    for index in by_remainder[:leftover]:
        floors[index] += 1
    return [round_money(floor * quantum, currency) for floor in floors]


def compute_totals(
    *,
    lines: Sequence[LineInput],
    currency: str,
    discount_type: str = DiscountType.AMOUNT,
    discount_value: object = ZERO,
) -> DocumentTotals:
    """Totals of a quote or invoice; raises ValueError (naming the field) on a bad discount."""
    amounts = [
        round_money(to_decimal(line.quantity) * to_decimal(line.rate), currency) for line in lines
    ]
    subtotal = round_money(sum(amounts, ZERO), currency)
    discount = document_discount(
        subtotal=subtotal,
        discount_type=discount_type,
        discount_value=discount_value,
        currency=currency,
    )

    shares = spread_discount(discount=discount, amounts=amounts, currency=currency)

    line_totals = []
    for line, amount, share in zip(lines, amounts, shares, strict=True):
        tax = round_money((amount - share) * to_decimal(line.tax_rate) / HUNDRED, currency)
        line_totals.append(LineTotals(amount=amount, discount=share, tax=tax))

    tax_total = round_money(sum((line.tax for line in line_totals), ZERO), currency)
    return DocumentTotals(
        lines=tuple(line_totals),
        subtotal=subtotal,
        discount_total=discount,
        tax_total=tax_total,
        total=subtotal - discount + tax_total,
    )
