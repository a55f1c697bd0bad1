"""Sandbox rows to the JSON objects Xero answers with (field names and shapes of OAS 16.1.0)."""

from datetime import UTC
from decimal import Decimal

from apps.sandbox.xero import chart, wire
from apps.sandbox.xero.models import (
    XeroAccount,
    XeroConnection,
    XeroContact,
    XeroInvoice,
    XeroItem,
    XeroPayment,
    XeroQuote,
    XeroTaxRate,
    XeroTenant,
)

ADDRESS_TYPES = ("POBOX", "STREET")
PHONE_TYPES = ("DEFAULT", "DDI", "FAX", "MOBILE")


def _money(value) -> Decimal:
    return wire.decimal_places(Decimal(str(value)), 2)


def _unit(value) -> Decimal:
    return wire.decimal_places(Decimal(str(value)), 4)


def contact_summary(contact: XeroContact) -> dict:
    """The contact as documents embed it (`Contact` on an invoice or quote)."""
    return {
        "ContactID": str(contact.contact_id),
        "Name": contact.name,
        "EmailAddress": contact.email_address,
    }


def contact_to_xero(contact: XeroContact) -> dict:
    # Xero always answers with both address and four phone slots, filled or not.
    addresses = {a.get("AddressType"): a for a in contact.addresses}
    phones = {p.get("PhoneType"): p for p in contact.phones}
    body = {
        "ContactID": str(contact.contact_id),
        "ContactStatus": contact.status,
        "Name": contact.name,
        "FirstName": contact.first_name,
        "LastName": contact.last_name,
        "EmailAddress": contact.email_address,
        "Addresses": [{**addresses.get(kind, {}), "AddressType": kind} for kind in ADDRESS_TYPES],
        "Phones": [
            {
                "PhoneType": kind,
                "PhoneNumber": phones.get(kind, {}).get("PhoneNumber", ""),
                "PhoneAreaCode": phones.get(kind, {}).get("PhoneAreaCode", ""),
                "PhoneCountryCode": phones.get(kind, {}).get("PhoneCountryCode", ""),
            }
            for kind in PHONE_TYPES
        ],
        "UpdatedDateUTC": wire.ms_datetime(contact.updated_at),
        "ContactGroups": [],
        "IsSupplier": contact.is_supplier,
        "IsCustomer": contact.is_customer,
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    for key, value in (
        ("ContactNumber", contact.contact_number),
        ("AccountNumber", contact.account_number),
        ("CompanyNumber", contact.company_number),
        ("TaxNumber", contact.tax_number),
        ("DefaultCurrency", contact.default_currency),
    ):
        if value:
            body[key] = value
    return body


def item_to_xero(item: XeroItem) -> dict:
    def details(stored: dict) -> dict:
        out = {}
        if stored.get("UnitPrice") is not None:
            out["UnitPrice"] = _unit(stored["UnitPrice"])
        for key in ("AccountCode", "COGSAccountCode", "TaxType"):
            if stored.get(key):
                out[key] = stored[key]
        return out

    return {
        "ItemID": str(item.item_id),
        "Code": item.code,
        "Name": item.name,
        "Description": item.description,
        "PurchaseDescription": item.purchase_description,
        "IsSold": item.is_sold,
        "IsPurchased": item.is_purchased,
        "IsTrackedAsInventory": False,
        "SalesDetails": details(item.sales_details),
        "PurchaseDetails": details(item.purchase_details),
        "UpdatedDateUTC": wire.ms_datetime(item.updated_at),
    }


def line_items_to_xero(lines: list[dict]) -> list[dict]:
    out = []
    for line in lines:
        entry = {
            "LineItemID": line["LineItemID"],
            "Description": line.get("Description", ""),
            "Quantity": _unit(line["Quantity"]),
            "UnitAmount": _unit(line["UnitAmount"]),
            "ItemCode": line.get("ItemCode", ""),
            "AccountCode": line.get("AccountCode", ""),
            "TaxType": line["TaxType"],
            "TaxAmount": _money(line["TaxAmount"]),
            "LineAmount": _money(line["LineAmount"]),
            "Tracking": [],
        }
        if line.get("DiscountRate") not in (None, ""):
            entry["DiscountRate"] = _money(line["DiscountRate"])
        if line.get("DiscountAmount") not in (None, ""):
            entry["DiscountAmount"] = _money(line["DiscountAmount"])
        out.append(entry)
    return out


def quote_to_xero(quote: XeroQuote) -> dict:
    body = {
        "QuoteID": str(quote.quote_id),
        "QuoteNumber": quote.quote_number,
        "Reference": quote.reference,
        "Terms": quote.terms,
        "Contact": contact_summary(quote.contact),
        "LineItems": line_items_to_xero(quote.line_items),
        "Date": wire.ms_date(quote.date, offset=False),
        "DateString": wire.iso_date_string(quote.date),
        "Status": quote.status,
        "CurrencyRate": Decimal("1.000000"),
        "CurrencyCode": quote.currency_code,
        "SubTotal": _money(quote.sub_total),
        "TotalTax": _money(quote.total_tax),
        "Total": _money(quote.total),
        "UpdatedDateUTC": wire.ms_datetime(quote.updated_at, offset=False),
        "LineAmountTypes": quote.line_amount_types,
    }
    if quote.expiry_date:
        body["ExpiryDate"] = wire.ms_date(quote.expiry_date, offset=False)
        body["ExpiryDateString"] = wire.iso_date_string(quote.expiry_date)
    if quote.title:
        body["Title"] = quote.title
    if quote.summary:
        body["Summary"] = quote.summary
    return body


def payment_summary(payment: XeroPayment) -> dict:
    """A payment as an invoice lists it."""
    return {
        "PaymentID": str(payment.payment_id),
        "Date": wire.ms_date(payment.date),
        "Amount": _money(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": Decimal("1.000000"),
        "HasAccount": True,
        "HasValidationErrors": False,
    }


def invoice_to_xero(invoice: XeroInvoice, *, payments: list[XeroPayment] | None = None) -> dict:
    if payments is None and not invoice.amount_paid:
        payments = []  # nothing paid: no AUTHORISED payment (each is more than zero)
    if payments is None:
        payments = [p for p in invoice.payments.all() if p.status == XeroPayment.Status.AUTHORISED]
    body = {
        "Type": invoice.type,
        "InvoiceID": str(invoice.invoice_id),
        "InvoiceNumber": invoice.invoice_number,
        "Reference": invoice.reference,
        "Contact": contact_summary(invoice.contact),
        "Date": wire.ms_date(invoice.date),
        "LineAmountTypes": invoice.line_amount_types,
        "LineItems": line_items_to_xero(invoice.line_items),
        "Status": invoice.status,
        "SentToContact": invoice.sent_to_contact,
        "CurrencyCode": invoice.currency_code,
        "CurrencyRate": Decimal("1.000000"),
        "SubTotal": _money(invoice.sub_total),
        "TotalTax": _money(invoice.total_tax),
        "Total": _money(invoice.total),
        "AmountDue": _money(invoice.amount_due),
        "AmountPaid": _money(invoice.amount_paid),
        "AmountCredited": _money(0),
        "Payments": [payment_summary(p) for p in payments],
        "Prepayments": [],
        "Overpayments": [],
        "CreditNotes": [],
        "HasAttachments": False,
        "HasErrors": False,
        "IsDiscounted": any(
            line.get("DiscountRate") or line.get("DiscountAmount") for line in invoice.line_items
        ),
        "UpdatedDateUTC": wire.ms_datetime(invoice.updated_at),
    }
    if invoice.due_date:
        body["DueDate"] = wire.ms_date(invoice.due_date)
    if invoice.fully_paid_on:
        body["FullyPaidOnDate"] = wire.ms_date(invoice.fully_paid_on)
    return body


def payment_to_xero(payment: XeroPayment) -> dict:
    invoice = payment.invoice
    return {
        "PaymentID": str(payment.payment_id),
        "Date": wire.ms_date(payment.date),
        "Amount": _money(payment.amount),
        "BankAmount": _money(payment.amount),
        "CurrencyRate": Decimal("1.000000"),
        "Reference": payment.reference,
        "IsReconciled": False,
        "Status": payment.status,
        "PaymentType": "ACCRECPAYMENT" if invoice.type == "ACCREC" else "ACCPAYPAYMENT",
        "UpdatedDateUTC": wire.ms_datetime(payment.updated_at),
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": str(payment.account.account_id), "Code": payment.account.code},
        "Invoice": {
            "Type": invoice.type,
            "InvoiceID": str(invoice.invoice_id),
            "InvoiceNumber": invoice.invoice_number,
            "Contact": contact_summary(invoice.contact),
            "CurrencyCode": invoice.currency_code,
        },
    }


def organisation_to_xero(tenant: XeroTenant) -> dict:
    return {
        "OrganisationID": str(tenant.tenant_id),
        "APIKey": "",
        "Name": tenant.name,
        "LegalName": tenant.legal_name or tenant.name,
        "PaysTax": True,
        "Version": tenant.version,
        "OrganisationType": "COMPANY",
        "BaseCurrency": tenant.base_currency,
        "CountryCode": tenant.country_code,
        "IsDemoCompany": tenant.organisation_class == "DEMO",
        "OrganisationStatus": "ACTIVE",
        "Timezone": tenant.timezone,
        "OrganisationEntityType": "COMPANY",
        "ShortCode": tenant.short_code,
        "Class": tenant.organisation_class,
        "Edition": "BUSINESS",
        "CreatedDateUTC": wire.ms_datetime(tenant.created_at, offset=False),
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }


def _connection_time(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def connection_to_xero(connection: XeroConnection) -> dict:
    """`/connections` uses ISO times with seven fractional digits and no zone (OAS example)."""
    return {
        "id": str(connection.connection_id),
        "authEventId": str(connection.auth_event_id),
        "tenantId": str(connection.tenant.tenant_id),
        "tenantType": "ORGANISATION",
        "tenantName": connection.tenant.name,
        "createdDateUtc": _connection_time(connection.created_at),
        "updatedDateUtc": _connection_time(connection.updated_at),
    }


def account_to_xero(account: XeroAccount) -> dict:
    """An account of the chart (OAS `Account`); its extra attributes come from chart.py."""
    spec = chart.ACCOUNT_BY_CODE.get(account.code)
    body = {
        "AccountID": str(account.account_id),
        "Code": account.code,
        "Name": account.name,
        "Status": "ACTIVE",
        "Type": account.type,
        "TaxType": spec.tax_type if spec else "NONE",
        "Description": spec.description if spec else "",
        "Class": chart.CLASS_OF_TYPE.get(account.type, "ASSET"),
        "EnablePaymentsToAccount": account.enable_payments,
        "ShowInExpenseClaims": False,
        "BankAccountType": "BANK" if account.type == "BANK" else "",
        "ReportingCode": "",
        "ReportingCodeName": "",
        "HasAttachments": False,
        "UpdatedDateUTC": wire.ms_datetime(account.tenant.created_at),
        "AddToWatchlist": False,
    }
    if account.type == "BANK":
        body["BankAccountNumber"] = spec.bank_account_number if spec else ""
        body["CurrencyCode"] = account.tenant.base_currency
    if spec and spec.system_account:
        body["SystemAccount"] = spec.system_account
    return body


def tax_rate_to_xero(rate: XeroTaxRate) -> dict:
    """A tax rate (OAS `TaxRate`): one component at the rate; EffectiveRate = DisplayTaxRate."""
    spec = chart.TAX_RATE_BY_TYPE.get(rate.tax_type)
    applies = spec.applies_to if spec else frozenset(chart.CLASS_OF_TYPE.values())
    percent = wire.decimal_places(Decimal(str(rate.rate)), 4)
    return {
        "Name": rate.name,
        "TaxType": rate.tax_type,
        "ReportTaxType": spec.report_tax_type if spec else "NONE",
        "CanApplyToAssets": "ASSET" in applies,
        "CanApplyToEquity": "EQUITY" in applies,
        "CanApplyToExpenses": "EXPENSE" in applies,
        "CanApplyToLiabilities": "LIABILITY" in applies,
        "CanApplyToRevenue": "REVENUE" in applies,
        "DisplayTaxRate": percent,
        "EffectiveRate": percent,
        "Status": "ACTIVE",
        "TaxComponents": [
            {"Name": "VAT", "Rate": percent, "IsCompound": False, "IsNonRecoverable": False}
        ],
    }
