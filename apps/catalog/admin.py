"""Admin for the catalogue: services and tax rates, edited by admins, seen by agents."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from apps.catalog.models import Service, TaxRate
from apps.catalog.services import (
    SERVICE_EDITABLE_FIELDS,
    TAX_RATE_EDITABLE_FIELDS,
    service_check_sku_available,
    service_create,
    service_deactivate,
    service_reactivate,
    service_update,
    tax_rate_create,
    tax_rate_deactivate,
    tax_rate_reactivate,
    tax_rate_update,
)
from apps.core.admin_tools import (
    ReadOnlyHistoryMixin,
    ServiceBackedAdminMixin,
    add_refusal_to_form,
)


class ServiceForm(forms.ModelForm):
    """Checks the service would refuse, so that they show on the form rather than fail later."""

    class Meta:
        model = Service
        fields = list(SERVICE_EDITABLE_FIELDS)

    def clean(self):
        cleaned = super().clean()
        if "sku" in self.changed_data:
            try:
                service_check_sku_available(sku=cleaned.get("sku"), exclude_pk=self.instance.pk)
            except ValidationError as error:
                add_refusal_to_form(self, error)
        tax_rate = cleaned.get("tax_rate")
        if "tax_rate" in self.changed_data and tax_rate is not None and not tax_rate.active:
            self.add_error("tax_rate", f"Tax rate “{tax_rate.name}” is inactive.")
        return cleaned


@admin.register(Service)
class ServiceAdmin(ServiceBackedAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = ServiceForm
    list_display = ["name", "sku", "category", "rate", "unit", "tax_rate", "active"]
    list_filter = ["active", "category", "tax_rate"]
    list_select_related = ["tax_rate"]
    search_fields = ["name", "sku", "category", "description"]
    autocomplete_fields = ["tax_rate"]
    readonly_fields = ["active", "created_at", "updated_at"]
    fields = [
        "name",
        "sku",
        "category",
        "description",
        "rate",
        "unit",
        "tax_rate",
        "active",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False
    list_per_page = 50

    def has_delete_permission(self, request, obj=None) -> bool:
        # Retire a service with Deactivate; quote and invoice lines keep their copy of it.
        return False

    editable_fields = SERVICE_EDITABLE_FIELDS

    def service_create(self, *, data, actor):
        return service_create(**data, actor=actor)

    def service_update(self, *, obj, data, actor):
        return service_update(service=obj, data=data, actor=actor)

    def service_deactivate(self, *, obj, actor):
        return service_deactivate(service=obj, actor=actor)

    def service_reactivate(self, *, obj, actor):
        return service_reactivate(service=obj, actor=actor)


@admin.register(TaxRate)
class TaxRateAdmin(ServiceBackedAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["name", "rate", "active", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["active", "created_at", "updated_at"]
    fields = ["name", "rate", "active", "created_at", "updated_at"]
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    editable_fields = TAX_RATE_EDITABLE_FIELDS

    def service_create(self, *, data, actor):
        return tax_rate_create(**data, actor=actor)

    def service_update(self, *, obj, data, actor):
        return tax_rate_update(tax_rate=obj, data=data, actor=actor)

    def service_deactivate(self, *, obj, actor):
        return tax_rate_deactivate(tax_rate=obj, actor=actor)

    def service_reactivate(self, *, obj, actor):
        return tax_rate_reactivate(tax_rate=obj, actor=actor)
