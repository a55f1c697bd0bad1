"""Admins must set up TOTP before they reach anything but the MFA pages themselves.

allauth offers MFA but does not enforce it (ecosystem-notes §6), so this does. The rule follows
the role (superuser or the Admin group), not `is_staff`, so it cannot be stepped around by an
account that holds the role without the staff flag.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from apps.users.roles import ADMIN

# Paths an admin without MFA may still use: setting it up, logging out, and the plumbing.
# The vendor sandbox's API is called without a session, so it needs no exemption.
ALLOWED_PREFIXES = (
    "/accounts/2fa/",
    "/accounts/logout/",
    "/accounts/login/",
    "/accounts/reauthenticate/",
    "/static/",
    "/healthz",
)


def user_needs_mfa_setup(user) -> bool:
    if not getattr(settings, "MFA_REQUIRED_FOR_ADMINS", True):
        return False
    if not (user.is_authenticated and user.is_active):
        return False
    if not (user.is_superuser or user.groups.filter(name=ADMIN).exists()):
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class AdminMfaRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(ALLOWED_PREFIXES) and user_needs_mfa_setup(request.user):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa_activate_totp')}?{query}")
        return self.get_response(request)
