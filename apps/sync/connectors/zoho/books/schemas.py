"""The shape of the Zoho Books records we read, checked at the adapter before anything is
applied: a record that fails is quarantined with its payload, the rest of its page goes on."""

from pydantic import Field, field_validator

from apps.sync.connectors.zoho.dates import parse_zoho_time
from apps.sync.engine.schema import VendorRow

Text = str | None
Number = float | int | str | None


class BooksRow(VendorRow):
    last_modified_time: Text = None
    status: Text = None

    @field_validator("last_modified_time")
    @classmethod
    def _a_time(cls, value):
        if value:
            try:
                parse_zoho_time(value)
            except (ValueError, TypeError) as error:
                raise ValueError(f"not a Zoho time ({error})") from None
        return value


Id = str | int


class ContactRow(BooksRow):
    contact_id: Id = Field(...)
    contact_name: Text = None
    company_name: Text = None
    email: Text = None
    phone: Text = None
    mobile: Text = None
    billing_address: dict | None = None


class ItemRow(BooksRow):
    item_id: Id = Field(...)
    name: Text = None
    item_name: Text = None
    description: Text = None
    rate: Number = None
    unit: Text = None
    sku: Text = None
    tax_id: Id | None = None
    tax_percentage: Number = None


class DocumentRow(BooksRow):
    reference_number: Text = None
    line_items: list[dict] | None = None
    sub_total: Number = None
    discount: Number = None
    tax_total: Number = None
    total: Number = None
    balance: Number = None


class EstimateRow(DocumentRow):
    estimate_id: Id = Field(...)
    estimate_number: Text = None


class InvoiceRow(DocumentRow):
    invoice_id: Id = Field(...)
    invoice_number: Text = None


class PaymentRow(BooksRow):
    payment_id: Id = Field(...)
    payment_number: Text = None
    amount: Number = None


SCHEMAS = {
    "contacts": ContactRow,
    "items": ItemRow,
    "estimates": EstimateRow,
    "invoices": InvoiceRow,
    "payments": PaymentRow,
}
