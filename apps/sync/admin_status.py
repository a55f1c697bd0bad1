"""A "sync" column on the client, service, quote and invoice admin lists: the worst binding
status of the row across connections (failed with its reason, totals differ with both figures,
conflict, pending, synced), read
with the page's own query through two subqueries, so the column costs no query per row."""

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.invoices.models import Invoice
from apps.quotes.models import Quote
from apps.sync.models import Binding, BindingStatus

MODELS = (Client, Service, Quote, Invoice)
RANK = Case(
    When(status=BindingStatus.FAILED, then=Value(0)),
    When(status=BindingStatus.GONE, then=Value(0)),
    When(status=BindingStatus.TOTALS_DIFFER, then=Value(1)),
    When(status=BindingStatus.CONFLICT, then=Value(1)),
    When(status=BindingStatus.PENDING, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def with_sync_status(queryset, model):
    content_type = ContentType.objects.get_for_model(model)
    worst = (
        Binding.objects.filter(content_type=content_type, object_id=OuterRef("pk"))
        .annotate(rank=RANK)
        .order_by("rank", "id")
    )
    return queryset.annotate(
        sync_state=Subquery(worst.values("status")[:1]),
        sync_error=Subquery(worst.values("last_error")[:1]),
    )


class SyncStatusMixin:
    def get_queryset(self, request):
        return with_sync_status(super().get_queryset(request), self.model)

    def get_list_display(self, request):
        return [*super().get_list_display(request), "sync_status"]

    @admin.display(description="sync", ordering="sync_state")
    def sync_status(self, obj):
        state = getattr(obj, "sync_state", None)
        if not state:
            return "—"
        if state == BindingStatus.FAILED:
            error = (obj.sync_error or "").splitlines()[0][:120] if obj.sync_error else ""
            return f"failed: {error}" if error else "failed"
        if state == BindingStatus.TOTALS_DIFFER and obj.sync_error:
            return obj.sync_error.splitlines()[0][:160].lower()
        return BindingStatus(state).label.lower()


def extend_list_admins(site=admin.site) -> None:
    for model in MODELS:
        current = site._registry.get(model)
        if current is None or isinstance(current, SyncStatusMixin):
            continue
        extended = type(f"SyncStatus{type(current).__name__}", (SyncStatusMixin, type(current)), {})
        site.unregister(model)
        site.register(model, extended)


# The domain admins are registered first (explicitly, whatever the app order), then extended.
import apps.catalog.admin  # noqa: E402
import apps.clients.admin  # noqa: E402
import apps.invoices.admin  # noqa: E402
import apps.quotes.admin  # noqa: E402, F401

extend_list_admins()

from apps.sync.webhooks import admin as webhooks_admin  # noqa: E402, F401 - registered here
