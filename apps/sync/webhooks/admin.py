"""Admin for inbound webhooks (Admins only, through the sync app's permissions): the stored
deliveries with their status and a Reprocess action, the refusal counters and the CRM watch
channels. Registered by apps/sync/admin_status.py."""

from django.contrib import admin

from apps.sync.webhooks.models import CrmWatchChannel, InboundWebhook, WebhookRefusal
from apps.sync.webhooks.services import webhooks_reprocess


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundWebhook)
class InboundWebhookAdmin(_ReadOnly):
    list_display = [
        "id",
        "source",
        "connection",
        "event",
        "status",
        "attempts",
        "result",
        "received_at",
        "processed_at",
    ]
    list_filter = ["status", "source", "connection"]
    search_fields = ["event", "result", "=dedupe_key"]
    list_select_related = ["connection"]
    readonly_fields = [f.name for f in InboundWebhook._meta.fields]
    actions = ["reprocess"]
    show_full_result_count = False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("sync.change_inboundwebhook"):
            actions.pop("reprocess", None)
        return actions

    @admin.action(description="Reprocess (fetch from the vendor and apply again)")
    def reprocess(self, request, queryset):
        count = webhooks_reprocess(webhooks=queryset)
        self.message_user(request, f"Queued {count} webhook(s) for processing.")


@admin.register(WebhookRefusal)
class WebhookRefusalAdmin(_ReadOnly):
    list_display = ["source", "reason", "count", "last_at"]


@admin.register(CrmWatchChannel)
class CrmWatchChannelAdmin(_ReadOnly):
    list_display = ["connection", "channel_id", "expires_at", "renewed_at", "last_error"]
    list_select_related = ["connection"]
