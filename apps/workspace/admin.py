"""The business profile an Admin edits (name, address, VAT number, logo, bank details)."""

from django import forms
from django.contrib import admin

from apps.workspace.models import BusinessProfile

LOGO_TYPES = {"image/png", "image/jpeg", "image/svg+xml"}
LOGO_MAX_BYTES = 512 * 1024


class BusinessProfileForm(forms.ModelForm):
    logo_upload = forms.FileField(
        required=False, label="Logo", help_text="PNG, JPEG or SVG, at most 512 KB."
    )
    remove_logo = forms.BooleanField(required=False)

    class Meta:
        model = BusinessProfile
        fields = ["name", "address", "vat_number", "email", "phone", "bank_details"]

    def clean_logo_upload(self):
        upload = self.cleaned_data.get("logo_upload")
        if upload is None:
            return None
        if upload.content_type not in LOGO_TYPES:
            raise forms.ValidationError("The logo must be a PNG, JPEG or SVG image.")
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError("The logo must be at most 512 KB.")
        return upload

    def save(self, commit=True):
        profile = super().save(commit=False)
        upload = self.cleaned_data.get("logo_upload")
        if upload is not None:
            profile.logo = upload.read()
            profile.logo_content_type = upload.content_type
        elif self.cleaned_data.get("remove_logo"):
            profile.logo, profile.logo_content_type = b"", ""
        if commit:
            profile.save()
        return profile


@admin.register(BusinessProfile)
class BusinessProfileAdmin(admin.ModelAdmin):
    form = BusinessProfileForm
    list_display = ["name", "vat_number", "email"]
    fields = [
        "name",
        "address",
        "vat_number",
        "email",
        "phone",
        "bank_details",
        "logo_upload",
        "remove_logo",
    ]

    def has_add_permission(self, request) -> bool:
        # One profile: the PDFs read the first row.
        return super().has_add_permission(request) and not BusinessProfile.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
