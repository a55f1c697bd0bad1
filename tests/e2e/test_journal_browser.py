"""The record's sync journal in Chromium, on the staff pages and the admin change page, at 1,366
and 390 px: a quote whose push failed, replayed by the Admin from its journal (one estimate in
the sandbox over real HTTP); the Agent's view has no seconds, no JSON and no Replay button."""

import re

import pytest

from apps.quotes import services as quote_services
from apps.sandbox.zoho.models import BooksEstimate
from apps.sync.models import OutboxItem, OutboxStatus
from tests.e2e import test_workspace_browser as workspace
from tests.e2e.test_workspace_browser import SCREENSHOTS, WIDTHS, signed_in
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.test_zoho_flows import drain_until_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The workspace browser tests' fixtures: the sandbox connected as "Books", an Agent, an Admin.
zoho, agent, admin = workspace.zoho, workspace.agent, workspace.admin
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")


def _failed_quote(agent_user):
    service = DocServiceFactory(name="   ")  # Books refuses an item without a name
    client = DocClientFactory(name="Thandi Mokoena", email="thandi@example.co.za")
    quote = quote_services.quote_create(created_by=agent_user, client=client)
    quote_services.quote_line_add(
        quote=quote, service=service, name="Unabridged birth certificate", quantity="2"
    )
    quote = quote_services.quote_send(quote=quote)
    drain_until_settled()
    assert OutboxItem.objects.get(entity="quotes").status == OutboxStatus.DEAD
    return service, quote


def _check(page, problems: list[str], name: str, width: int) -> None:
    from axe_playwright_python.sync_playwright import Axe

    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        problems.append(f"{name} at {width}px scrolls sideways: {widths}")
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            problems.append(f"{name} at {width}px: axe {violation['id']}")


def test_agent_reads_the_journal_at_both_widths_without_seconds_or_json(
    browser,
    live_server,
    zoho,
    agent,
):
    _service, quote = _failed_quote(agent)
    problems: list[str] = []
    for label, (width, height) in WIDTHS.items():
        context, page = signed_in(browser, live_server, agent, width=width, height=height)
        try:
            for name, path in {
                "journal-quote-agent": f"/quotes/{quote.pk}/",
                "journal-client-agent": f"/clients/{quote.client_id}/",
            }.items():
                assert page.goto(f"{live_server.url}{path}").status == 200
                journal = page.locator("#sync-journal")
                text = journal.inner_text()
                assert "Sync journal" in text
                assert not SECONDS.search(text), text
                assert "{" not in text and "Request and answer" not in text
                assert page.locator("#sync-journal button").count() == 0  # no Replay
                _check(page, problems, name, width)
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
            # The failed push says why, in words; the time is on hover in full.
            page.goto(f"{live_server.url}/quotes/{quote.pk}/")
            failed = page.locator(".journal-outbound").first
            assert "Failed" in failed.inner_text()
            assert "could not be bound" in failed.inner_text()
            assert failed.locator("time").first.get_attribute("title")
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_admin_fixes_and_replays_from_the_journal_in_the_browser(
    browser,
    live_server,
    zoho,
    agent,
    admin,
):
    service, quote = _failed_quote(agent)
    service.name = "Unabridged birth certificate"
    service.save()
    problems: list[str] = []
    context, page = signed_in(browser, live_server, admin, width=390, height=844)
    try:
        page.goto(f"{live_server.url}/quotes/{quote.pk}/")
        _check(page, problems, "journal-quote-admin", 390)
        page.screenshot(
            path=str(SCREENSHOTS / "journal-quote-admin-failed-phone.png"), full_page=True
        )
        page.click("#sync-journal >> text=Replay this push")
        page.wait_for_url(f"**/quotes/{quote.pk}/#sync-journal")
        assert "queued again" in page.inner_text(".messages")
    finally:
        context.close()
    drain_until_settled()
    assert BooksEstimate.objects.count() == 1

    for label, (width, height) in WIDTHS.items():
        context, page = signed_in(browser, live_server, admin, width=width, height=height)
        try:
            page.goto(f"{live_server.url}/quotes/{quote.pk}/")
            journal = page.locator("#sync-journal")
            estimate = BooksEstimate.objects.get()
            assert estimate.estimate_number in journal.inner_text()
            assert "Failed push replayed" in journal.inner_text()
            # Admins may open the request and the answer of each call.
            journal.locator(".journal-outbound details.journal-calls summary").first.click()
            journal.locator("details.journal-bodies summary").first.click()
            assert "Request" in journal.locator("details.journal-bodies").first.inner_text()
            _check(page, problems, "journal-quote-admin-replayed", width)
            page.screenshot(
                path=str(SCREENSHOTS / f"journal-quote-admin-replayed-{label}.png"), full_page=True
            )
            if label == "laptop":
                # The same journal under the admin's change form.
                page.goto(f"{live_server.url}/admin/quotes/quote/{quote.pk}/change/")
                assert "Sync journal" in page.locator("#sync-journal").inner_text()
                _check(page, problems, "journal-admin-change", width)
                page.screenshot(
                    path=str(SCREENSHOTS / "journal-admin-quote-change-laptop.png"), full_page=True
                )
        finally:
            context.close()
    assert not problems, "\n".join(problems)
