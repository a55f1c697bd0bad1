"""A new organisation's chart of accounts and tax rates, as Xero's demo company has them.

`tenant_create` and `sandbox seed` write these rows; the serializers read the extra attributes
(system account, reporting class, where a tax rate applies) from here by code and tax type, so the
tables hold only what the API filters on.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AccountSpec:
    code: str
    name: str
    type: str  # OAS AccountType
    tax_type: str = "NONE"
    enable_payments: bool = False
    system_account: str = ""  # OAS SystemAccount ("" for none)
    description: str = ""
    bank_account_number: str = ""


@dataclass(frozen=True)
class TaxRateSpec:
    tax_type: str
    name: str
    rate: Decimal | None  # None: the organisation's standard rate
    report_tax_type: str
    # Which account classes a line with this tax type may post to.
    applies_to: frozenset = frozenset({"ASSET", "EQUITY", "EXPENSE", "LIABILITY", "REVENUE"})


ACCOUNTS = (
    AccountSpec(
        "090",
        "Business Bank Account",
        "BANK",
        bank_account_number="0210123456789",
        description="The organisation's main trading account.",
    ),
    AccountSpec("091", "Business Savings Account", "BANK", bank_account_number="0210123456790"),
    AccountSpec("200", "Sales", "REVENUE", "OUTPUT", description="Income from any normal sales."),
    AccountSpec("260", "Other Revenue", "REVENUE", "OUTPUT"),
    AccountSpec("270", "Interest Income", "REVENUE", "NONE"),
    AccountSpec("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT"),
    AccountSpec("400", "Advertising", "OVERHEADS", "INPUT"),
    AccountSpec("404", "Bank Fees", "OVERHEADS", "NONE"),
    AccountSpec("429", "General Expenses", "OVERHEADS", "INPUT"),
    AccountSpec("610", "Accounts Receivable", "CURRENT", system_account="DEBTORS"),
    AccountSpec("800", "Accounts Payable", "CURRLIAB", system_account="CREDITORS"),
    AccountSpec("820", "VAT", "CURRLIAB", system_account="GST"),
    AccountSpec(
        "970",
        "Payments Clearing",
        "CURRLIAB",
        enable_payments=True,
        description="Payments received through a payment service, before they are banked.",
    ),
    AccountSpec("960", "Retained Earnings", "EQUITY", system_account="RETAINEDEARNINGS"),
)

SALES = frozenset({"ASSET", "EQUITY", "LIABILITY", "REVENUE"})
PURCHASES = frozenset({"ASSET", "EQUITY", "EXPENSE", "LIABILITY"})

TAX_RATES = (
    TaxRateSpec("OUTPUT", "Standard Rate Sales", None, "OUTPUT", SALES),
    TaxRateSpec("INPUT", "Standard Rate Purchases", None, "INPUT", PURCHASES),
    TaxRateSpec("ZERORATEDOUTPUT", "Zero Rated Sales", Decimal(0), "ZERORATEDOUTPUT", SALES),
    TaxRateSpec("EXEMPTOUTPUT", "Exempt Sales", Decimal(0), "EXEMPTOUTPUT", SALES),
    TaxRateSpec("NONE", "No VAT", Decimal(0), "NONE"),
)

ACCOUNT_BY_CODE = {spec.code: spec for spec in ACCOUNTS}
TAX_RATE_BY_TYPE = {spec.tax_type: spec for spec in TAX_RATES}

CLASS_OF_TYPE = {
    **dict.fromkeys(("BANK", "CURRENT", "FIXED", "INVENTORY", "NONCURRENT", "PREPAYMENT"), "ASSET"),
    **dict.fromkeys(("CURRLIAB", "LIABILITY", "TERMLIAB", "PAYG"), "LIABILITY"),
    "EQUITY": "EQUITY",
    **dict.fromkeys(("DEPRECIATN", "DIRECTCOSTS", "EXPENSE", "OVERHEADS"), "EXPENSE"),
    **dict.fromkeys(("REVENUE", "SALES", "OTHERINCOME"), "REVENUE"),
}
