"""Above the row limit the import runs as a django-q2 task: the job keeps the file until it
runs, shows rows done of total while it does, and keeps the result for the admin."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.clients.models import Client as ClientRecord
from apps.imports.models import ImportJob
from apps.imports.services import import_job_run
from tests.clients.factories import ClientFactory
from tests.imports.helpers import csv_bytes

pytestmark = pytest.mark.django_db

ROWS = [["Name", "E-mail"], *[[f"Client {n}", f"c{n}@example.com"] for n in range(6)]]


def preview(client, rows):
    return client.post(
        "/admin/clients/client/import/",
        {"file": SimpleUploadedFile("many.csv", csv_bytes(rows), "text/csv")},
    )


def test_a_large_import_runs_as_a_task_and_keeps_its_result(
    admin_client_mfa, admin_with_mfa, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_TASK_ABOVE_ROWS = 5
    page = preview(admin_client_mfa, ROWS)
    assert page.context["runs_as_task"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_mfa.post(
            "/admin/clients/client/import/confirm/", {"token": page.context["token"]}
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/imports/importjob/{job.pk}/change/"
    assert (job.status, job.rows_done, job.rows_total, job.content) == ("done", 6, 6, b"")
    assert job.summary["created"] == 6
    assert job.created_by == admin_with_mfa
    assert ClientRecord.objects.count() == 6
    assert ClientRecord.history.filter(history_user=admin_with_mfa).count() == 6
    shown = admin_client_mfa.get(response["Location"])
    assert shown.status_code == 200
    assert b"6 of 6" in shown.content
    assert b"Imported clients from" in shown.content
    assert b'http-equiv="refresh"' not in shown.content
    # A second delivery of the same task does nothing.
    import_job_run(job_id=job.pk)
    assert ClientRecord.objects.count() == 6


def test_a_running_job_shows_progress_and_refreshes(admin_client_mfa, admin_with_mfa):
    job = ImportJob.objects.create(
        entity="clients",
        file_name="big.csv",
        content=b"x",
        rows_total=10_000,
        status=ImportJob.Status.RUNNING,
        created_by=admin_with_mfa,
    )
    cache.set(f"imports:job:{job.pk}:progress", (2_500, 10_000))
    page = admin_client_mfa.get(f"/admin/imports/importjob/{job.pk}/change/")
    assert b"2,500 of 10,000" in page.content
    assert b'http-equiv="refresh"' in page.content


def test_a_failed_task_import_offers_its_failed_rows_to_its_owner_only(
    admin_client_mfa, settings, django_capture_on_commit_callbacks, agent_user
):
    settings.IMPORT_TASK_ABOVE_ROWS = 5
    page = preview(admin_client_mfa, [*ROWS, ["", "bad"]])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_mfa.post(
            "/admin/clients/client/import/confirm/", {"token": page.context["token"]}
        )
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert ClientRecord.objects.count() == 0
    assert "Nothing was imported" in job.message
    failed = admin_client_mfa.get(f"/admin/imports/importjob/{job.pk}/failed-rows/")
    assert failed.content.decode("utf-8-sig").splitlines()[1].startswith("8,,bad,")
    # An agent sees their own imports only.
    agent_client = Client()
    agent_client.force_login(agent_user)
    assert agent_client.get(f"/admin/imports/importjob/{job.pk}/failed-rows/").status_code == 403
    assert agent_client.get("/admin/imports/importjob/").context["cl"].result_count == 0


def test_the_jobs_list_query_count_does_not_grow(admin_client_mfa, admin_with_mfa):
    from tests.benchmarks.report import count_queries

    def make(count):
        for n in range(count):
            ImportJob.objects.create(
                entity="clients", file_name=f"{n}.csv", created_by=admin_with_mfa
            )

    make(1)
    with count_queries() as one:
        assert admin_client_mfa.get("/admin/imports/importjob/").status_code == 200
    make(20)
    with count_queries() as many:
        assert admin_client_mfa.get("/admin/imports/importjob/").status_code == 200
    assert len(many) == len(one)


def test_an_export_with_a_filter_the_list_does_not_know_goes_back_to_the_list(admin_client_mfa):
    response = admin_client_mfa.get("/admin/clients/client/export/csv/", {"colour": "red"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/clients/client/?e=1"


def test_rows_written_one_by_one_report_their_progress(admin_role_user):
    from apps.imports.services import import_run

    ClientFactory(email="c@example.com")
    rows = [["Subject", "Client e-mail"], *[[f"Ticket {n}", "c@example.com"] for n in range(250)]]
    seen = []
    outcome = import_run(
        entity_name="tickets",
        content=csv_bytes(rows),
        file_name="t.csv",
        actor=admin_role_user,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert outcome.written
    assert seen == [(0, 250), (100, 250), (200, 250)]
