"""Xero's official Python SDK (xero-python) against the sandbox over real HTTP (issue 13).

Every call the project's Xero work needs runs through the SDK's own client, serializer and
deserializer: token refresh (client_id and client_secret in the form body), connections,
organisation, contacts (paging, If-Modified-Since, a batch with one invalid element), items, tax
rates, accounts, quotes, invoices and payments, each write with an Idempotency-Key. The test fails
on any SDK error, on anything the SDK logs at WARNING or above, and on any field of an answer that
the SDK's models do not know (the SDK drops those silently: a misspelt field would pass unseen).
"""

import datetime
import logging
import uuid
from decimal import Decimal

import pytest
from xero_python.accounting import (
    Account,
    AccountingApi,
    Contact,
    Contacts,
    Invoice,
    Invoices,
    Item,
    Items,
    LineItem,
    Payment,
    Payments,
    Purchase,
    Quote,
    Quotes,
    QuoteStatusCodes,
)
from xero_python.api_client import ApiClient, deserializer
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException
from xero_python.identity import IdentityApi

from apps.sandbox import clock
from tests.sandbox.xero.conftest import CLIENT_ID, CLIENT_SECRET

# The keys Xero puts on every Accounting envelope; the SDK's wrapper models leave them out.
ENVELOPE_KEYS = {"Id", "Status", "ProviderName", "DateTimeUTC"}


class UnknownFields:
    """Wraps the SDK's `deserialize_model` to list answer fields its models have no place for."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.original = deserializer.deserialize_model

    def __call__(self, model, data, model_finder):
        if isinstance(data, dict):
            known = set(model.attribute_map.values())
            # A collection wrapper (`Contacts` holding "Contacts") sits in Xero's envelope.
            wrapper = model.__name__ in data
            unknown = set(data) - known - (ENVELOPE_KEYS if wrapper else set())
            self.found += [f"{model.__name__}.{key}" for key in sorted(unknown)]
        return self.original(model, data, model_finder)


@pytest.fixture
def sdk(live_server, live_seeded, monkeypatch, caplog):
    unknown = UnknownFields()
    monkeypatch.setattr(deserializer, "deserialize_model", unknown)
    base = f"{live_server.url}/sandbox/xero"
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{base}/identity/connect/token")
    monkeypatch.setattr(TokenApi, "revoke_token_url", f"{base}/identity/connect/revocation")
    store = {
        "access_token": live_seeded["access_token"],
        "refresh_token": live_seeded["refresh_token"],
        "token_type": "Bearer",
        "expires_in": 1800,
        "scope": live_seeded["scope"].split(),
    }
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)),
        pool_threads=1,
    )
    client.oauth2_token_getter(lambda: store)
    client.oauth2_token_saver(lambda token: store.update(token))
    caplog.set_level(logging.WARNING, logger="xero_python")
    accounting = AccountingApi(client, base_url=f"{base}/api/api.xro/2.0")
    identity = IdentityApi(client, base_url=f"{base}/api")
    yield {"client": client, "store": store, "accounting": accounting, "identity": identity}
    assert unknown.found == [], f"fields the SDK cannot deserialize: {unknown.found}"
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], problems


def key() -> str:
    return f"sdk-{uuid.uuid4()}"


def test_token_refresh_sends_the_client_in_the_body(sdk, live_seeded):
    before = sdk["store"]["refresh_token"]
    sdk["client"].refresh_oauth2_token()
    assert sdk["store"]["refresh_token"] not in (None, before)
    assert sdk["store"]["access_token"] != live_seeded["access_token"]
    connections = sdk["identity"].get_connections()
    assert {str(c.tenant_id) for c in connections} == {
        t["tenant_id"] for t in live_seeded["tenants"]
    }


def test_the_whole_document_flow_through_the_sdk(sdk, live_seeded):
    api: AccountingApi = sdk["accounting"]
    tenant = live_seeded["tenants"][0]["tenant_id"]
    [organisation] = api.get_organisations(tenant).organisations
    assert str(organisation.organisation_id) == tenant

    # Contacts: a batch with one invalid element, answered per element.
    batch = Contacts(
        contacts=[
            Contact(name=f"SDK Customer {n}", email_address=f"c{n}@sdk.test") for n in range(3)
        ]
        + [Contact(name="Xero Customer 0001")]
    )
    answered = api.create_contacts(
        tenant, batch, summarize_errors=False, idempotency_key=key()
    ).contacts
    assert [c.status_attribute_string for c in answered] == ["OK", "OK", "OK", "ERROR"]
    assert answered[3].validation_errors[0].message.startswith("The contact name")
    assert answered[3].has_validation_errors is True
    # The same batch summarised is a 400 the SDK raises, naming the refused element.
    with pytest.raises(AccountingBadRequestException) as refused:
        api.create_contacts(tenant, Contacts(contacts=[Contact(name="")]), idempotency_key=key())
    assert refused.value.status == 400
    # Paging and If-Modified-Since.
    first_page = api.get_contacts(tenant, page=1, page_size=2, order="Name ASC")
    assert len(first_page.contacts) == 2 and first_page.pagination.item_count == 6
    second_page = api.get_contacts(tenant, page=3, page_size=2, order="Name ASC")
    assert len(second_page.contacts) == 2
    clock.clock_advance(vendor="xero", account=tenant, vendor_seconds=120)
    since = clock.now("xero", tenant).replace(microsecond=0)
    sdk_customer = answered[0]
    api.update_contact(
        tenant,
        sdk_customer.contact_id,
        Contacts(contacts=[Contact(contact_id=sdk_customer.contact_id, first_name="Changed")]),
        idempotency_key=key(),
    )
    changed = api.get_contacts(tenant, if_modified_since=since).contacts
    assert [c.contact_id for c in changed] == [sdk_customer.contact_id]

    # Items, tax rates and accounts.
    items = api.create_items(
        tenant,
        Items(
            items=[
                Item(
                    code="SDK-1",
                    name="SDK service",
                    description="Service through the SDK",
                    sales_details=Purchase(
                        unit_price=Decimal("33.33"), account_code="200", tax_type="OUTPUT"
                    ),
                )
            ]
        ),
        summarize_errors=False,
        idempotency_key=key(),
    ).items
    assert items[0].status_attribute_string == "OK"
    assert "SDK-1" in {i.code for i in api.get_items(tenant).items}
    rates = {t.tax_type: t for t in api.get_tax_rates(tenant).tax_rates}
    assert rates["OUTPUT"].effective_rate == Decimal("15")
    assert rates["OUTPUT"].tax_components[0].rate == Decimal("15")
    banks = api.get_accounts(tenant, where='Type=="BANK"').accounts
    assert "090" in {a.code for a in banks}

    # A quote with three lines, sent and accepted.
    lines = [
        LineItem(item_code="SDK-1", quantity=Decimal(3), tax_type="OUTPUT", account_code="200"),
        LineItem(
            description="Set-up",
            quantity=Decimal(1),
            unit_amount=Decimal("100"),
            discount_rate=Decimal("33.33"),
            account_code="200",
        ),
        LineItem(
            description="Travel",
            quantity=Decimal(2),
            unit_amount=Decimal("12.50"),
            account_code="200",
        ),
    ]
    contact = Contact(contact_id=sdk_customer.contact_id)
    quote = api.create_quotes(
        tenant,
        Quotes(
            quotes=[
                Quote(
                    contact=contact,
                    line_items=lines,
                    date=datetime.date(2026, 3, 1),
                    reference="SDK-Q-1",
                )
            ]
        ),
        summarize_errors=False,
        idempotency_key=key(),
    ).quotes[0]
    assert quote.status_attribute_string == "OK"
    # 99.99 + 66.67 + 25.00, tax 15.00 + 10.00 + 3.75
    assert (quote.sub_total, quote.total_tax, quote.total) == (
        Decimal("191.66"),
        Decimal("28.75"),
        Decimal("220.41"),
    )
    for status in ("SENT", "ACCEPTED"):
        moved = api.update_quote(
            tenant,
            quote.quote_id,
            Quotes(
                quotes=[Quote(contact=contact, date=quote.date, status=QuoteStatusCodes[status])]
            ),
            idempotency_key=key(),
        ).quotes[0]
        assert moved.status.value == status

    # The invoice, authorised, found again by its number.
    invoice = api.create_invoices(
        tenant,
        Invoices(
            invoices=[
                Invoice(
                    type="ACCREC",
                    contact=contact,
                    line_items=lines,
                    date=datetime.date(2026, 3, 2),
                    due_date=datetime.date(2026, 4, 1),
                    invoice_number="SDK-INV-1",
                    reference="SDK-Q-1",
                    status="AUTHORISED",
                )
            ]
        ),
        summarize_errors=False,
        idempotency_key=key(),
    ).invoices[0]
    assert invoice.status_attribute_string == "OK" and invoice.total == Decimal("220.41")
    found = api.get_invoices(tenant, invoice_numbers=["SDK-INV-1"], page=1).invoices
    assert [i.invoice_id for i in found] == [invoice.invoice_id]
    api.update_quote(
        tenant,
        quote.quote_id,
        Quotes(quotes=[Quote(contact=contact, date=quote.date, status=QuoteStatusCodes.INVOICED)]),
        idempotency_key=key(),
    )

    # Paid in two parts: one payment alone (createPayment), one in a batch (createPayments).
    bank = Account(code="090")
    first = api.create_payment(
        tenant,
        Payment(
            invoice=Invoice(invoice_id=invoice.invoice_id),
            account=bank,
            amount=Decimal("100.00"),
            date=datetime.date(2026, 3, 10),
        ),
        idempotency_key=key(),
    ).payments[0]
    assert first.amount == Decimal("100.00")
    second = api.create_payments(
        tenant,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=invoice.invoice_id),
                    account=bank,
                    amount=Decimal("120.41"),
                    date=datetime.date(2026, 3, 20),
                ),
                Payment(
                    invoice=Invoice(invoice_id=invoice.invoice_id),
                    account=bank,
                    amount=Decimal("1.00"),
                ),
            ]
        ),
        summarize_errors=False,
        idempotency_key=key(),
    ).payments
    assert [p.status_attribute_string for p in second] == ["OK", "ERROR"]
    paid = api.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert (paid.status, paid.amount_due, len(paid.payments)) == ("PAID", 0, 2)
    payments = api.get_payments(tenant, page=1, page_size=100).payments
    assert sorted(p.amount for p in payments) == [Decimal("100.00"), Decimal("120.41")]
    quotes = api.get_quotes(tenant, quote_number=quote.quote_number).quotes
    assert [q.status.value for q in quotes] == ["INVOICED"]
