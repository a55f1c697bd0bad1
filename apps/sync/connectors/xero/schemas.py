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
    IsSold: bool | None = None
    SalesDetails: dict | None = None


class DocumentRow(XeroRow):
    Reference: Text = None
    Status: Text = None
    LineItems: list[dict] | None = None
    SubTotal: Number = None
    TotalTax: Number = None
    Total: Number = None


class QuoteRow(DocumentRow):
    QuoteID: str = Field(...)
    QuoteNumber: Text = None


class InvoiceRow(DocumentRow):
    InvoiceID: str = Field(...)
    InvoiceNumber: Text = None
    AmountDue: Number = None
    AmountPaid: Number = None
    Payments: list[dict] | None = None


class PaymentRow(XeroRow):
    PaymentID: str = Field(...)
    Reference: Text = None
    Amount: Number = None
    Status: Text = None


class AccountRow(XeroRow):
    AccountID: str = Field(...)
    Code: Text = None
    Name: Text = None
    Type: Text = None
    Status: Text = None
    EnablePaymentsToAccount: bool | None = None


class TaxRateRow(XeroRow):
    TaxType: str = Field(...)
    Name: Text = None
    Status: Text = None
    EffectiveRate: Number = None
    DisplayTaxRate: Number = None


SCHEMAS = {
    "contacts": ContactRow,
    "items": ItemRow,
    "quotes": QuoteRow,
    "invoices": InvoiceRow,
    "payments": PaymentRow,
    "accounts": AccountRow,
    "tax_rates": TaxRateRow,
}
