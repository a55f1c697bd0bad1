"""Two admin pages of the sync in Chromium, as an office Admin meets them: the Xero bank-account
chooser that follows Connect Xero (and its empty state, an organisation with no bank account),
and the reconciliation report with its differences. Both at 1,366 and 390 px without sideways
scrolling; the sandbox over real HTTP."""

import pytest

from apps.invoices import services as invoice_services
from apps.sandbox.xero.models import XeroAccount, XeroTenant
from apps.sandbox.xero.seed import seed_xero
from apps.sandbox.zoho import books
from apps.sandbox.zoho.models import BooksInvoice
from apps.sync.models import Connection, ReconcileDifference
from tests.e2e.test_workspace_browser import SCREENSHOTS, WIDTHS, admin, signed_in  # noqa: F401
from tests.quotes.factories import DocClientFactory
from tests.sync.sandbox import books_connect, point_settings_at, sync
from tests.sync.test_reconcile import LINES
from tests.sync.test_zoho_flows import drain_until_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(page, what: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], (what, widths)


def each_width(browser, live_server, user, url: str, shot: str):
    """`url` on a phone and on a laptop, signed in as `user`: loaded, checked for sideways
    scrolling and saved as SCREENSHOTS/<shot>-<phone|laptop>.png; yields (name, width, page)
    for the caller's own checks, then closes the browser context."""
    for name, (width, height) in WIDTHS.items():
        context, page = signed_in(browser, live_server, user, width=width, height=height)
        try:
            assert page.goto(url).status == 200
            no_sideways_scroll(page, f"{shot} {name}")
            page.screenshot(path=str(SCREENSHOTS / f"{shot}-{name}.png"), full_page=True)
            yield name, width, page
        finally:
            context.close()


@pytest.fixture
def xero(live_server, settings) -> Connection:
    """One Xero organisation connected over the CLI without a bank account: its chart has two
    (090 and 091), so none was taken for the Admin."""
    settings.XERO_CLIENT_ID = "xero-client"  # the OAuth client the sandbox registers
    settings.XERO_CLIENT_SECRET = "xero-client-secret-XYZ"
    point_settings_at(settings, live_server.url)
    answer = seed_xero(tenants=1, contacts=0, items=0)
    sync("connect", "xero", "--refresh-token", answer["refresh_token"], "--name", "Acme Xero")
    connection = Connection.objects.get(provider="xero")
    assert "bank_account" not in connection.options
    return connection


def test_the_bank_account_chooser_reads_well_and_saves_the_choice(
    browser,
    live_server,
    xero,
    admin,  # noqa: F811
):
    url = f"{live_server.url}/sync/connect/xero/{xero.pk}/bank-account/"
    for _, _, page in each_width(browser, live_server, admin, url, "admin-xero-bank"):
        text = page.inner_text("#content")
        assert "Which bank account are customer payments paid into?" in text
        assert "Nothing is chosen yet" in text
        # Each account by its name first, its code after, as Xero's chart lists them.
        assert page.get_by_label("Business Bank Account (090)").is_visible()
        assert page.get_by_label("Business Savings Account (091)").is_visible()

    context, page = signed_in(browser, live_server, admin, width=390, height=844)
    try:
        page.goto(url)
        page.get_by_label("Business Savings Account (091)").check()
        page.get_by_role("button", name="Save the bank account").click()
        page.wait_for_load_state()
        messages = page.inner_text(".messagelist")
        assert "Acme Xero: payments go to Business Savings Account (091)" in messages
        # The message links to what was changed: the connection's own page.
        page.get_by_role("link", name="Acme Xero", exact=True).first.click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/admin/sync/connection/{xero.pk}/change/")
        assert "Bank account for payments: Business Savings Account (091)" in page.inner_text(
            "#content"
        )
        no_sideways_scroll(page, "connection after saving")
        page.screenshot(path=str(SCREENSHOTS / "admin-xero-connection-phone.png"), full_page=True)

        # Back on the chooser, the saved account is the one checked and said so.
        page.goto(url)
        assert page.get_by_label("Business Savings Account (091)").is_checked()
        assert "Payments now go to Business Savings Account (091)" in page.inner_text("#content")
    finally:
        context.close()
    xero.refresh_from_db()
    assert xero.options["bank_account"] == "091"


def test_an_organisation_without_a_bank_account_says_what_to_do(
    browser,
    live_server,
    xero,
    admin,  # noqa: F811
):
    tenant = XeroTenant.objects.get(tenant_id=xero.remote_account_id)
    # No BANK account, nor one that takes payments (the chart's clearing account).
    XeroAccount.objects.filter(tenant=tenant, type="BANK").delete()
    XeroAccount.objects.filter(tenant=tenant, enable_payments=True).delete()
    url = f"{live_server.url}/sync/connect/xero/{xero.pk}/bank-account/"
    for _, _, page in each_width(browser, live_server, admin, url, "admin-xero-bank-none"):
        text = page.inner_text("#content")
        assert "Acme Xero has no bank account in Xero yet" in text
        assert "Chart of accounts" in text
        # Nothing to save: no empty form with a button that would do nothing.
        assert page.get_by_role("button", name="Save the bank account").count() == 0
        assert page.get_by_role("link", name="Back to the connections").is_visible()


@pytest.fixture
def books_live(live_server, settings) -> None:
    settings.ZOHO_CLIENT_ID = "zoho-client"  # the OAuth client the sandbox registers
    settings.ZOHO_CLIENT_SECRET = "zoho-client-secret-XYZ"
    books_connect(settings, live_server.url)


@pytest.fixture
def report(books_live):
    """A reconciliation run over real HTTP with one difference: an invoice of ours whose total
    was edited in Books."""
    client = DocClientFactory(name="Kestrel Plumbing", email="accounts@kestrel.example")
    invoice = invoice_services.invoice_create(client=client, lines=LINES)
    invoice = invoice_services.invoice_send(invoice=invoice)
    drain_until_settled()
    twin = BooksInvoice.objects.get(reference_number=invoice.number)
    books.invoice_update(
        invoice=twin,
        data={"line_items": [{"name": "Boiler service", "quantity": 2, "rate": 475, "tax_id": ""}]},
    )
    summary = sync("reconcile", "--connection", "Books")
    assert len(summary["differences"]) == 1
    return invoice


def test_the_reconciliation_report_reads_well_on_both_screens(
    browser,
    live_server,
    report,
    admin,  # noqa: F811
):
    runs = f"{live_server.url}/admin/sync/reconcilerun/"
    for name, width, page in each_width(browser, live_server, admin, runs, "admin-reconcile-runs"):
        text = page.inner_text("#content")
        assert "Reconciliation reports" in text
        assert "1 difference" in text and "difference(s)" not in text
        page.get_by_role("link", name="1 difference").first.click()
        page.wait_for_load_state()
        no_sideways_scroll(page, f"differences {name}")
        page.screenshot(
            path=str(SCREENSHOTS / f"admin-reconcile-differences-{name}.png"), full_page=True
        )
        text = page.inner_text("#content")
        assert "total: 900.00" in text and "total: 950.00" in text
        # The number is a link to our invoice; the fix button is on the screen itself.
        link = page.get_by_role("link", name=report.number)
        assert link.get_attribute("href") == f"/admin/invoices/invoice/{report.pk}/change/"
        button = page.get_by_role("button", name="Push ours")
        box = button.bounding_box()
        assert box and box["x"] + box["width"] <= width, (name, box)

    # The fix, from a phone: the message names the invoice and the row says what was done.
    context, page = signed_in(browser, live_server, admin, width=390, height=844)
    try:
        page.goto(f"{live_server.url}/admin/sync/reconciledifference/?status__exact=open")
        page.get_by_role("button", name="Push ours").click()
        page.wait_for_load_state()
        assert report.number in page.inner_text(".messagelist")
        no_sideways_scroll(page, "after the fix")
        page.screenshot(path=str(SCREENSHOTS / "admin-reconcile-fixed-phone.png"), full_page=True)
        page.get_by_role("link", name=f"Open {report.number}").click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/admin/invoices/invoice/{report.pk}/change/")
    finally:
        context.close()
    assert ReconcileDifference.objects.get().status != "open"


def test_the_reconciliation_report_before_any_run_says_how_to_start(
    browser,
    live_server,
    books_live,
    admin,  # noqa: F811
):
    runs = f"{live_server.url}/admin/sync/reconcilerun/"
    for _, _, page in each_width(browser, live_server, admin, runs, "admin-reconcile-empty"):
        text = page.inner_text("#content")
        assert "No reconciliation has run yet" in text
        assert page.get_by_role("button", name="Reconcile now").is_visible()
