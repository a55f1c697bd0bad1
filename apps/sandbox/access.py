"""Who may use the sandbox's pages that stand for a vendor's login: staff of this site only.

The real vendors show their consent pages to their own signed-in users. The sandbox has no users
of its own, so it plays that login with ours: a consent page (Zoho's and Xero's) and the sandbox
controls answer only a signed-in, active staff user of this site. That is stricter than a vendor
(who lets any of its users consent) and keeps a mounted sandbox from handing out codes, or
listing every emulated organisation, to whoever finds the URL.
"""

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden


def staff_refusal(request: HttpRequest, *, redirect: bool = True) -> HttpResponse | None:
    """None when the request comes from active staff; otherwise the answer to give instead.

    Anonymous visitors are sent to the login page (`redirect`) or answered 401 (API-style
    callers); signed-in users who are not staff get 403.
    """
    user = request.user
    if not user.is_authenticated:
        if redirect:
            return redirect_to_login(request.get_full_path())
        return HttpResponse(
            b'{"error": "Sign in as staff of this site to use the sandbox controls."}',
            status=401,
            content_type="application/json",
        )
    if not (user.is_active and user.is_staff):
        return HttpResponseForbidden("The sandbox's vendor pages are for staff of this site.")
    return None
