"""A Xero connection's settings (Connection.options): the bank account payments are paid into
(`bank_account`, a BANK account's Code, and its name for the pages, `bank_account_name`; chosen
by an Admin at connect or by `sync connect xero --bank-account CODE`) and the default sales
account of document lines (`sales_account`, a REVENUE account, picked from /Accounts at
connect). And the sales account of each item, read from /Items and kept a few minutes per
connection, so that every line names the account Xero needs to authorise the invoice."""

import time

from django.core.exceptions import ValidationError

from apps.sync.engine.records import Rejected
from apps.sync.models import Connection

BANK_ACCOUNT = "bank_account"
# The account's name as Xero had it when chosen: what the pages show next to the code.
BANK_ACCOUNT_NAME = "bank_account_name"
SALES_ACCOUNT = "sales_account"
# Xero's demo and starter charts call their sales account 200.
PREFERRED_SALES_CODE = "200"
ITEM_ACCOUNTS_SECONDS = 300

_item_accounts: dict[int, tuple[float, dict[str, str]]] = {}


def bank_accounts(accounts: list[dict]) -> list[dict]:
    """The accounts a payment may go to: active BANK accounts (or ones taking payments)."""
    return [
        a
        for a in accounts
        if (a.get("Type") == "BANK" or a.get("EnablePaymentsToAccount") is True)
        and a.get("Status", "ACTIVE") == "ACTIVE"
        and a.get("Code")
    ]


def sales_account_pick(accounts: list[dict]) -> str:
    """The default sales account: REVENUE/SALES, code 200 when there is one."""
    revenue = [
        a
        for a in accounts
        if a.get("Type") in ("REVENUE", "SALES")
        and a.get("Status", "ACTIVE") == "ACTIVE"
        and a.get("Code")
    ]
    for account in revenue:
        if account["Code"] == PREFERRED_SALES_CODE:
            return account["Code"]
    return revenue[0]["Code"] if revenue else ""


def options_set(*, connection: Connection, accounts: list[dict], bank_account: str = "") -> dict:
    """Check and keep the bank account (one named, or the only one there is) and the default
    sales account; a bank account that is not one of the organisation's is refused by name."""
    options = dict(connection.options or {})
    banks = bank_accounts(accounts)
    if bank_account:
        codes = [a["Code"] for a in banks]
        if bank_account not in codes:
            listed = ", ".join(f"{a['Code']} ({a.get('Name', '')})" for a in banks) or "none"
            raise ValidationError(
                {
                    "bank_account": f"'{bank_account}' is not a bank account of "
                    f"{connection.name}; its bank accounts are: {listed}."
                }
            )
        options[BANK_ACCOUNT] = bank_account
        options[BANK_ACCOUNT_NAME] = next(
            a.get("Name", "") for a in banks if a["Code"] == bank_account
        )
    elif not options.get(BANK_ACCOUNT) and len(banks) == 1:
        options[BANK_ACCOUNT] = banks[0]["Code"]
        options[BANK_ACCOUNT_NAME] = banks[0].get("Name", "")
    if not options.get(SALES_ACCOUNT):
        options[SALES_ACCOUNT] = sales_account_pick(accounts)
    connection.options = options
    connection.save(update_fields=["options", "updated_at"])
    return options


def bank_account_for(connection: Connection) -> str:
    code = (connection.options or {}).get(BANK_ACCOUNT, "")
    if not code:
        raise Rejected(
            f"Connection “{connection.name}” has no bank account for payments: choose one on "
            "the connection's page or with `sync connect xero --bank-account CODE`, then "
            "requeue this item."
        )
    return code


def sales_account_for(connection: Connection, adapter) -> str:
    """The default sales account, read from /Accounts once when it was never set."""
    code = (connection.options or {}).get(SALES_ACCOUNT, "")
    if code:
        return code
    options = options_set(connection=connection, accounts=adapter.accounts())
    return options.get(SALES_ACCOUNT, "")


def item_sales_accounts(connection: Connection, adapter, codes: set[str]) -> dict[str, str]:
    """Item code -> its sales AccountCode, from one /Items read kept a few minutes (read again
    when a code is not in it: an item made since)."""
    now = time.monotonic()
    cached = _item_accounts.get(connection.pk)
    if cached is None or cached[0] < now or not codes <= set(cached[1]):
        found = {}
        for record in adapter.list_page("items").records:
            sales = record.data.get("SalesDetails") or {}
            found[str(record.data.get("Code") or "")] = str(sales.get("AccountCode") or "")
        cached = (now + ITEM_ACCOUNTS_SECONDS, found)
        _item_accounts[connection.pk] = cached
    return {code: cached[1].get(code, "") for code in codes}
