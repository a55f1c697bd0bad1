"""API tokens in the admin: created (the token shown once), revoked, listed with their last use."""

from django.contrib import admin, messages

from apps.api.models import ApiToken
from apps.api.services import api_token_create, api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "expires_at", "last_used_at", "state"]
    list_filter = ["revoked_at"]
    search_fields = ["user__email", "name", "prefix"]
    list_select_related = ["user"]
    fields = ["user", "name", "expires_at", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        if token.revoked_at:
            return "revoked"
        return "active" if token.is_usable else "expired"

    def get_readonly_fields(self, request, obj=None):
        # A token's owner and lifetime are fixed once made: revoke it and make another.
        if obj is not None:
            return [*self.readonly_fields, "user", "name", "expires_at"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, raw = api_token_create(user=obj.user, name=obj.name)
        if obj.expires_at:
            token.expires_at = obj.expires_at
            token.save(update_fields=["expires_at"])
        for field in token._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        self.message_user(
            request,
            f"The new token (shown once, copy it now): {raw}",
            level=messages.WARNING,
        )

    def has_change_permission(self, request, obj=None):
        return (
            False
            if obj is not None and obj.revoked_at
            else super().has_change_permission(request, obj)
        )

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")
