"""Writes the staff pages make that span several domain services: saving a whole draft quote
(header and lines) in one transaction, and the business profile."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.quotes import services as quote_services
from apps.quotes.documents import line_values_from
from apps.quotes.models import Quote
from apps.workspace.models import BusinessProfile

LINE_FIELDS = ("service", "name", "description", "quantity", "rate", "tax_rate")


class LinesRefused(ValidationError):
    """One or more lines were refused: {line index: {field: message}}, every line checked."""

    def __init__(self, errors: dict[int, dict[str, str]]) -> None:
        self.line_errors = errors
        first = min(errors)
        message = next(iter(errors[first].values()))
        super().__init__({"lines": f"Line {first + 1}: {message}"})


def lines_check(*, lines: list[dict]) -> None:
    """Check every line the way the services will (line_values_from), reporting all of them."""
    errors: dict[int, dict[str, str]] = {}
    for index, line in enumerate(lines):
        try:
            line_values_from({name: line.get(name) for name in LINE_FIELDS if name in line})
        except ValidationError as error:
            errors[index] = {
                name: " ".join(str(message) for message in messages)
                for name, messages in error.message_dict.items()
            }
    if errors:
        raise LinesRefused(errors)


@transaction.atomic
def quote_draft_save(*, quote: Quote | None, created_by, header: dict, lines: list[dict]) -> Quote:
    """Create a draft quote, or bring a draft's header and lines to what the page shows.

    `lines` are in page order; one with an "id" updates that line, one without is added, and a
    stored line the page no longer lists is removed. The discount is set after the lines, so a
    discount larger than the old lines is not refused half-way. Any refusal undoes everything.
    """
    lines_check(lines=lines)
    if quote is None:
        return quote_services.quote_create(
            created_by=created_by,
            **header,
            lines=[
                {name: line[name] for name in LINE_FIELDS if line.get(name) is not None}
                for line in lines
            ],
        )
    discount = {
        name: header.pop(name) for name in ("discount_type", "discount_value") if name in header
    }
    header.pop("ticket", None)  # a quote stays with the ticket it was raised from
    quote = quote_services.quote_update(quote=quote, **header, discount_value=0)
    stored = {line.pk: line for line in quote.lines.all()}
    kept = {line["id"] for line in lines if line.get("id")}
    unknown = kept - set(stored)
    if unknown:
        raise ValidationError({"lines": "A line was removed by someone else; reload the page."})
    for line_id, line in stored.items():
        if line_id not in kept:
            quote_services.quote_line_remove(line=line)
    for position, line in enumerate(lines, start=1):
        values = {name: line.get(name) for name in LINE_FIELDS} | {"position": position}
        if line.get("id"):
            quote_services.quote_line_update(line=stored[line["id"]], **values)
        else:
            quote_services.quote_line_add(quote=quote, **values)
    return quote_services.quote_update(quote=quote, **discount) if discount else quote


def business_profile_get() -> BusinessProfile:
    """The business's details (the first row; made with the defaults when there is none)."""
    profile = BusinessProfile.objects.order_by("pk").first()
    if profile is None:
        profile = BusinessProfile.objects.create()
    return profile
