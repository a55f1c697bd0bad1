"""The shape of the Xero records we read, checked at the adapter: a record that fails is
quarantined with its payload while the rest of its page is applied."""

from pydantic import Field, field_validator

from apps.sync.connectors.xero.dates import parse_xero_time
from apps.sync.engine.schema import VendorRow

Text = str | None
Number = float | int | str | None


class XeroRow(VendorRow):
    UpdatedDateUTC: Text = None

    @field_validator("UpdatedDateUTC")
    @classmethod
    def _a_time(cls, value):
        if value:
            try:
                parse_xero_time(value)
            except (ValueError, TypeError, OverflowError, OSError) as error:
                raise ValueError(f"not a Xero date ({error})") from None
        return value


class ContactRow(XeroRow):
    ContactID: str = Field(...)
    ContactNumber: Text = None
    Name: Text = None
    EmailAddress: Text = None
    TaxNumber: Text = None
    ContactStatus: Text = None
    Phones: list[dict] | None = None
    Addresses: list[dict] | None = None


class ItemRow(XeroRow):
    ItemID: str = Field(...)
    Code: Text = None
    Name: Text = None
    Description: Text = None
    SalesDetails: dict | None = None


class QuoteRow(XeroRow):
    QuoteID: str = Field(...)
    QuoteNumber: Text = None
    LineItems: list[dict] | None = None


class InvoiceRow(XeroRow):
    InvoiceID: str = Field(...)
    InvoiceNumber: Text = None
    LineItems: list[dict] | None = None


class PaymentRow(XeroRow):
    PaymentID: str = Field(...)
    Reference: Text = None
    Amount: Number = None


SCHEMAS = {
    "contacts": ContactRow,
    "items": ItemRow,
    "quotes": QuoteRow,
    "invoices": InvoiceRow,
    "payments": PaymentRow,
}
