"""Admins must set up TOTP before they reach anything but the MFA pages themselves.

allauth offers MFA but does not enforce it (ecosystem-notes §6), so this does.
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

# Paths an admin without MFA may still use: setting it up, logging out, and the plumbing.
ALLOWED_PREFIXES = (
    "/accounts/2fa/",
    "/accounts/logout/",
    "/accounts/login/",
    "/accounts/email/",
    "/accounts/reauthenticate/",
    "/static/",
    "/healthz",
    "/sandbox/",
)


def user_needs_mfa_setup(user) -> bool:
    if not getattr(settings, "MFA_REQUIRED_FOR_ADMINS", True):
        return False
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if not (user.is_superuser or user.groups.filter(name="Admin").exists()):
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class AdminMfaRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(ALLOWED_PREFIXES) and user_needs_mfa_setup(request.user):
            return redirect(f"{reverse('mfa_activate_totp')}?next={path}")
        return self.get_response(request)
