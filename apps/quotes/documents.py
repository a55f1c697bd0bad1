"""What quotes and invoices share: header checks, totals, and their lines (values, edits).

A document is a Quote or an Invoice (invoices import this module; it knows neither's services).
Callers lock the document and check its status; these helpers validate, compute and save lines.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from apps.catalog.models import Service
from apps.core.money import ZERO, currency_places, to_decimal
from apps.quotes.models import DiscountType
from apps.quotes.totals import LineInput, compute_totals

LINE_EDITABLE_FIELDS = (
    "service",
    "name",
    "description",
    "quantity",
    "rate",
    "tax_rate",
    "position",
)


# The largest value each figure's column holds (max_digits, decimal_places in the models): a
# value past it would be refused by the database after the row was half-written (a 500).
LARGEST = {
    "quantity": Decimal("999999999.999"),  # 12, 3
    "rate": Decimal("99999999999.999"),  # 14, 3
    "discount_value": Decimal("99999999999.999"),  # 14, 3
    "tax_rate": Decimal("999.999"),  # 6, 3
    "amount": Decimal("999999999999.99"),  # 14, 2: every money column
}


# --- header checks and totals ------------------------------------------------------------------


def check_currency(currency: str) -> str:
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError({"currency": f"'{currency}' is not a three-letter currency code."})
    if currency_places(currency) > 2:
        raise ValidationError(
            {"currency": f"{currency} has three decimal places; Syncdesk stores money to two."}
        )
    return currency


def check_decimal(field: str, value: object, *, minimum: Decimal = ZERO) -> Decimal:
    try:
        number = to_decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: f"'{value}' is not a number."}) from None
    if not number.is_finite():
        raise ValidationError({field: f"'{value}' is not a number."})
    if number < minimum:
        raise ValidationError(
            {field: f"{field.replace('_', ' ').capitalize()} cannot be negative."}
        )
    if -number.as_tuple().exponent > 3:
        raise ValidationError({field: "At most three decimal places are allowed."})
    largest = LARGEST.get(field, LARGEST["amount"])
    if number > largest:
        raise ValidationError(
            {field: f"{field.replace('_', ' ').capitalize()} cannot be more than {largest:,}."}
        )
    return number


def check_discount(discount_type: str, discount_value: object) -> Decimal:
    if discount_type not in DiscountType.values:
        raise ValidationError({"discount_type": f"Unknown discount type '{discount_type}'."})
    return check_decimal("discount_value", discount_value)


def totals_for(document, lines) -> "tuple":
    """compute_totals over model lines; a bad discount or an amount too large to store becomes a
    ValidationError on its field."""
    try:
        totals = compute_totals(
            lines=[
                LineInput(quantity=line.quantity, rate=line.rate, tax_rate=line.tax_rate)
                for line in lines
            ],
            currency=document.currency,
            discount_type=document.discount_type,
            discount_value=document.discount_value,
        )
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise ValidationError({field: message}) from None
    check_totals_fit(totals)
    return totals


def check_totals_fit(totals) -> None:
    """Each bounded quantity and rate can still multiply past what a money column holds."""
    largest = LARGEST["amount"]
    for position, figures in enumerate(totals.lines, start=1):
        if max(abs(figures.amount), abs(figures.discount), abs(figures.tax)) > largest:
            raise ValidationError(
                {
                    "quantity": f"Line {position}: quantity times rate comes to more than "
                    f"{largest:,}, the largest amount Syncdesk stores."
                }
            )
    if max(abs(totals.subtotal), abs(totals.tax_total), abs(totals.total)) > largest:
        raise ValidationError(
            {
                "__all__": f"The document's total comes to more than {largest:,}, the largest "
                "amount Syncdesk stores."
            }
        )


def apply_totals(document, lines) -> None:
    """Store each line's amounts and the document's totals (history rows only for changes)."""
    totals = totals_for(document, lines)
    for line, figures in zip(lines, totals.lines, strict=True):
        if (line.amount, line.discount_amount, line.tax_amount) != (
            figures.amount,
            figures.discount,
            figures.tax,
        ):
            line.amount, line.discount_amount, line.tax_amount = (
                figures.amount,
                figures.discount,
                figures.tax,
            )
            line.save(update_fields=["amount", "discount_amount", "tax_amount", "updated_at"])
    set_document_totals(document, totals)


def set_document_totals(document, totals) -> None:
    document.subtotal = totals.subtotal
    document.discount_total = totals.discount_total
    document.tax_total = totals.tax_total
    document.total = totals.total


def line_figures(figures) -> dict:
    return {
        "amount": figures.amount,
        "discount_amount": figures.discount,
        "tax_amount": figures.tax,
    }


def line_values(
    *,
    service: Service | None,
    name: str | None,
    description: str | None,
    quantity: object,
    rate: object,
    tax_rate: object,
) -> dict:
    """A line's values: the service's name, description, rate and tax are copied unless given."""
    if service is not None and not service.active:
        raise ValidationError({"service": f"The service '{service}' is inactive."})
    if name is None:
        name = service.name if service else ""
    if description is None:
        description = service.description if service else ""
    if rate is None:
        rate = service.rate if service else None
    if tax_rate is None:
        tax_rate = service.tax_rate.rate if service and service.tax_rate_id else ZERO
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A line needs a name (or a service to copy it from)."})
    if rate is None:
        raise ValidationError({"rate": "A line needs a rate (or a service to copy it from)."})
    quantity = check_decimal("quantity", quantity)
    if quantity == 0:
        raise ValidationError({"quantity": "Quantity must be more than zero."})
    return {
        "service": service,
        "name": name,
        "description": description or "",
        "quantity": quantity,
        "rate": check_decimal("rate", rate),
        "tax_rate": check_decimal("tax_rate", tax_rate),
    }


# --- lines -----------------------------------------------------------------------------------


def line_values_from(line: dict) -> dict:
    """line_values for one line given as a dict (a create's `lines`); a missing quantity is 1."""
    return line_values(
        service=line.get("service"),
        name=line.get("name"),
        description=line.get("description"),
        quantity=line.get("quantity", Decimal("1")),
        rate=line.get("rate"),
        tax_rate=line.get("tax_rate"),
    )


def line_values_new(
    *,
    document,
    service: Service | None,
    name: str | None,
    description: str | None,
    quantity: object,
    rate: object,
    tax_rate: object,
    position: int | None,
) -> dict:
    """The values of a line added to `document`; without a position it goes after the last."""
    values = line_values(
        service=service,
        name=name,
        description=description,
        quantity=quantity,
        rate=rate,
        tax_rate=tax_rate,
    )
    if position is None:
        last = document.lines.order_by("-position").values_list("position", flat=True).first()
        position = (last or 0) + 1
    return values | {"position": position}


def line_changes_check(changes: dict) -> None:
    """Refuse a change to a field a line does not let its editors change."""
    unknown = set(changes) - set(LINE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed on a line."})


def line_apply_changes(line, changes: dict, *, retired_service_given_is_refused: bool) -> None:
    """Check and save `changes` to a line of a locked, editable document.

    A new service brings its own name, description, rate and tax unless they were given too.
    A retired service is not refused on a line that already had it (the copied values stand);
    `retired_service_given_is_refused` says whether naming that same service again in `changes`
    is refused (quotes) or accepted (invoices).
    """
    merged = {field: getattr(line, field) for field in LINE_EDITABLE_FIELDS} | changes
    service = merged["service"]
    if "service" in changes and service is not None and service.pk != line.service_id:
        for field in ("name", "description", "rate", "tax_rate"):
            if field not in changes:
                merged[field] = None
    elif (
        service is not None
        and not service.active
        and not (retired_service_given_is_refused and "service" in changes)
    ):
        service = None
    values = line_values(
        service=service,
        name=merged["name"],
        description=merged["description"],
        quantity=merged["quantity"],
        rate=merged["rate"],
        tax_rate=merged["tax_rate"],
    )
    values["service"] = merged["service"]
    for field, value in values.items():
        setattr(line, field, value)
    line.position = merged["position"]
    line.save()
