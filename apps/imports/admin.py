"""Import and Export buttons on the admin lists, and the import jobs' page.

The domain admins know nothing of imports: this module re-registers each list's admin with
ImportExportAdminMixin (as sync adds its status column). An import is always previewed first
(the upload is held in the cache, nothing is written); confirming plans the same file again
against the records as they are and writes it, in the request or, above
IMPORT_TASK_ABOVE_ROWS rows, as a task whose progress the job page shows.
"""

import secrets
import tempfile

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from apps.catalog.models import Service, TaxRate
from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.invoices.models import CommissionBill, Invoice, Payment
from apps.quotes.models import Quote
from apps.tickets.models import Ticket

from .entities import CREATE, ERROR, SKIP, UNCHANGED, UPDATE
from .exports import export_check_permission, export_csv_chunks, export_spec, export_xlsx
from .files import CSV, FORMATS, XLSX, check_size, sheet_read
from .models import ImportJob
from .services import (
    entity_for,
    import_check_permission,
    import_failed_rows_csv,
    import_job_create,
    import_job_progress,
    import_plan,
    import_run,
    outcome_message,
)

UPLOAD_SECONDS = 3600
# The preview lists every row with an error, and this many of the others.
PREVIEW_ROWS = 500


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV (comma, semicolon or tab; UTF-8, UTF-16 or Windows-1252) or Excel .xlsx, "
        "up to the size limit. The first row names the columns.",
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("", "Tell from the file"), *((name, name.upper()) for name in FORMATS)],
        required=False,
    )
    valid_rows = forms.BooleanField(
        label="Import the valid rows and leave out the rows with errors",
        required=False,
        help_text="Without this, one row with an error imports nothing.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_size(upload.size)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None
        return upload


def _upload_key(token: str) -> str:
    return f"imports:upload:{token}"


class ImportExportAdminMixin:
    """Adds import/, import/confirm/, import/errors/ and export/<format>/ to a list's admin."""

    import_entity: str | None = None
    export_entity: str | None = None
    change_list_template = "admin/imports/change_list.html"

    # --- urls and buttons ------------------------------------------------------------------
    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        urls = []
        if self.import_entity:
            urls += [
                path(
                    "import/",
                    self.admin_site.admin_view(self.import_view),
                    name=f"{prefix}_import",
                ),
                path(
                    "import/confirm/",
                    self.admin_site.admin_view(self.import_confirm_view),
                    name=f"{prefix}_import_confirm",
                ),
                path(
                    "import/errors/<str:token>/",
                    self.admin_site.admin_view(self.import_errors_view),
                    name=f"{prefix}_import_errors",
                ),
            ]
        if self.export_entity:
            urls.append(
                path(
                    "export/<str:file_format>/",
                    self.admin_site.admin_view(self.export_view),
                    name=f"{prefix}_export",
                )
            )
        return urls + super().get_urls()

    def _url(self, name: str, **kwargs) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse(f"{self.admin_site.name}:{info[0]}_{info[1]}_{name}", kwargs=kwargs or None)

    def has_import_permission(self, request) -> bool:
        if not self.import_entity:
            return False
        return request.user.has_perm(entity_for(self.import_entity).permission())

    def changelist_view(self, request, extra_context=None):
        context = dict(extra_context or {})
        if self.has_import_permission(request):
            context["import_url"] = self._url("import")
        if self.export_entity:
            context["export_urls"] = [
                (name.upper(), self._url("export", file_format=name)) for name in FORMATS
            ]
        return super().changelist_view(request, context)

    # --- import ----------------------------------------------------------------------------
    def _require_import(self, request) -> None:
        import_check_permission(user=request.user, entity_name=self.import_entity)

    def _context(self, request, **values) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Import {entity_for(self.import_entity).label}",
            "entity_label": entity_for(self.import_entity).label,
            "changelist_url": self._url("changelist"),
            "max_mb": settings.IMPORT_MAX_FILE_MB,
            **values,
        }

    def _columns_help(self) -> list[tuple[str, str]]:
        entity = entity_for(self.import_entity)
        return [
            (col.label, ", ".join(dict.fromkeys(a for part in col.sources for a in part[1:])))
            for col in entity.columns
        ]

    def import_view(self, request):
        """Upload (GET) and preview (POST): the preview writes nothing."""
        self._require_import(request)
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            stored = {
                "user_id": request.user.pk,
                "entity": self.import_entity,
                "file_name": upload.name,
                "file_format": form.cleaned_data["file_format"] or None,
                "content": content,
            }
            try:
                plan = self._plan(stored)
            except ApplicationError as error:
                form.add_error("file", error.message)
            else:
                token = secrets.token_urlsafe(16)
                cache.set(_upload_key(token), stored, UPLOAD_SECONDS)
                return self._preview(
                    request, plan, token, stored, valid_rows=form.cleaned_data["valid_rows"]
                )
        context = self._context(request, form=form, columns_help=self._columns_help())
        return TemplateResponse(request, "admin/imports/import.html", context)

    def _plan(self, stored: dict):
        sheet = sheet_read(
            content=stored["content"],
            file_name=stored["file_name"],
            file_format=stored["file_format"],
        )
        return import_plan(entity_name=stored["entity"], sheet=sheet)

    def _preview(self, request, plan, token, stored, *, valid_rows, outcome=None, status=200):
        errors = plan.errors
        others = [row for row in plan.rows if row.action != ERROR][:PREVIEW_ROWS]
        counts = {
            "create": plan.count(CREATE),
            "update": plan.count(UPDATE),
            "unchanged": plan.count(UNCHANGED),
            "skip": plan.count(SKIP),
            "error": len(errors),
        }
        context = self._context(
            request,
            plan=plan,
            token=token,
            file_name=stored["file_name"],
            rows_shown=errors + others,
            rows_hidden=len(plan.rows) - len(errors) - len(others),
            counts=counts,
            valid_rows=valid_rows,
            runs_as_task=len(plan.rows) > settings.IMPORT_TASK_ABOVE_ROWS,
            task_above=settings.IMPORT_TASK_ABOVE_ROWS,
            errors_url=self._url("import_errors", token=token) if errors else "",
            confirm_url=self._url("import_confirm"),
            outcome_message=outcome_message(outcome) if outcome else "",
            title=f"Preview: import {plan.entity.label}",
        )
        return TemplateResponse(request, "admin/imports/preview.html", context, status=status)

    def _stored(self, request, token: str) -> dict:
        stored = cache.get(_upload_key(token or ""))
        if (
            not stored
            or stored["user_id"] != request.user.pk
            or stored["entity"] != self.import_entity
        ):
            raise PermissionDenied("This upload has expired or is not yours; upload it again.")
        return stored

    def import_confirm_view(self, request):
        """Run the previewed file: in the request, or as a task above the row limit."""
        self._require_import(request)
        if request.method != "POST":
            return HttpResponseRedirect(self._url("import"))
        token = request.POST.get("token", "")
        try:
            stored = self._stored(request, token)
        except PermissionDenied as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self._url("import"))
        valid_rows = request.POST.get("valid_rows") == "on"
        try:
            rows = len(
                sheet_read(
                    content=stored["content"],
                    file_name=stored["file_name"],
                    file_format=stored["file_format"],
                ).rows
            )
            if rows > settings.IMPORT_TASK_ABOVE_ROWS:
                job = import_job_create(
                    entity_name=self.import_entity,
                    content=stored["content"],
                    file_name=stored["file_name"],
                    file_format=stored["file_format"],
                    actor=request.user,
                    rows_total=rows,
                    valid_rows=valid_rows,
                )
                cache.delete(_upload_key(token))
                self.message_user(
                    request, f"The import of {rows} rows is running; this page shows its progress."
                )
                return HttpResponseRedirect(
                    reverse("admin:imports_importjob_change", args=[job.pk])
                )
            outcome = import_run(
                entity_name=self.import_entity,
                content=stored["content"],
                file_name=stored["file_name"],
                file_format=stored["file_format"],
                actor=request.user,
                valid_rows=valid_rows,
            )
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(self._url("import"))
        if not outcome.written:
            # Nothing written: show the rows again, as they are now, with their errors.
            return self._preview(
                request,
                outcome.plan,
                token,
                stored,
                valid_rows=valid_rows,
                outcome=outcome,
                status=422,
            )
        cache.delete(_upload_key(token))
        level = messages.WARNING if outcome.plan.errors else messages.SUCCESS
        self.message_user(request, outcome_message(outcome), level)
        return HttpResponseRedirect(self._url("changelist"))

    def import_errors_view(self, request, token):
        """The previewed file's failed rows as CSV, with an Error column."""
        self._require_import(request)
        stored = self._stored(request, token)
        plan = self._plan(stored)
        return _csv_attachment(import_failed_rows_csv(plan), f"errors-{stored['file_name']}")

    # --- export ----------------------------------------------------------------------------
    def export_view(self, request, file_format):
        """The list as filtered on the page (its query string), streamed."""
        spec = export_spec(self.export_entity)
        if file_format not in FORMATS:
            raise PermissionDenied(f"“{file_format}” is not an export format.")
        if not self.has_view_permission(request):
            raise PermissionDenied
        export_check_permission(user=request.user, spec=spec)
        try:
            queryset = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            # A filter the list does not know: the list itself says so the same way.
            return HttpResponseRedirect(f"{self._url('changelist')}?e=1")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        name = f"{spec.name}-{stamp}.{file_format}"
        if file_format == CSV:
            response = StreamingHttpResponse(
                export_csv_chunks(spec, queryset), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        export_xlsx(spec, queryset, target)
        target.seek(0)
        assert file_format == XLSX
        return FileResponse(
            target,
            as_attachment=True,
            filename=name,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


def _csv_attachment(text: str, file_name: str) -> HttpResponse:
    name = file_name.rsplit(".", 1)[0] + ".csv"
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Imports that ran as tasks: progress while they run, the result after."""

    list_display = ["file_name", "entity", "status", "progress", "created_by", "created_at"]
    list_filter = ["status", "entity"]
    list_select_related = ["created_by"]
    change_form_template = "admin/imports/importjob_change_form.html"
    fields = [
        "file_name",
        "entity",
        "status",
        "progress",
        "message",
        "valid_rows",
        "created_by",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        jobs = super().get_queryset(request)
        if request.user.is_superuser or request.user.has_perm("imports.import_services"):
            return jobs
        return jobs.filter(created_by=request.user)  # an agent sees their own imports

    @admin.display(description="rows done")
    def progress(self, job) -> str:
        done, total = import_job_progress(job=job)
        return f"{done:,} of {total:,}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<int:job_id>/failed-rows/",
                self.admin_site.admin_view(self.failed_rows_view),
                name="imports_importjob_failed_rows",
            ),
            *super().get_urls(),
        ]

    def failed_rows_view(self, request, job_id):
        job = self.get_queryset(request).filter(pk=job_id).first()
        if job is None or not self.has_view_permission(request, job):
            raise PermissionDenied
        return _csv_attachment(job.failed_rows_csv, f"errors-{job.file_name}")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        job = self.get_queryset(request).filter(pk=object_id).first()
        if job is not None:
            context["job"] = job
            context["running"] = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
            if job.failed_rows_csv:
                context["failed_rows_url"] = reverse(
                    "admin:imports_importjob_failed_rows", args=[job.pk]
                )
        return super().change_view(request, object_id, form_url, context)


# (model, what it imports, what it exports). Quotes, invoices and bills are made in the product.
LISTS = (
    (Client, "clients", "clients"),
    (Service, "services", "services"),
    (TaxRate, "tax_rates", "tax_rates"),
    (Ticket, "tickets", "tickets"),
    (Quote, None, "quotes"),
    (Invoice, None, "invoices"),
    (Payment, "payments", "payments"),
    (CommissionBill, None, "commission_bills"),
)


def extend_list_admins(site=admin.site) -> None:
    for model, import_entity, export_entity in LISTS:
        current = site._registry.get(model)
        if current is None or isinstance(current, ImportExportAdminMixin):
            continue
        extended = type(
            type(current).__name__,
            (ImportExportAdminMixin, type(current)),
            {"import_entity": import_entity, "export_entity": export_entity},
        )
        site.unregister(model)
        site.register(model, extended)


# The domain admins are registered first (explicitly, whatever the app order), then extended.
import apps.catalog.admin  # noqa: E402
import apps.clients.admin  # noqa: E402
import apps.invoices.admin  # noqa: E402
import apps.quotes.admin  # noqa: E402
import apps.tickets.admin  # noqa: E402, F401

extend_list_admins()
