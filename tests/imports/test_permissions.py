"""Who may import and export: Agents import clients only and export what they may see;
Admins everything. Checked on the admin pages, the CLI and the service."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.imports.services import import_run
from tests.imports.helpers import csv_bytes, table_counts

pytestmark = pytest.mark.django_db

SERVICES = csv_bytes([["SKU", "Name", "Rate"], ["PCC-1", "Police clearance", "450"]])
CLIENTS = csv_bytes([["Name", "E-mail"], ["Lindiwe", "lindiwe@example.co.za"]])

IMPORT_PAGES = [
    "/admin/catalog/service/import/",
    "/admin/catalog/taxrate/import/",
    "/admin/tickets/ticket/import/",
    "/admin/invoices/payment/import/",
]


def test_an_agent_is_refused_a_services_import_everywhere(agent_client, agent_user, tmp_path):
    before = table_counts()
    for url in IMPORT_PAGES:
        assert agent_client.get(url).status_code == 403, url
    posted = agent_client.post(
        "/admin/catalog/service/import/",
        {"file": SimpleUploadedFile("s.csv", SERVICES, "text/csv")},
    )
    assert posted.status_code == 403
    assert (
        agent_client.post("/admin/catalog/service/import/confirm/", {"token": "x"}).status_code
        == 403
    )
    with pytest.raises(PermissionDenied, match=r"agent@example\.com may not import services"):
        import_run(entity_name="services", content=SERVICES, file_name="s.csv", actor=agent_user)
    with pytest.raises(PermissionDenied):
        import_run(
            entity_name="services",
            content=SERVICES,
            file_name="s.csv",
            actor=agent_user,
            dry_run=True,
        )
    path = tmp_path / "s.csv"
    path.write_bytes(SERVICES)
    with pytest.raises(CommandError, match="may not import services"):
        call_command("import_data", "services", str(path), "--user", agent_user.email)
    assert table_counts() == before
    assert Service.objects.count() == 0
    # No Import button on the list they may see.
    page = agent_client.get("/admin/catalog/service/")
    assert page.status_code == 200
    assert b"/admin/catalog/service/import/" not in page.content
    assert b"/admin/catalog/service/export/csv/" in page.content


def test_an_agent_imports_clients_and_history_names_them(
    agent_client, agent_user, tmp_path, capsys
):
    page = agent_client.get("/admin/clients/client/")
    assert b'href="/admin/clients/client/import/"' in page.content
    path = tmp_path / "c.csv"
    path.write_bytes(CLIENTS)
    call_command("import_data", "clients", str(path), "--user", "AGENT@example.com")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["created"] == 1
    record = Client.history.get()
    assert (record.history_user, record.history_change_reason) == (
        agent_user,
        "Import of “c.csv” by agent@example.com",
    )


def test_admin_sees_every_import_and_export_button(admin_client_mfa):
    for url in IMPORT_PAGES:
        assert admin_client_mfa.get(url).status_code == 200, url
    for listing in ("quotes/quote", "invoices/invoice", "invoices/commissionbill"):
        page = admin_client_mfa.get(f"/admin/{listing}/")
        assert f"/admin/{listing}/export/xlsx/".encode() in page.content
        assert f"/admin/{listing}/import/".encode() not in page.content


def test_cli_refuses_unknown_users_and_files(tmp_path):
    with pytest.raises(CommandError, match="no user has the e-mail"):
        call_command("import_data", "clients", str(tmp_path / "x.csv"), "--user", "no@one")


def test_logged_out_and_inactive_users_get_nothing(client, agent_user):
    response = client.get("/admin/clients/client/import/")
    assert response.status_code == 302
    agent_user.is_active = False
    agent_user.save()
    with pytest.raises(PermissionDenied):
        import_run(entity_name="clients", content=CLIENTS, file_name="c.csv", actor=agent_user)
