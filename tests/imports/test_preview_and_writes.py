"""The preview writes nothing at all (every table counted before and after); confirming runs
the same rows; one bad row imports nothing unless the valid rows are chosen; what an import
writes goes to the books through the outbox once per record, with history naming the import."""

import json
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.clients.models import Client
from apps.sync.models import OutboxItem
from tests.clients.factories import ClientFactory
from tests.imports.helpers import csv_bytes, table_counts
from tests.sync.factories import make_zoho_books

pytestmark = pytest.mark.django_db

IMPORT = "/admin/clients/client/import/"
CONFIRM = "/admin/clients/client/import/confirm/"

GOOD = [
    ["Name", "Email Address", "Phone"],
    ["Amahle Khumalo", "amahle@example.co.za", "+27 11 555 0001"],
    ["Existing Person", "EXISTING@example.co.za", "+27 11 555 9999"],
    ["Unchanged Person", "same@example.co.za", ""],
]


def upload(client, rows, name="clients.csv", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        IMPORT, {"file": SimpleUploadedFile(name, csv_bytes(rows), "text/csv"), **extra}
    )


def test_preview_writes_nothing_then_confirm_runs_the_same_rows(
    admin_client_mfa, admin_with_mfa, tmp_path, capsys
):
    existing = ClientFactory(name="Existing Person", email="existing@example.co.za")
    ClientFactory(name="Unchanged Person", email="same@example.co.za")
    books = make_zoho_books()  # connected after the clients were made: no items queued yet
    before = table_counts()

    preview = upload(admin_client_mfa, GOOD)
    assert preview.status_code == 200
    rows = {row.number: row for row in preview.context["plan"].rows}
    assert [rows[n].action for n in (2, 3, 4)] == ["create", "update", "unchanged"]
    assert rows[3].changes == [("Phone", "+27 11 555 0100", "+27 11 555 9999")]
    assert b"+27 11 555 0100" in preview.content and b"+27 11 555 9999" in preview.content
    # The CLI's dry run, too.
    path = tmp_path / "clients.csv"
    path.write_bytes(csv_bytes(GOOD))
    call_command("import_data", "clients", str(path), "--user", admin_with_mfa.email, "--dry-run")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {
        "entity": "clients",
        "rows": 3,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "skipped": 0,
        "errors": [],
        "dry_run": True,
    }
    assert table_counts() == before
    assert mail.outbox == []

    token = preview.context["token"]
    done = admin_client_mfa.post(CONFIRM, {"token": token})
    assert done.status_code == 302
    assert Client.objects.count() == 3
    existing.refresh_from_db()
    assert existing.phone == "+27 11 555 9999"
    # History names the file and who; only the rows written have a new history row.
    reasons = list(
        Client.history.filter(history_change_reason__startswith="Import")
        .values_list("history_type", "email", "history_user")
        .order_by("history_type")
    )
    assert reasons == [
        ("+", "amahle@example.co.za", admin_with_mfa.pk),
        ("~", "existing@example.co.za", admin_with_mfa.pk),
    ]
    assert (
        Client.history.filter(
            history_change_reason="Import of “clients.csv” by boss@example.com"
        ).count()
        == 2
    )
    # To the books through the outbox, once per record written.
    items = OutboxItem.objects.filter(connection=books).values_list("object_id", "operation")
    assert sorted(items) == sorted(
        [
            (Client.objects.get(email="amahle@example.co.za").pk, "create"),
            (existing.pk, "create"),
        ]
    )
    # The upload is gone once used.
    assert admin_client_mfa.post(CONFIRM, {"token": token}).status_code == 302
    assert OutboxItem.objects.count() == 2


BAD = [
    ["Name", "E-mail", "Phone"],
    ["Good One", "good1@example.co.za", ""],
    ["Bad Mail", "not-an-email", ""],
    ["Good Two", "good2@example.co.za", ""],
    ["Twice", "GOOD2@example.co.za", ""],
    ["", "noname@example.co.za", "+27 1"],
]


def test_one_bad_row_imports_nothing_and_every_error_names_row_column_and_value(
    admin_with_mfa, tmp_path, capsys
):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(BAD))
    before = table_counts()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_data", "clients", str(path), "--user", admin_with_mfa.email)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert table_counts() == before
    assert (summary["created"], summary["dry_run"]) == (0, False)
    assert summary["errors"] == [
        {"row": 3, "field": "E-mail", "message": "“not-an-email”: Enter a valid email address."},
        {
            "row": 5,
            "field": "E-mail",
            "message": "“GOOD2@example.co.za”: the same e-mail as row 4 of this file.",
        },
        {"row": 6, "field": "Name", "message": "This field cannot be blank."},
    ]

    call_command(
        "import_data", "clients", str(path), "--user", admin_with_mfa.email, "--valid-rows"
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["created"], len(summary["errors"])) == (2, 3)
    assert sorted(Client.objects.values_list("email", flat=True)) == [
        "good1@example.co.za",
        "good2@example.co.za",
    ]


def test_admin_confirm_with_errors_writes_nothing_and_offers_the_failed_rows(admin_client_mfa):
    preview = upload(admin_client_mfa, BAD)
    assert preview.context["counts"]["error"] == 3
    token = preview.context["token"]
    before = table_counts()
    refused = admin_client_mfa.post(CONFIRM, {"token": token})
    assert refused.status_code == 422
    assert b"Nothing was imported" in refused.content
    assert table_counts() == before

    failed = admin_client_mfa.get(preview.context["errors_url"])
    lines = failed.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Name,E-mail,Phone,Error"
    assert (
        lines[1] == "3,Bad Mail,not-an-email,,E-mail: “not-an-email”: Enter a valid email address."
    )
    assert len(lines) == 4
    # A formula in a failed row does not run when the CSV is opened.
    assert lines[3].startswith("6,,noname@example.co.za,'+27 1,")

    chosen = admin_client_mfa.post(CONFIRM, {"token": token, "valid_rows": "on"}, follow=True)
    assert Client.objects.count() == 2
    assert any("3 rows with errors left out" in str(m) for m in chosen.context["messages"])


def test_an_upload_is_only_its_uploaders(admin_client_mfa, client, password):
    from apps.users.roles import ADMIN
    from apps.users.services import user_provision

    preview = upload(admin_client_mfa, GOOD)
    token = preview.context["token"]
    other = user_provision(email="other-admin@example.com", password=password, role=ADMIN)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(other, generate_totp_secret())
    client.force_login(other)
    response = client.post(CONFIRM, {"token": token}, follow=True)
    assert Client.objects.count() == 0
    assert any("not yours" in str(m) for m in response.context["messages"])
    assert cache.get(f"imports:upload:{token}") is not None


def test_upload_form_refuses_a_file_over_the_limit_on_the_field(admin_client_mfa, settings):
    settings.IMPORT_MAX_FILE_MB = 1
    rows = [["Name"], *[["x" * 1000] for _ in range(1100)]]
    response = upload(admin_client_mfa, rows)
    assert response.status_code == 200
    assert re.search(r"The file is 1\.\d MB; the limit is 1 MB", response.content.decode())
    assert Client.objects.count() == 0
