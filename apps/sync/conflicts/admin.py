"""Admin for conflicts: the policies, the queue (filters, bulk keep local / take remote / revert),
a record page with base, local and remote side by side, and — on the client and service pages —
a badge for open conflicts and the conflicts on the record's history page.

The domain apps know nothing of sync: their admins are extended here, by re-registering a
subclass of whatever admin they registered.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Min
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.core.admin_tools import refusal_text
from apps.core.errors import ApplicationError
from apps.sync.conflicts import services as conflict_services
from apps.sync.conflicts.models import Conflict, ConflictPolicy, ConflictStatus, Resolution
from apps.sync.conflicts.selectors import (
    ENTITY_MODELS,
    record_conflicts,
    record_open_conflict_count,
    with_record_labels,
)
from apps.sync.engine.entities import CLIENT_FIELDS, SERVICE_FIELDS
from apps.sync.models import Binding

MAPPED_FIELDS = {"clients": CLIENT_FIELDS, "services": SERVICE_FIELDS}


class ConflictPolicyForm(forms.ModelForm):
    class Meta:
        model = ConflictPolicy
        fields = ["connection", "entity", "field", "policy"]

    def clean(self):
        data = super().clean()
        entity, name = data.get("entity"), data.get("field")
        if entity and name and name not in MAPPED_FIELDS.get(entity, ()):
            raise ValidationError(
                {
                    "field": f"{entity} has no synced field “{name}”; choose one of "
                    + ", ".join(MAPPED_FIELDS[entity])
                    + "."
                }
            )
        return data


@admin.register(ConflictPolicy)
class ConflictPolicyAdmin(admin.ModelAdmin):
    form = ConflictPolicyForm
    list_display = ["entity", "field", "policy", "scope"]
    list_filter = ["entity", "policy", "connection"]
    list_select_related = ["connection"]

    @admin.display(description="applies to")
    def scope(self, obj):
        return obj.connection or "every connection"


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    CHOICES = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}

    def lookups(self, request, model_admin):
        return [
            ("1d", "Older than a day"),
            ("7d", "Older than a week"),
            ("30d", "Older than 30 days"),
        ]

    def queryset(self, request, queryset):
        age = self.CHOICES.get(self.value() or "")
        if age is None:
            return queryset
        return queryset.filter(created_at__lte=timezone.now() - age)


def _short(value) -> str:
    if value is None:
        return "—"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    """The queue. Grouped by record (ordering), open ones by default; resolving is an action or
    the record page; nothing is edited in place and nothing is ever deleted (audit)."""

    list_display = [
        "record",
        "field",
        "base_shown",
        "local_shown",
        "remote_shown",
        "policy",
        "status",
        "created_at",
        "connection",
    ]
    list_filter = ["status", "connection", "entity", AgeFilter, "policy"]
    list_select_related = ["connection"]
    search_fields = ["=object_id", "=field"]
    ordering = ["connection_id", "entity", "object_id", "field", "id"]
    show_full_result_count = False
    list_per_page = 100
    actions = ["keep_local", "take_remote", "revert"]
    readonly_fields = [
        "connection",
        "entity",
        "object_id",
        "binding",
        "field",
        "base_value",
        "local_value",
        "remote_value",
        "policy",
        "status",
        "resolution",
        "resolved_value",
        "resolved_by",
        "resolved_at",
        "created_at",
    ]

    def get_queryset(self, request):
        return with_record_labels(super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # Open conflicts are what a newcomer comes here for.
        if not request.GET and request.method == "GET":
            return redirect(f"{request.path}?status__exact={ConflictStatus.OPEN}")
        return super().changelist_view(request, extra_context)

    @admin.display(description="record", ordering="object_id")
    def record(self, obj):
        url = reverse("admin:sync_conflict_record", args=[obj.binding_id])
        return format_html(
            '<a href="{}">{} #{} {}</a>', url, obj.entity, obj.object_id, obj.record_label
        )

    @admin.display(description="base")
    def base_shown(self, obj):
        return _short(obj.base_value)

    @admin.display(description="local (here)")
    def local_shown(self, obj):
        return _short(obj.local_value)

    @admin.display(description="remote (vendor)")
    def remote_shown(self, obj):
        return _short(obj.remote_value)

    def _bulk(self, request, queryset, resolution):
        outcome = conflict_services.conflicts_resolve_bulk(
            conflicts=list(
                queryset.filter(status=ConflictStatus.OPEN)
                .order_by("id")
                .values_list("pk", flat=True)
            ),
            resolution=resolution,
            actor=request.user,
        )
        if outcome["resolved"]:
            self.message_user(
                request,
                f"{Resolution(resolution).label}: {outcome['resolved']} conflict(s) resolved; "
                "the decisions are on their way to the vendor.",
                messages.SUCCESS,
            )
        for conflict_id, reason in outcome["refused"][:20]:
            self.message_user(request, f"Conflict #{conflict_id}: {reason}", messages.ERROR)

    @admin.action(description="Keep local for the selected conflicts", permissions=["change"])
    def keep_local(self, request, queryset):
        self._bulk(request, queryset, Resolution.KEEP_LOCAL)

    @admin.action(description="Take remote for the selected conflicts", permissions=["change"])
    def take_remote(self, request, queryset):
        self._bulk(request, queryset, Resolution.TAKE_REMOTE)

    @admin.action(description="Revert the selected auto-resolved conflicts", permissions=["change"])
    def revert(self, request, queryset):
        done = 0
        for conflict in queryset.filter(status=ConflictStatus.AUTO_RESOLVED).order_by("id"):
            try:
                conflict_services.conflict_revert(conflict=conflict, actor=request.user)
            except (ApplicationError, ValidationError) as error:
                self.message_user(
                    request, f"Conflict #{conflict.pk}: {refusal_text(error)}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(request, f"Reverted {done} conflict(s).", messages.SUCCESS)

    # --- the record page ------------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "record/<int:binding_id>/",
                self.admin_site.admin_view(self.record_view),
                name="sync_conflict_record",
            ),
            *super().get_urls(),
        ]

    def record_view(self, request, binding_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        binding = get_object_or_404(Binding.objects.select_related("connection"), pk=binding_id)
        can_resolve = self.has_change_permission(request)
        if request.method == "POST":
            if not can_resolve:
                raise PermissionDenied
            self._resolve_from_post(request, binding)
            return redirect(request.path)
        conflicts = list(
            with_record_labels(Conflict.objects.filter(binding=binding))
            .select_related("resolved_by")
            .order_by("-created_at", "field")
        )
        model = ENTITY_MODELS.get(binding.entity)
        record_url = (
            reverse(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                args=[binding.object_id],
            )
            if model
            else ""
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Conflicts of {binding.entity} #{binding.object_id}",
            "binding": binding,
            "record_label": conflicts[0].record_label if conflicts else "",
            "record_url": record_url,
            "open_conflicts": [c for c in conflicts if c.status == ConflictStatus.OPEN],
            "other_conflicts": [c for c in conflicts if c.status != ConflictStatus.OPEN],
            "can_resolve": can_resolve,
            "choices": [
                (Resolution.KEEP_LOCAL, "Keep local"),
                (Resolution.TAKE_REMOTE, "Take remote"),
                (Resolution.TYPED, "Type a value"),
            ],
        }
        return TemplateResponse(request, "sync/conflict_record.html", context)

    def _resolve_from_post(self, request, binding):
        rows = Conflict.objects.filter(binding=binding).order_by("id")
        resolved = 0
        for conflict in rows:
            choice = request.POST.get(f"choice_{conflict.pk}", "")
            try:
                if choice == "revert" and conflict.status == ConflictStatus.AUTO_RESOLVED:
                    conflict_services.conflict_revert(conflict=conflict, actor=request.user)
                elif choice in Resolution.values and conflict.status == ConflictStatus.OPEN:
                    conflict_services.conflict_resolve(
                        conflict=conflict,
                        resolution=choice,
                        value=request.POST.get(f"value_{conflict.pk}", ""),
                        actor=request.user,
                    )
                else:
                    continue
            except (ApplicationError, ValidationError) as error:
                self.message_user(
                    request, f"{conflict.field}: {refusal_text(error)}", messages.ERROR
                )
            else:
                resolved += 1
        if resolved:
            self.message_user(
                request,
                f"{resolved} field(s) decided; the decisions are on their way to the vendor.",
                messages.SUCCESS,
            )


# --- the client and service pages ---------------------------------------------------------------
class RecordConflictsMixin:
    """A badge for open conflicts on the change page (everyone who sees the record), and the
    record's conflicts with their resolutions on its history page."""

    change_form_template = "sync/record_change_form.html"
    object_history_template = "sync/record_object_history.html"

    def _conflict_context(self, request, object_id, extra_context):
        context = dict(extra_context or {})
        if object_id and str(object_id).isdigit():
            context["sync_open_conflicts"] = record_open_conflict_count(
                model=self.model, object_id=int(object_id)
            )
            context["sync_can_resolve"] = request.user.has_perm("sync.change_conflict")
            first_open = (
                record_conflicts(model=self.model, object_id=int(object_id))
                .filter(status=ConflictStatus.OPEN)
                .aggregate(binding=Min("binding_id"))["binding"]
            )
            if first_open:
                context["sync_conflict_url"] = reverse(
                    "admin:sync_conflict_record", args=[first_open]
                )
        return context

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(
            request, object_id, form_url, self._conflict_context(request, object_id, extra_context)
        )

    def history_view(self, request, object_id, extra_context=None):
        context = dict(extra_context or {})
        if str(object_id).isdigit():
            context["sync_conflicts"] = list(
                record_conflicts(model=self.model, object_id=int(object_id))
            )
        return super().history_view(request, object_id, context)


def extend_record_admins(site=admin.site) -> None:
    """Re-register the client and service admins with the conflict badge and history."""
    for model in ENTITY_MODELS.values():
        current = site._registry.get(model)
        if current is None or isinstance(current, RecordConflictsMixin):
            continue
        extended = type(f"Sync{type(current).__name__}", (RecordConflictsMixin, type(current)), {})
        site.unregister(model)
        site.register(model, extended)


# The domain admins are registered first (explicitly, whatever the app order), then extended.
import apps.catalog.admin  # noqa: E402
import apps.clients.admin  # noqa: E402,F401

extend_record_admins()
