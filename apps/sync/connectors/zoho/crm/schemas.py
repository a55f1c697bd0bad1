"""The shape of the Zoho CRM records we read (Contacts, Deals), checked at the adapter."""

from pydantic import Field, field_validator

from apps.sync.connectors.zoho.dates import parse_zoho_time
from apps.sync.engine.schema import VendorRow

Text = str | None


class CrmRow(VendorRow):
    id: str | int = Field(...)
    Modified_Time: Text = None

    @field_validator("Modified_Time")
    @classmethod
    def _a_time(cls, value):
        if value:
            try:
                parse_zoho_time(value)
            except (ValueError, TypeError) as error:
                raise ValueError(f"not a Zoho time ({error})") from None
        return value


class ContactRow(CrmRow):
    First_Name: Text = None
    Last_Name: Text = None
    Email: Text = None
    Phone: Text = None
    Mobile: Text = None
    Account_Name: dict | str | None = None


class DealRow(CrmRow):
    Deal_Name: Text = None
    Amount: float | int | str | None = None
    Stage: Text = None
    Closing_Date: Text = None
    Contact_Name: dict | None = None
    Account_Name: dict | str | None = None
    Description: Text = None


SCHEMAS = {"contacts": ContactRow, "deals": DealRow}
