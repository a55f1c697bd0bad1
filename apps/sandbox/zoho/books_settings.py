"""Zoho Books' organisation settings the documents lean on: taxes (`GET /settings/taxes`) and
currencies (`GET /settings/currencies`), and how a document line and a document pick them.

Zoho's documents name a line's tax by `tax_id` and a document's currency by `currency_id`; the
estimate and invoice creates take neither `tax_percentage` nor `currency_code`, so the sandbox
ignores both in requests (answers still carry them, as Books' do). Where the documents are silent
the sandbox ASSUMES, and says so here:

* A line without a `tax_id` key takes its item's tax (Books fills an item's tax into a line that
  names none); a line without an item and without `tax_id` is untaxed.
* `"tax_id": ""` is the explicit "no tax" (the UI's Non-Taxable in editions without exemption
  ids): the line is untaxed even when its item carries a tax.
* A `tax_id` of another organisation or of none is refused with HTTP 404, code 1002
  "Tax does not exist." (the pattern of every other unknown id).
* `is_inclusive_tax` (default false): when true, line rates include the tax, the line tax is
  amount x p / (100 + p) (rounded per line) and the total does not add it again.
* A `currency_id` the organisation does not have is refused like an unknown tax; without one the
  document is in the organisation's base currency.
* An item created or updated with `tax_id` takes that tax's name and percentage; `""` clears it.
* A new organisation starts with the taxes VAT 15% (the default) and Zero Rated 0%, and the
  currencies of its base and USD, EUR, GBP (a sandbox choice, enough to test a foreign
  document).
"""

from decimal import Decimal

from apps.sandbox.zoho.models import BooksCurrency, BooksItem, BooksTax, ZohoOrganization

DEFAULT_TAXES = (("VAT", Decimal("15"), True), ("Zero Rated", Decimal("0"), False))
OTHER_CURRENCIES = {"USD": "US Dollar", "EUR": "Euro", "GBP": "Pound Sterling"}


class SettingMissing(Exception):
    """An id that names no tax or currency of the organisation (the caller answers 1002)."""

    def __init__(self, label: str) -> None:
        super().__init__(f"{label} does not exist.")
        self.label = label


def settings_seed(organization: ZohoOrganization) -> None:
    """The organisation's starting taxes and currencies (idempotent)."""
    if not BooksTax.objects.filter(organization=organization).exists():
        for name, percentage, default in DEFAULT_TAXES:
            BooksTax.objects.create(
                organization=organization,
                tax_name=name,
                tax_percentage=percentage,
                is_default_tax=default,
            )
    codes = {organization.currency_code: organization.currency_code, **OTHER_CURRENCIES}
    for code, name in codes.items():
        BooksCurrency.objects.get_or_create(
            organization=organization,
            currency_code=code,
            defaults={
                "currency_name": name,
                "is_base_currency": code == organization.currency_code,
            },
        )


def tax_create(*, organization: ZohoOrganization, name: str, percentage: Decimal) -> BooksTax:
    return BooksTax.objects.create(
        organization=organization, tax_name=name, tax_percentage=percentage
    )


def tax_json(tax: BooksTax) -> dict:
    return {
        "tax_id": tax.tax_id,
        "tax_name": tax.tax_name,
        "tax_percentage": float(tax.tax_percentage),
        "tax_type": tax.tax_type,
        "is_default_tax": tax.is_default_tax,
        "is_editable": True,
    }


def currency_json(currency: BooksCurrency) -> dict:
    return {
        "currency_id": currency.currency_id,
        "currency_code": currency.currency_code,
        "currency_name": currency.currency_name,
        "currency_symbol": currency.currency_code,
        "price_precision": 2,
        "is_base_currency": currency.is_base_currency,
        "exchange_rate": 1.0,
    }


def tax_get(organization: ZohoOrganization, tax_id: object) -> BooksTax:
    tax = BooksTax.objects.filter(organization=organization, tax_id=str(tax_id)).first()
    if tax is None:
        raise SettingMissing("Tax")
    return tax


def line_tax(organization: ZohoOrganization, raw: dict, item: BooksItem | None):
    """(tax_id, tax_name, percentage) of a document line; `tax_percentage` in `raw` is ignored."""
    if "tax_id" in raw:
        if raw["tax_id"] in ("", None):
            return "", "", Decimal("0")
        tax = tax_get(organization, raw["tax_id"])
        return tax.tax_id, tax.tax_name, tax.tax_percentage
    if item is not None and item.tax_id:
        tax = BooksTax.objects.filter(organization=organization, tax_id=item.tax_id).first()
        if tax is not None:
            return tax.tax_id, tax.tax_name, tax.tax_percentage
    if item is not None and item.tax_percentage:
        return item.tax_id, item.tax_name, item.tax_percentage
    return "", "", Decimal("0")


def item_tax_apply(item: BooksItem, data: dict) -> None:
    """An item's tax from `tax_id` (a create or update); `tax_percentage` is ignored."""
    if "tax_id" not in data:
        return
    if data["tax_id"] in ("", None):
        item.tax_id, item.tax_name, item.tax_percentage = "", "", Decimal("0")
        return
    tax = tax_get(item.organization, data["tax_id"])
    item.tax_id, item.tax_name, item.tax_percentage = tax.tax_id, tax.tax_name, tax.tax_percentage


def document_currency(organization: ZohoOrganization, data: dict) -> str:
    """The currency code a new document is in: its `currency_id`, else the base currency."""
    currency_id = data.get("currency_id")
    if currency_id in (None, ""):
        return organization.currency_code
    currency = BooksCurrency.objects.filter(
        organization=organization, currency_id=str(currency_id)
    ).first()
    if currency is None:
        raise SettingMissing("Currency")
    return currency.currency_code


def currency_id_for(organization: ZohoOrganization, code: str) -> str:
    return (
        BooksCurrency.objects.filter(organization=organization, currency_code=code)
        .values_list("currency_id", flat=True)
        .first()
        or ""
    )
