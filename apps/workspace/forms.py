"""The staff pages' forms: they check shape only; the services enforce the rules.

The quote builder's lines are rows of same-named inputs (line_service, line_quantity, …) read
in page order, so rows can be added and removed without renumbering; every typed value is kept
as text and shown again when a save is refused.
"""

import uuid
from decimal import Decimal, InvalidOperation

from django import forms

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.invoices.models import Payment
from apps.quotes.models import DiscountType
from apps.quotes.totals import LineInput
from apps.tickets.models import Ticket

LINE_INPUTS = ("id", "key", "service", "name", "description", "quantity", "rate", "tax_rate")


class QuoteHeaderForm(forms.Form):
    client = forms.ModelChoiceField(
        queryset=Client.objects.filter(active=True),
        widget=forms.HiddenInput,
        error_messages={"required": "Choose the client this quote is for."},
    )
    ticket = forms.ModelChoiceField(
        queryset=Ticket.objects.all(), required=False, widget=forms.HiddenInput
    )
    issue_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Issue date",
    )
    valid_until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Valid until",
    )
    currency = forms.CharField(max_length=3, required=False)
    discount_type = forms.ChoiceField(choices=DiscountType.choices, label="Discount type")
    discount_value = forms.DecimalField(
        required=False, min_value=0, decimal_places=3, label="Discount", localize=False
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    terms = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_arguments(self, *, creating: bool) -> dict:
        data = dict(self.cleaned_data)
        data["discount_value"] = data.get("discount_value") or Decimal("0")
        for name in ("issue_date", "valid_until", "currency"):
            if not data.get(name):
                data.pop(name, None)  # left blank: the service's default (or the stored value)
        if not creating:
            data.pop("ticket", None)
        return data


def new_line_key() -> str:
    return uuid.uuid4().hex[:12]


def lines_from_post(post) -> list[dict]:
    """The rows as typed: a list of dicts of strings (plus the key that names the row)."""
    columns = {name: post.getlist(f"line_{name}") for name in LINE_INPUTS}
    count = len(columns["key"])
    rows = []
    for index in range(count):
        row = {
            name: (values[index] if index < len(values) else "") for name, values in columns.items()
        }
        row["key"] = row["key"] or new_line_key()
        rows.append(row)
    return rows


def line_row_from_service(service: Service) -> dict:
    """A new row filled from the catalogue: name, description, rate, unit and tax."""
    return {
        "id": "",
        "key": new_line_key(),
        "service": str(service.pk),
        "service_label": service.name,
        "unit": service.unit,
        "name": service.name,
        "description": service.description,
        "quantity": "1",
        "rate": f"{service.rate}",
        "tax_rate": f"{service.tax_rate.rate.normalize():f}" if service.tax_rate_id else "0",
    }


def lines_for_service(rows: list[dict], services: dict[int, Service]) -> list[dict]:
    """Rows as the services take them: a chosen service, blanks as None (copied from it)."""
    lines = []
    for row in rows:
        service = services.get(int(row["service"])) if row.get("service", "").isdigit() else None
        line = {"service": service}
        for name in ("name", "description", "quantity", "rate", "tax_rate"):
            value = (row.get(name) or "").strip()
            line[name] = value if value != "" else None
        if line["quantity"] is None:
            line["quantity"] = "1"
        if row.get("id", "").isdigit():
            line["id"] = int(row["id"])
        lines.append(line)
    return lines


def totals_inputs(rows: list[dict]) -> tuple[list[LineInput], str]:
    """LineInputs for the live totals; an unreadable number gives no totals and says which."""
    inputs = []
    for index, row in enumerate(rows, start=1):
        try:
            quantity = Decimal((row.get("quantity") or "1").strip())
            rate = Decimal((row.get("rate") or "0").strip())
            tax_rate = Decimal((row.get("tax_rate") or "0").strip())
        except InvalidOperation:
            return [], f"Line {index} has a number that cannot be read."
        if not (quantity.is_finite() and rate.is_finite() and tax_rate.is_finite()):
            return [], f"Line {index} has a number that cannot be read."
        if quantity < 0 or rate < 0 or tax_rate < 0:
            # Totalled anyway, a negative line turns into a misleading message about the
            # discount; the line itself is what to correct.
            return [], f"Line {index} has a negative quantity, rate or tax."
        inputs.append(LineInput(quantity=quantity, rate=rate, tax_rate=tax_rate))
    return inputs, ""


class PaymentForm(forms.Form):
    amount = forms.DecimalField(decimal_places=2, min_value=Decimal("0.01"), localize=False)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    mode = forms.ChoiceField(choices=Payment.Mode.choices)
    reference = forms.CharField(max_length=100, required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Reply to the client")


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Internal note")
