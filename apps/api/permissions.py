"""Each endpoint names the model permissions it needs; roles grant them (apps/users/roles.py), so
the API refuses exactly what the admin refuses."""

from rest_framework.permissions import BasePermission


class ActionPermission(BasePermission):
    """The view's `action_permissions[action]` must all be held; an unlisted action is refused."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        required = view.action_permissions.get(getattr(view, "action", None) or "")
        if required is None:
            # A method the view does not serve (OPTIONS and HEAD follow their GET).
            required = view.action_permissions.get("metadata", ())
        return bool(request.user and request.user.is_authenticated) and request.user.has_perms(
            required
        )
