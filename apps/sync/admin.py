"""Admin for the sync engine: connections (never a token), runs, logs, bindings, the outbox and
its dead letters, and the health panel. Every action calls a service."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil
from django_q.tasks import async_task

from apps.core.errors import ApplicationError
from apps.sync import services
from apps.sync.engine import circuit, outbox, registry, taxes
from apps.sync.engine.plan import sync_plan
from apps.sync.engine.records import VendorError
from apps.sync.models import (
    Binding,
    Connection,
    OutboxItem,
    OutboxStatus,
    QuarantinedRecord,
    RemoteTax,
    SyncLog,
    SyncRun,
    TaxMapping,
)
from apps.sync.reconcile.admin import GoneBindingActions
from apps.sync.selectors import sync_health


def _exact(moment) -> str:
    """The full local date and time, for a title a user can hover over."""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the engine: viewed, filtered, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TaxMappingForm(forms.ModelForm):
    class Meta:
        model = TaxMapping
        fields = ["remote_tax"]

    def clean_remote_tax(self):
        remote_tax = self.cleaned_data.get("remote_tax")
        mapping = self.instance
        if remote_tax is not None and remote_tax.rate != mapping.tax_rate.rate:
            raise ValidationError(
                f"“{remote_tax}” is {remote_tax.rate.normalize()}%, and “{mapping.tax_rate.name}” "
                f"is {mapping.tax_rate.rate.normalize()}%: choose a tax of the same percentage."
            )
        return remote_tax


class TaxMappingInline(admin.TabularInline):
    """The connection's tax mapping: each local rate and the vendor tax it is sent as. Matched
    by percentage and name when the taxes are read; an Admin chooses where that cannot."""

    model = TaxMapping
    form = TaxMappingForm
    fields = ["tax_rate", "percentage", "remote_tax", "source", "problem"]
    readonly_fields = ["tax_rate", "percentage", "source", "problem"]
    extra = 0
    can_delete = False
    verbose_name = "tax mapping"
    verbose_name_plural = "tax mapping (local rate → the vendor's tax)"

    def has_add_permission(self, request, obj=None):
        return False  # a row per local rate is made when the vendor's taxes are read

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tax_rate", "remote_tax")

    def get_formset(self, request, obj=None, **kwargs):
        self._connection = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "remote_tax":
            connection = getattr(self, "_connection", None)
            kwargs["queryset"] = RemoteTax.objects.filter(connection=connection, active=True)
            kwargs["required"] = False
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="percentage")
    def percentage(self, obj):
        return f"{obj.tax_rate.rate.normalize()}%"

    @admin.display(description="problem")
    def problem(self, obj):
        return taxes.mapping_problem(obj) or "—"


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "provider",
        "remote_account_id",
        "status",
        "queue",
        "token_age",
        "token_expiry",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["name", "remote_account_id"]
    list_select_related = ["credential", "circuit"]
    # The credential is shown only by its non-secret facts; the token set is never a field.
    fields = [
        "name",
        "provider",
        "remote_account_id",
        "region",
        "status",
        "queue",
        "daily_limit",
        "connector_options",
        "token_age",
        "token_expiry",
        "last_refresh_error",
    ]
    readonly_fields = [
        "provider",
        "remote_account_id",
        "region",
        "status",
        "queue",
        "connector_options",
        "token_age",
        "token_expiry",
        "last_refresh_error",
    ]
    inlines = [TaxMappingInline]
    actions = [
        "plan_now",
        "disconnect",
        "read_taxes",
        "sync_now_clients",
        "sync_now_services",
        "sync_now_quotes",
        "sync_now_invoices",
        "sync_now_payments",
        "sync_now_deals",
    ]
    change_list_template = "sync/connection_change_list.html"

    @admin.display(description="settings")
    def connector_options(self, obj):
        """The connector's settings of this account (a Xero bank account), and where to
        change them."""
        shown = ", ".join(f"{key}: {value}" for key, value in sorted((obj.options or {}).items()))
        try:
            connector = registry.connector(obj.provider)
        except LookupError:
            url = ""
        else:
            url = connector.settings_url(obj)
            # A connector may say its options in words ("Bank account for payments: …").
            if hasattr(connector, "settings_text"):
                shown = connector.settings_text(obj)
        if url:
            return format_html('{} <a href="{}">Change</a>', shown or "none", url)
        return shown or "-"

    def _sync_now(self, request, queryset, entity):
        for connection in queryset:
            async_task("apps.sync.tasks.sync_now_task", connection.pk, entity)
        self.message_user(request, f"Sync of {entity} queued for {queryset.count()} connection(s).")

    @admin.action(description="Sync now: clients", permissions=["change"])
    def sync_now_clients(self, request, queryset):
        self._sync_now(request, queryset, "clients")

    @admin.action(description="Sync now: services", permissions=["change"])
    def sync_now_services(self, request, queryset):
        self._sync_now(request, queryset, "services")

    @admin.action(description="Sync now: quotes", permissions=["change"])
    def sync_now_quotes(self, request, queryset):
        self._sync_now(request, queryset, "quotes")

    @admin.action(description="Sync now: invoices", permissions=["change"])
    def sync_now_invoices(self, request, queryset):
        self._sync_now(request, queryset, "invoices")

    @admin.action(description="Sync now: payments", permissions=["change"])
    def sync_now_payments(self, request, queryset):
        self._sync_now(request, queryset, "payments")

    @admin.action(description="Sync now: deals", permissions=["change"])
    def sync_now_deals(self, request, queryset):
        self._sync_now(request, queryset, "deals")

    def has_add_permission(self, request):
        return False  # connecting is the OAuth flow (buttons above the list) or the CLI

    @admin.display(description="queue")
    def queue(self, obj):
        # The circuit breaker's state (engine/circuit.py): "paused: vendor unreachable since …".
        return circuit.pause_label(getattr(obj, "circuit", None), obj) or "sending"

    # In words an office reads ("3 days ago", "in 42 minutes"), the exact time on hover: a count
    # of minutes or a bare timestamp made staff do the arithmetic.
    @admin.display(description="token refreshed")
    def token_age(self, obj):
        refreshed = obj.credential.refreshed_at
        if not refreshed:
            return "never"
        ago = timezone.now() - refreshed
        words = "just now" if ago.total_seconds() < 60 else f"{timesince(refreshed, depth=1)} ago"
        return format_html('<span title="{}">{}</span>', _exact(refreshed), words)

    @admin.display(description="access token")
    def token_expiry(self, obj):
        expires = obj.credential.access_expires_at
        if not expires:
            return "none yet"
        if expires > timezone.now():
            words = f"expires in {timeuntil(expires, depth=1)}"
        else:
            words = f"expired {timesince(expires, depth=1)} ago; refreshed on the next call"
        return format_html('<span title="{}">{}</span>', _exact(expires), words)

    @admin.display(description="last refresh error")
    def last_refresh_error(self, obj):
        return obj.credential.last_refresh_error or "—"

    def get_inlines(self, request, obj):
        # Only connectors whose documents name taxes by the vendor's ids keep a mapping.
        if obj is None or not registry.connector(obj.provider).reads_settings:
            return []
        return super().get_inlines(request, obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not TaxMapping:
            return super().save_formset(request, form, formset, change)
        # Written through the service, not formset.save(); the admin's change message reads
        # what the formset would have recorded.
        formset.new_objects, formset.deleted_objects, formset.changed_objects = [], [], []
        for mapping_form in formset.forms:
            if mapping_form.has_changed():
                mapping = taxes.tax_mapping_set(
                    connection=form.instance,
                    tax_rate=mapping_form.instance.tax_rate,
                    remote_tax=mapping_form.cleaned_data.get("remote_tax"),
                )
                formset.changed_objects.append((mapping, mapping_form.changed_data))
        return None

    @admin.action(description="Read taxes and currencies now (and map)", permissions=["change"])
    def read_taxes(self, request, queryset):
        for connection in queryset.select_related("credential"):
            if not registry.connector(connection.provider).reads_settings:
                continue
            try:
                found = taxes.vendor_settings_refresh(connection=connection)
            except VendorError as error:
                self.message_user(request, f"{connection}: {error}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{connection}: {found['taxes']} tax(es) and {found['currencies']} "
                f"currenc(ies) read; {found['mapped']} local rate(s) mapped.",
            )

    @admin.action(
        description="Plan: what a sync would do now (changes nothing)", permissions=["change"]
    )
    def plan_now(self, request, queryset):
        """`sync plan` for the chosen connections: read from the vendor now, written nowhere."""
        plans = []
        for connection in queryset.select_related("credential")[:5]:
            try:
                plans.append(sync_plan(connection=connection))
            except (VendorError, ApplicationError) as error:
                plans.append({"connection": connection.name, "error": str(error)})
        context = {
            **self.admin_site.each_context(request),
            "title": "What a sync would do now",
            "plans": plans,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "sync/sync_plan.html", context)

    @admin.action(description="Disconnect (revoke at the vendor)", permissions=["change"])
    def disconnect(self, request, queryset):
        for connection in queryset.select_related("credential"):
            services.connection_disconnect(connection=connection)
        self.message_user(request, f"Disconnected {queryset.count()} connection(s).")

    def get_urls(self):
        return [
            path(
                "health/",
                self.admin_site.admin_view(self.health_view),
                name="sync_connection_health",
            ),
            *super().get_urls(),
        ]

    def health_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied("Viewing sync health needs the view permission on connections.")
        context = {
            **self.admin_site.each_context(request),
            "title": "Sync health",
            "health": sync_health(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "sync/health.html", context)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "connection",
        "entity",
        "direction",
        "status",
        "pages",
        "records",
        "created",
        "updated",
        "linked",
        "conflicts",
        "errors",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "direction", "entity", "connection"]
    list_select_related = ["connection"]
    show_full_result_count = False


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "connection",
        "method",
        "url",
        "status_code",
        "latency_ms",
        "error_kind",
    ]
    list_filter = ["status_code", "method", "connection"]
    list_select_related = ["connection"]
    raw_id_fields = ["run"]
    show_full_result_count = False


@admin.register(Binding)
class BindingAdmin(GoneBindingActions, ReadOnlyAdmin):
    list_display = [
        "connection",
        "entity",
        "object_id",
        "remote_id",
        "remote_number",
        "status",
        "remote_modified_at",
        "synced_at",
    ]
    list_filter = ["status", "entity", "connection"]
    search_fields = ["=remote_id", "remote_number"]
    list_select_related = ["connection"]
    show_full_result_count = False
    actions = GoneBindingActions.gone_actions
    readonly_fields = ["last_error"]


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "connection",
        "entity",
        "operation",
        "object_id",
        "reference",
        "status",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["status", "entity", "operation", "connection"]
    search_fields = ["reference", "=remote_id"]
    list_select_related = ["connection"]
    actions = ["requeue", "discard"]
    show_full_result_count = False

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error[:120] + "…") if len(obj.last_error) > 120 else obj.last_error

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("sync.change_outboxitem"):
            actions.pop("requeue", None)
            actions.pop("discard", None)
        return actions

    @admin.action(description="Requeue (reset attempts, send now)")
    def requeue(self, request, queryset):
        count = outbox.outbox_requeue(items=queryset)
        self.message_user(request, f"Requeued {count} item(s).")

    @admin.action(description="Discard (never send)")
    def discard(self, request, queryset):
        count = outbox.outbox_discard(items=queryset)
        self.message_user(request, f"Discarded {count} item(s).", messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "dead_letters": OutboxItem.objects.filter(status=OutboxStatus.DEAD).count(),
        }
        return super().changelist_view(request, extra_context)


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ReadOnlyAdmin):
    """Vendor records that failed their schema: the reason, the raw payload, and a retry."""

    list_display = [
        "id",
        "connection",
        "entity",
        "remote_id",
        "status",
        "attempts",
        "created_at",
        "short_reason",
    ]
    list_filter = ["status", "entity", "connection"]
    search_fields = ["=remote_id", "reason"]
    list_select_related = ["connection"]
    readonly_fields = [
        "connection",
        "entity",
        "run",
        "remote_id",
        "status",
        "attempts",
        "reason",
        "payload",
        "created_at",
        "resolved_at",
    ]
    actions = ["retry"]
    show_full_result_count = False

    @admin.display(description="reason")
    def short_reason(self, obj):
        return (obj.reason[:120] + "…") if len(obj.reason) > 120 else obj.reason

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("sync.change_quarantinedrecord"):
            actions.pop("retry", None)
        return actions

    @admin.action(description="Retry (fetch from the vendor again and apply)")
    def retry(self, request, queryset):
        for record in queryset.select_related("connection"):
            try:
                outcome = services.quarantine_retry(record=record)
            except ApplicationError as error:
                self.message_user(request, f"{record}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{record}: applied ({outcome}).")


# Extensions registered with this module: the sync column on the domain lists, and the conflict
# queue with its badge and history on the record pages, the journal on the record pages.
from apps.sync import admin_status  # noqa: E402, F401
from apps.sync.conflicts import admin as conflicts_admin  # noqa: E402, F401
from apps.sync.journal import admin as journal_admin  # noqa: E402, F401
from apps.sync.matching import admin as matching_admin  # noqa: E402, F401
