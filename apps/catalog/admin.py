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
    RefusalOnFormMixin,
    add_refusal_to_form,
    copy_saved,
    refused_as_form_error,
    run_service_action,
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
class ServiceAdmin(RefusalOnFormMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
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
    actions = ["deactivate", "reactivate"]
    show_full_result_count = False
    list_per_page = 50

    def has_delete_permission(self, request, obj=None) -> bool:
        # Retire a service with Deactivate; quote and invoice lines keep their copy of it.
        return False

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in SERVICE_EDITABLE_FIELDS
            if name in form.cleaned_data
        }
        if change:
            saved = refused_as_form_error(
                lambda: service_update(
                    service=Service.objects.get(pk=obj.pk), data=data, actor=request.user
                )
            )
        else:
            saved = refused_as_form_error(lambda: service_create(**data, actor=request.user))
        copy_saved(obj, saved)

    @admin.action(description="Deactivate selected services", permissions=["change"])
    def deactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda service: service_deactivate(service=service, actor=request.user),
            done="Deactivated",
        )

    @admin.action(description="Reactivate selected services", permissions=["change"])
    def reactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda service: service_reactivate(service=service, actor=request.user),
            done="Reactivated",
        )


@admin.register(TaxRate)
class TaxRateAdmin(RefusalOnFormMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["name", "rate", "active", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["active", "created_at", "updated_at"]
    fields = ["name", "rate", "active", "created_at", "updated_at"]
    actions = ["deactivate", "reactivate"]
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in TAX_RATE_EDITABLE_FIELDS}
        if change:
            saved = refused_as_form_error(
                lambda: tax_rate_update(
                    tax_rate=TaxRate.objects.get(pk=obj.pk), data=data, actor=request.user
                )
            )
        else:
            saved = refused_as_form_error(lambda: tax_rate_create(**data, actor=request.user))
        copy_saved(obj, saved)

    @admin.action(description="Deactivate selected tax rates", permissions=["change"])
    def deactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda rate: tax_rate_deactivate(tax_rate=rate, actor=request.user),
            done="Deactivated",
        )

    @admin.action(description="Reactivate selected tax rates", permissions=["change"])
    def reactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda rate: tax_rate_reactivate(tax_rate=rate, actor=request.user),
            done="Reactivated",
        )
