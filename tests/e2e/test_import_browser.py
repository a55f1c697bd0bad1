"""An agent imports a client list in the browser: Import, upload, the preview, confirm."""

import pytest

from apps.clients.models import Client
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.clients.factories import ClientFactory
from tests.imports.helpers import csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_previews_then_imports_a_client_list(live_server, page, tmp_path):
    user_provision(email="agent@example.com", password="pass-word-1234", role=AGENT)
    ClientFactory(name="Existing", email="existing@example.co.za", phone="+27 11 555 0100")
    file = tmp_path / "clients.csv"
    file.write_bytes(
        csv_bytes(
            [
                ["Name", "E-mail", "Phone"],
                ["Nandi Zulu", "nandi@example.co.za", ""],
                ["Existing", "EXISTING@example.co.za", "+27 11 555 0199"],
                ["", "broken", ""],
            ],
            delimiter=";",
        )
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "agent@example.com")
    page.fill("input[name=password]", "pass-word-1234")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/admin/clients/client/")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File").set_input_files(str(file))
    page.get_by_role("button", name="Preview the import").click()

    preview = page.locator("#import-preview")
    assert "1 to create" in page.locator("#content-main").inner_text()
    assert "Phone: “+27 11 555 0100” → “+27 11 555 0199”" in preview.inner_text()
    assert "Enter a valid email address." in preview.inner_text()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    assert Client.objects.count() == 1  # the preview wrote nothing

    page.get_by_label("Import the valid rows and leave out the 1 with errors").check()
    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_url(f"{live_server.url}/admin/clients/client/")
    assert "1 created, 1 updated" in page.locator(".messagelist").inner_text()
    assert Client.objects.get(email="existing@example.co.za").phone == "+27 11 555 0199"
    assert Client.objects.filter(email="nandi@example.co.za").exists()
