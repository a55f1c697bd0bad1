"""Writes of the Xero Accounting emulator: contacts, items, organisations and their chart (quotes,
invoices and payments: documents.py); one function per element save, in Xero's rules.

Each `<entity>_save(*, tenant, data, existing)` takes one element of a request body (a dict in
Xero's field names), checks it the way Xero does, writes it and returns the row. A refused element
raises `ElementInvalid` with Xero-style messages; the caller decides whether that is a 400 for the
whole request or one element of a `summarizeErrors=false` answer. Contact changes queue a signed
webhook event (see `webhooks.py`).
"""

import uuid
from decimal import Decimal

from django.db import transaction

from apps.sandbox import clock
from apps.sandbox.xero import chart, webhooks, wire
from apps.sandbox.xero.models import (
    XeroAccount,
    XeroContact,
    XeroInvoice,
    XeroItem,
    XeroQuote,
    XeroTaxRate,
    XeroTenant,
)

VENDOR = "xero"
HUNDRED = Decimal(100)


class ElementInvalid(Exception):
    """One element of a request was refused; `messages` become its `ValidationErrors`."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def tenant_now(tenant: XeroTenant):
    return clock.now(VENDOR, str(tenant.tenant_id))


def text_value(data: dict, field: str, *, max_length: int, default: str = "") -> str:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ElementInvalid(f"{field} must be text.")
    if len(value) > max_length:
        raise ElementInvalid(f"{field} must not exceed {max_length} characters.")
    return value.strip()


def bool_value(data: dict, field: str, default: bool) -> bool:
    value = data.get(field, default)
    if not isinstance(value, bool):
        raise ElementInvalid(f"{field} must be true or false.")
    return value


def uuid_value(value: object, *, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ElementInvalid(f"{field} '{value}' is not a valid identifier.") from error


def touch(row, tenant: XeroTenant, *, created: bool) -> None:
    moment = tenant_now(tenant)
    if created:
        row.created_at = moment
    row.updated_at = moment


# --- contacts ----------------------------------------------------------------------------------


def _addresses(data: dict) -> list[dict]:
    addresses = data.get("Addresses") or []
    if not isinstance(addresses, list):
        raise ElementInvalid("Addresses must be a list.")
    out = []
    for address in addresses:
        if not isinstance(address, dict) or address.get("AddressType") not in ("POBOX", "STREET"):
            raise ElementInvalid("AddressType must be POBOX or STREET.")
        keep = ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "City", "Region")
        entry = {"AddressType": address["AddressType"]}
        for key in (*keep, "PostalCode", "Country", "AttentionTo"):
            if isinstance(address.get(key), str):
                entry[key] = address[key]
        out.append(entry)
    return out


def _phones(data: dict) -> list[dict]:
    phones = data.get("Phones") or []
    if not isinstance(phones, list):
        raise ElementInvalid("Phones must be a list.")
    out = []
    for phone in phones:
        if not isinstance(phone, dict) or phone.get("PhoneType") not in (
            "DEFAULT",
            "DDI",
            "MOBILE",
            "FAX",
            "OFFICE",
        ):
            raise ElementInvalid("PhoneType must be DEFAULT, DDI, MOBILE, FAX or OFFICE.")
        out.append(
            {
                key: phone[key]
                for key in ("PhoneType", "PhoneNumber", "PhoneAreaCode", "PhoneCountryCode")
                if isinstance(phone.get(key), str)
            }
        )
    return out


def contact_save(
    *, tenant: XeroTenant, data: dict, existing: XeroContact | None = None
) -> XeroContact:
    """Create or update one contact. Names are unique among ACTIVE contacts of the tenant."""
    contact = existing or XeroContact(tenant=tenant)
    if existing is None or "Name" in data:
        name = text_value(data, "Name", max_length=255)
        if not name:
            raise ElementInvalid("The contact name must be provided.")
        contact.name = name
    if "ContactStatus" in data:
        if data["ContactStatus"] not in XeroContact.Status.values:
            raise ElementInvalid("ContactStatus must be ACTIVE, ARCHIVED or GDPRREQUEST.")
        contact.status = data["ContactStatus"]
    for field, attribute, length in (
        ("ContactNumber", "contact_number", 50),
        ("AccountNumber", "account_number", 50),
        ("FirstName", "first_name", 255),
        ("LastName", "last_name", 255),
        ("CompanyNumber", "company_number", 50),
        ("EmailAddress", "email_address", 255),
        ("TaxNumber", "tax_number", 50),
    ):
        if field in data:
            setattr(contact, attribute, text_value(data, field, max_length=length))
    if "DefaultCurrency" in data:
        contact.default_currency = text_value(data, "DefaultCurrency", max_length=3)
    if "IsCustomer" in data:
        contact.is_customer = bool_value(data, "IsCustomer", contact.is_customer)
    if "IsSupplier" in data:
        contact.is_supplier = bool_value(data, "IsSupplier", contact.is_supplier)
    if "Addresses" in data:
        contact.addresses = _addresses(data)
    if "Phones" in data:
        contact.phones = _phones(data)
    if contact.status == XeroContact.Status.ACTIVE:
        clash = XeroContact.objects.filter(
            tenant=tenant, status=XeroContact.Status.ACTIVE, name__iexact=contact.name
        ).exclude(pk=contact.pk)
        if clash.exists():
            raise ElementInvalid(
                f"The contact name {contact.name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
    if contact.contact_number:
        taken = XeroContact.objects.filter(
            tenant=tenant, contact_number=contact.contact_number
        ).exclude(pk=contact.pk)
        if taken.exists():
            raise ElementInvalid(f"The ContactNumber {contact.contact_number} is already in use.")
    touch(contact, tenant, created=existing is None)
    contact.save()
    webhooks.event_queue(
        tenant=tenant,
        category="CONTACT",
        event_type="CREATE" if existing is None else "UPDATE",
        resource_id=contact.contact_id,
    )
    return contact


# --- items -------------------------------------------------------------------------------------


def _item_details(data: dict, field: str, current: dict) -> dict:
    details = data.get(field)
    if details is None:
        return current
    if not isinstance(details, dict):
        raise ElementInvalid(f"{field} must be an object.")
    out = dict(current)
    if "UnitPrice" in details:
        out["UnitPrice"] = str(wire.parse_decimal(details["UnitPrice"], field="UnitPrice"))
    for key in ("AccountCode", "COGSAccountCode", "TaxType"):
        if key in details:
            out[key] = str(details[key] or "")
    return out


def item_save(*, tenant: XeroTenant, data: dict, existing: XeroItem | None = None) -> XeroItem:
    item = existing or XeroItem(tenant=tenant)
    if existing is None or "Code" in data:
        code = text_value(data, "Code", max_length=30)
        if not code:
            raise ElementInvalid("Item code must be provided.")
        if XeroItem.objects.filter(tenant=tenant, code=code).exclude(pk=item.pk).exists():
            raise ElementInvalid(f"Price List Item with Code '{code}' already exists")
        item.code = code
    if "Name" in data:
        item.name = text_value(data, "Name", max_length=50)
    if "Description" in data:
        item.description = text_value(data, "Description", max_length=4000)
    if "PurchaseDescription" in data:
        item.purchase_description = text_value(data, "PurchaseDescription", max_length=4000)
    if "IsSold" in data:
        item.is_sold = bool_value(data, "IsSold", item.is_sold)
    if "IsPurchased" in data:
        item.is_purchased = bool_value(data, "IsPurchased", item.is_purchased)
    try:
        item.sales_details = _item_details(data, "SalesDetails", item.sales_details)
        item.purchase_details = _item_details(data, "PurchaseDetails", item.purchase_details)
    except wire.WireValueError as error:
        raise ElementInvalid(str(error)) from error
    touch(item, tenant, created=existing is None)
    item.save()
    return item


def item_delete(*, item: XeroItem) -> None:
    if _item_in_use(item):
        raise ElementInvalid(f"Item '{item.code}' is used on documents and cannot be deleted.")
    item.delete()


def _item_in_use(item: XeroItem) -> bool:
    for model in (XeroInvoice, XeroQuote):
        for lines in model.objects.filter(tenant=item.tenant).values_list("line_items", flat=True):
            if any(line.get("ItemCode") == item.code for line in lines):
                return True
    return False


@transaction.atomic
def tenant_create(
    *,
    name: str,
    tenant_id: uuid.UUID | None = None,
    base_currency: str = "ZAR",
    country_code: str = "ZA",
    tax_rate_percent: Decimal = Decimal("15"),
) -> XeroTenant:
    """An organisation with the accounts and tax types documents need (see seed.py)."""
    tenant = XeroTenant.objects.create(
        tenant_id=tenant_id or uuid.uuid4(),
        name=name,
        legal_name=name,
        short_code="!" + uuid.uuid4().hex[:5],
        base_currency=base_currency,
        country_code=country_code,
    )
    chart_top_up(tenant=tenant, standard_rate=tax_rate_percent)
    return tenant


def chart_top_up(*, tenant: XeroTenant, standard_rate: Decimal | None = None) -> None:
    """Add the accounts and tax rates of `chart.py` that the tenant lacks (by code, tax type)."""
    if standard_rate is None:
        standard_rate = (
            XeroTaxRate.objects.filter(tenant=tenant, tax_type="OUTPUT")
            .values_list("rate", flat=True)
            .first()
        )
        standard_rate = Decimal("15") if standard_rate is None else standard_rate
    codes = set(XeroAccount.objects.filter(tenant=tenant).values_list("code", flat=True))
    XeroAccount.objects.bulk_create(
        [
            XeroAccount(
                tenant=tenant,
                code=spec.code,
                name=spec.name,
                type=spec.type,
                enable_payments=spec.enable_payments,
            )
            for spec in chart.ACCOUNTS
            if spec.code not in codes
        ]
    )
    types = set(XeroTaxRate.objects.filter(tenant=tenant).values_list("tax_type", flat=True))
    XeroTaxRate.objects.bulk_create(
        [
            XeroTaxRate(
                tenant=tenant,
                tax_type=spec.tax_type,
                name=spec.name,
                rate=standard_rate if spec.rate is None else spec.rate,
            )
            for spec in chart.TAX_RATES
            if spec.tax_type not in types
        ]
    )
