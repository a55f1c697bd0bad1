"""Admin for clients: search and filters for a long list, writes through the client services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.clients.models import Client
from apps.clients.services import (
    CLIENT_EDITABLE_FIELDS,
    client_create,
    client_deactivate,
    client_reactivate,
    client_update,
)
from apps.core.admin_tools import (
    ReadOnlyHistoryMixin,
    ServiceBackedAdminMixin,
)


@admin.register(Client)
class ClientAdmin(ServiceBackedAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["name", "company", "email", "phone", "mobile", "active", "updated_at"]
    list_filter = ["active"]
    # Also what the quote and ticket pages' client autocomplete searches.
    search_fields = ["name", "company", "email", "phone", "mobile", "tax_number"]
    readonly_fields = ["active", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "company", "active"]}),
        ("Contact", {"fields": ["email", "phone", "mobile", "whatsapp_id"]}),
        ("Billing", {"fields": ["billing_address", "tax_number"]}),
        ("Notes", {"fields": ["notes", "created_at", "updated_at"]}),
    ]
    show_full_result_count = False
    list_per_page = 50

    def has_delete_permission(self, request, obj=None) -> bool:
        # Clients are deactivated, never deleted: quotes, invoices and history point at them.
        return False

    editable_fields = CLIENT_EDITABLE_FIELDS

    def service_create(self, *, data, actor):
        return client_create(**data, actor=actor)

    def service_update(self, *, obj, data, actor):
        return client_update(client=obj, data=data, actor=actor)

    def service_deactivate(self, *, obj, actor):
        return client_deactivate(client=obj, actor=actor)

    def service_reactivate(self, *, obj, actor):
        return client_reactivate(client=obj, actor=actor)
