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
    RefusalOnFormMixin,
    copy_saved,
    refused_as_form_error,
    run_service_action,
)


@admin.register(Client)
class ClientAdmin(RefusalOnFormMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
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
    actions = ["deactivate", "reactivate"]
    show_full_result_count = False
    list_per_page = 50

    def has_delete_permission(self, request, obj=None) -> bool:
        # Clients are deactivated, never deleted: quotes, invoices and history point at them.
        return False

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in CLIENT_EDITABLE_FIELDS
            if name in form.cleaned_data
        }
        if change:
            saved = refused_as_form_error(
                lambda: client_update(
                    client=Client.objects.get(pk=obj.pk), data=data, actor=request.user
                )
            )
        else:
            saved = refused_as_form_error(lambda: client_create(**data, actor=request.user))
        copy_saved(obj, saved)

    @admin.action(description="Deactivate selected clients", permissions=["change"])
    def deactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda client: client_deactivate(client=client, actor=request.user),
            done="Deactivated",
        )

    @admin.action(description="Reactivate selected clients", permissions=["change"])
    def reactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda client: client_reactivate(client=client, actor=request.user),
            done="Reactivated",
        )
