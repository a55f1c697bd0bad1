"""A person signs in through the real login page and lands in the back office."""

import pytest

from apps.users.roles import AGENT
from apps.users.services import user_provision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_signs_in_with_email_and_sees_the_back_office(live_server, page, tmp_path):
    user_provision(email="agent@example.com", password="pass-word-1234", role=AGENT)
    page.goto(f"{live_server.url}/admin/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=login]", "Agent@Example.com")
    page.fill("input[name=password]", "pass-word-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#site-name").inner_text() == "Syncdesk"
    page.screenshot(path=str(tmp_path / "admin.png"))


def test_wrong_password_shows_an_error_on_the_page(live_server, page):
    user_provision(email="agent@example.com", password="pass-word-1234", role=AGENT)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "agent@example.com")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "not correct" in page.locator("form").inner_text()
    assert "/accounts/login/" in page.url
