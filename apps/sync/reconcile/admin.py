"""The reconciliation report in the admin: the runs, each run's differences with both values and
a one-click fix per row (push ours, take theirs, link, archive), "reconcile now" per connection
(queued: nothing waits on the vendor), and the actions on records gone from the vendor (relink,
re-push, archive) that the bindings' admin mixes in. Every action calls a service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_q.tasks import async_task

from apps.core.errors import ApplicationError
from apps.sync.engine import gone, reconcile, reconcile_fixes, registry
from apps.sync.engine.entities import ENTITIES
from apps.sync.models import BindingStatus, Connection, ConnectionStatus
from apps.sync.reconcile.models import (
    DifferenceStatus,
    Fix,
    ReconcileDifference,
    ReconcileRun,
    ReconcileRunStatus,
)

RECONCILE_TASK = "apps.sync.tasks.reconcile_connection_task"


def _values(values: dict) -> str:
    """One field a line ("total: 950.00"): a comma-joined run wrapped mid-pair on a phone."""
    if not values:
        return "—"
    return format_html_join(
        mark_safe("<br>"),
        "{}: {}",
        ((k, v if v is not None else "—") for k, v in values.items()),
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _document_url(difference) -> str:
    """The admin page of our document the difference is about ("" when we have none)."""
    spec = ENTITIES.get(difference.entity)
    if spec is None or not difference.object_id:
        return ""
    meta = spec.model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[difference.object_id])


@admin.register(ReconcileRun)
class ReconcileRunAdmin(admin.ModelAdmin):
    # What an office reads first (when, which books, what was found) before the counts: on a
    # phone the list scrolls inside itself and only the first columns show.
    list_display = [
        "started_at",
        "connection",
        "differences_link",
        "status",
        "compared",
        "in_step",
        "requests",
        "emailed",
    ]
    list_display_links = ["started_at"]
    list_filter = ["status", "connection"]
    list_select_related = ["connection"]
    readonly_fields = [f.name for f in ReconcileRun._meta.fields]
    change_list_template = "sync/reconcilerun_change_list.html"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="differences found", ordering="difference_count")
    def differences_link(self, obj):
        if obj.status == ReconcileRunStatus.RUNNING:
            return "still comparing…"
        if not obj.difference_count:
            return "none: all in step"
        url = reverse("admin:sync_reconciledifference_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _plural(obj.difference_count, "difference"))

    @admin.display(description="compared", ordering="checked")
    def compared(self, obj):
        return obj.checked

    @admin.display(description="in step", ordering="matching")
    def in_step(self, obj):
        return obj.matching

    @admin.display(description="e-mailed", ordering="emailed_at")
    def emailed(self, obj):
        """Whether the Admins were sent the report; when, on hover (a second timestamp was
        the column a laptop could not show)."""
        if not obj.emailed_at:
            return "no"
        when = date_format(timezone.localtime(obj.emailed_at), "DATETIME_FORMAT")
        return format_html('<span title="{}">yes</span>', when)

    def get_urls(self):
        return [
            path(
                "now/",
                self.admin_site.admin_view(self.reconcile_now_view),
                name="sync_reconcilerun_now",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        keys = [c.key for c in registry.connectors() if c.reconciles]
        extra_context = {
            **(extra_context or {}),
            "reconcilable": Connection.objects.filter(
                status=ConnectionStatus.CONNECTED, provider__in=keys
            ).order_by("name"),
            "may_run": request.user.has_perm("sync.add_reconcilerun"),
            "title": "Reconciliation reports",
        }
        return super().changelist_view(request, extra_context)

    def reconcile_now_view(self, request):
        """POST: queue a reconciliation of one connection (the task runs it)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("sync.add_reconcilerun"):
            raise PermissionDenied
        connection = get_object_or_404(
            Connection, pk=request.POST.get("connection"), status=ConnectionStatus.CONNECTED
        )
        async_task(RECONCILE_TASK, connection.pk)
        self.message_user(
            request, f"Reconciliation of {connection} queued; its report appears here when done."
        )
        return HttpResponseRedirect(reverse("admin:sync_reconcilerun_changelist"))


@admin.register(ReconcileDifference)
class ReconcileDifferenceAdmin(admin.ModelAdmin):
    # The document, what differs on each side and the fix first: the columns a phone shows.
    list_display = [
        "local",
        "kind",
        "ours_values",
        "theirs_values",
        "fix_buttons",
        "remote_number",
        "entity",
        "status",
    ]
    # The document's number links to the document itself; the row says all the rest.
    list_display_links = None
    list_filter = ["status", "kind", "entity", "connection"]
    search_fields = ["local_number", "remote_number", "=remote_id"]
    list_select_related = ["connection", "fixed_by"]
    readonly_fields = [f.name for f in ReconcileDifference._meta.fields]
    actions = ["push_ours", "take_theirs", "dismiss"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("sync.change_reconciledifference"):
            for name in ("push_ours", "take_theirs", "dismiss"):
                actions.pop(name, None)
        return actions

    @admin.display(description="document here", ordering="local_number")
    def local(self, obj):
        if not obj.local_number:
            return "— (not here)"
        url = _document_url(obj)
        return (
            format_html('<a href="{}">{}</a>', url, obj.local_number) if url else obj.local_number
        )

    @admin.display(description="ours (here)")
    def ours_values(self, obj):
        return _values(obj.ours)

    @admin.display(description="theirs (at the vendor)")
    def theirs_values(self, obj):
        return _values(obj.theirs)

    @admin.display(description="fix")
    def fix_labels(self, obj):
        if obj.status != DifferenceStatus.OPEN:
            return obj.get_status_display()
        return ", ".join(Fix(f).label for f in obj.fixes) or "—"

    def get_list_display(self, request):
        """The buttons only for those who may fix; the others see which fixes exist."""
        shown = list(super().get_list_display(request))
        if not request.user.has_perm("sync.change_reconciledifference"):
            shown[shown.index("fix_buttons")] = "fix_labels"
        return shown

    @admin.display(description="fix")
    def fix_buttons(self, obj):
        """One button per fix; each posts the changelist's form (with its CSRF token) to the
        fix view through `formaction`, so no form is nested in another."""
        if obj.status != DifferenceStatus.OPEN:
            who = f" by {obj.fixed_by}" if obj.fixed_by else ""
            return f"{obj.get_status_display()}{who}: {obj.outcome}" if obj.outcome else "—"
        return format_html_join(
            " ",
            '<button type="submit" class="button" formaction="{}" formmethod="post">{}</button>',
            (
                (reverse("admin:sync_reconciledifference_fix", args=[obj.pk, fix]), Fix(fix).label)
                for fix in obj.fixes
            ),
        )

    def changelist_view(self, request, extra_context=None):
        open_count = ReconcileDifference.objects.aggregate(
            open=Count("id", filter=Q(status=DifferenceStatus.OPEN))
        )["open"]
        extra_context = {
            **(extra_context or {}),
            "open_differences": open_count,
            "title": "Differences found by reconciliation",
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/fix/<str:fix>/",
                self.admin_site.admin_view(self.fix_view),
                name="sync_reconciledifference_fix",
            ),
            *super().get_urls(),
        ]

    def fix_view(self, request, pk, fix):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("sync.change_reconciledifference"):
            raise PermissionDenied
        difference = get_object_or_404(
            ReconcileDifference.objects.select_related("connection"), pk=pk
        )
        self._apply(request, difference, fix)
        back = request.META.get("HTTP_REFERER") or ""
        if not back.startswith(request.build_absolute_uri("/")):
            back = reverse("admin:sync_reconciledifference_changelist")
        return HttpResponseRedirect(back)

    def _apply(self, request, difference, fix) -> None:
        try:
            outcome = reconcile_fixes.difference_fix(
                difference=difference, fix=fix, actor=request.user
            )
        except ApplicationError as error:
            self.message_user(request, f"{difference}: {error.message}", messages.ERROR)
        else:
            # A link to the document the fix pushed, took in or archived, to check it there
            # (taking theirs made it: the row names it only now).
            difference.refresh_from_db(fields=["object_id", "local_number"])
            url = _document_url(difference)
            if url:
                link = format_html('<a href="{}">Open {}</a>', url, difference.local_number)
                self.message_user(request, format_html("{}: {} {}", difference, outcome, link))
            else:
                self.message_user(request, f"{difference}: {outcome}")

    def _bulk(self, request, queryset, fix) -> None:
        skipped = 0
        for difference in queryset.select_related("connection"):
            if difference.status == DifferenceStatus.OPEN and fix in difference.fixes:
                self._apply(request, difference, fix)
            else:
                skipped += 1
        if skipped:
            self.message_user(
                request,
                f"{skipped} difference(s) skipped: already settled, or “{Fix(fix).label}” is "
                "not a fix for them.",
                messages.WARNING,
            )

    @admin.action(description="Push ours (through the outbox)")
    def push_ours(self, request, queryset):
        self._bulk(request, queryset, Fix.PUSH)

    @admin.action(description="Take theirs")
    def take_theirs(self, request, queryset):
        self._bulk(request, queryset, Fix.PULL)

    @admin.action(description="Dismiss (leave both sides as they are)")
    def dismiss(self, request, queryset):
        count = reconcile.differences_dismiss(differences=queryset, actor=request.user)
        self.message_user(request, f"Dismissed {count} difference(s).")


class GoneBindingActions:
    """Mixed into the bindings' admin: what an Admin does with a record gone from the vendor."""

    gone_actions = ["gone_relink", "gone_repush", "gone_archive"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("sync.change_binding"):
            for name in self.gone_actions:
                actions.pop(name, None)
        return actions

    def _each_gone(self, request, queryset, act, done: str) -> None:
        skipped = 0
        for binding in queryset.select_related("connection"):
            if binding.status != BindingStatus.GONE:
                skipped += 1
                continue
            try:
                outcome = act(binding)
            except ApplicationError as error:
                self.message_user(request, f"{binding}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{binding}: {done.format(outcome=outcome)}")
        if skipped:
            self.message_user(request, f"{skipped} binding(s) skipped: not gone.", messages.WARNING)

    @admin.action(description="Gone: relink to the vendor's record of ours (by reference)")
    def gone_relink(self, request, queryset):
        self._each_gone(
            request, queryset, lambda b: gone.gone_relink(binding=b), "linked to {outcome}."
        )

    @admin.action(description="Gone: re-push (made again at the vendor, through the outbox)")
    def gone_repush(self, request, queryset):
        self._each_gone(
            request,
            queryset,
            lambda b: len(gone.gone_repush(binding=b)),
            "{outcome} outbox item(s) queued.",
        )

    @admin.action(description="Gone: archive here (unlinked, made inactive or voided)")
    def gone_archive(self, request, queryset):
        self._each_gone(
            request,
            queryset,
            lambda b: gone.gone_archive(binding=b, actor=request.user),
            "{outcome}",
        )
