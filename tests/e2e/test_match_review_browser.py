"""The matching review in Chromium, as an office manager uses it: what each record in the books
will become is readable at 1,366 and 390 px without sideways scrolling, one record that matches
two of ours is chosen, two are marked new in one go, and the review is approved."""

import pytest

from apps.sandbox.xero import services as xero_vendor
from apps.sandbox.xero.models import XeroTenant
from apps.sandbox.xero.seed import seed_xero
from apps.sync.matching.models import MatchPlan, MatchRow, PlanStatus
from apps.sync.models import Binding
from tests.clients.factories import ClientFactory
from tests.e2e.test_workspace_browser import SCREENSHOTS, WIDTHS, admin, signed_in  # noqa: F401
from tests.sync.sandbox import point_settings_at, sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plan(live_server, settings):
    settings.XERO_CLIENT_ID = "xero-client"  # the OAuth client the sandbox registers
    settings.XERO_CLIENT_SECRET = "xero-client-secret-XYZ"
    point_settings_at(settings, live_server.url)
    answer = seed_xero(tenants=1, contacts=0, items=0)
    tenant = XeroTenant.objects.get()
    ClientFactory(name="Thandi Mokoena", email="thandi@example.co.za")
    ClientFactory(name="Karoo Print Pty Ltd", email="print@karoo.test")
    ClientFactory(name="Blue Crane Trading", email="a@crane.test", tax_number="4120199876")
    ClientFactory(name="Two Oceans Cafe", email="one@oceans.test")
    ClientFactory(name="Two Oceans Café", email="two@oceans.test")
    ClientFactory(name="Walk-in customer", email="walkin@here.test")
    for data in [
        {"Name": "T. Mokoena", "EmailAddress": "THANDI@example.co.za"},
        {"Name": "Karoo Print (Pty) Ltd.", "EmailAddress": "accounts@karoo-print.test"},
        {"Name": "Blue Crane Trading CC", "TaxNumber": "4120 199 876"},
        {"Name": "Two Oceans Cafe!"},
        {"Name": "Sunrise Plumbing", "EmailAddress": "info@sunrise.test"},
        {"Name": "Jacaranda Florists", "EmailAddress": "hello@jacaranda.test"},
        {"Name": "Protea Tours", "EmailAddress": "book@protea.test"},
    ]:
        xero_vendor.contact_save(tenant=tenant, data=data)
    sync("connect", "xero", "--refresh-token", answer["refresh_token"], "--review")
    found = MatchPlan.objects.get()
    assert found.status == PlanStatus.OPEN
    return found


def test_the_review_reads_well_on_both_screens_and_is_decided_in_a_few_clicks(
    browser,
    live_server,
    plan,
    admin,  # noqa: F811
):
    url = f"{live_server.url}/admin/sync/matchplan/{plan.pk}/change/"
    for name, (width, height) in WIDTHS.items():
        context, page = signed_in(browser, live_server, admin, width=width, height=height)
        try:
            for tab in ("choose", "link", "create", "local"):
                response = page.goto(f"{url}?tab={tab}")
                assert response.status == 200
                widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert widths[0] <= widths[1], (name, tab, widths)
                page.screenshot(
                    path=str(SCREENSHOTS / f"admin-match-review-{tab}-{name}.png"), full_page=True
                )
        finally:
            context.close()

    context, page = signed_in(browser, live_server, admin, width=1366, height=900)
    try:
        page.goto(url)
        text = page.inner_text("#match-review")
        assert "Nothing is linked, added or sent" in text
        assert "1 record in the books looks like more than one of yours" in text
        # The café: two of ours are alike; it is the first one.
        row = MatchRow.objects.get(plan=plan, decision="choose")
        page.get_by_label(f"What to do with {row.label}").select_option(
            label=f"Same as {row.candidates[0]['label']}"
        )
        page.get_by_role("button", name="Save the changes in this list").click()
        assert "1 change(s) saved" in page.inner_text(".messagelist")
        # Two new ones are not wanted here after all? No: they are new; tick two and keep them new.
        page.goto(f"{url}?tab=link")
        assert "Same e-mail" in page.inner_text("#match-rows")
        assert "Same tax number" in page.inner_text("#match-rows")
        assert "Similar name" in page.inner_text("#match-rows")
        page.goto(f"{url}?tab=local")
        page.locator(".tick").first.check()
        page.get_by_role("button", name="Send them to the books").click()
        assert "set to “Send to the books”" in page.inner_text(".messagelist")
        page.screenshot(path=str(SCREENSHOTS / "admin-match-review-decided-laptop.png"))
        page.get_by_role("button", name="Approve and start the first sync").click()
        assert "Approved" in page.inner_text(".messagelist")
    finally:
        context.close()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPLIED
    assert Binding.objects.filter(entity="clients").count() == 7 + 1
