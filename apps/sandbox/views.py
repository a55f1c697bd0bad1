"""The /sandbox/ page: what each emulated organisation holds, for whoever watches a demo.

For signed-in Admins only, DEBUG or not: it lists clients' names and e-mails. The Xero section is
the sibling app's template `sandbox/xero/_overview.html`, given the dict returned by
`apps.sandbox.xero.selectors.overview_context()` as `xero` (either is skipped when absent).
"""

import importlib

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_GET

from apps.sandbox.selectors import zoho_overview

XERO_TEMPLATE = "sandbox/xero/_overview.html"


def _xero_context() -> dict | None:
    try:
        selectors = importlib.import_module("apps.sandbox.xero.selectors")
    except ImportError:
        return None
    build = getattr(selectors, "overview_context", None)
    return build() if build else None


def _has_template(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


# Who connects vendor accounts may see what the emulated ones hold. Named by label: the sandbox
# imports nothing of the domain (import-linter).
ADMIN_PERMISSION = "sync.add_connection"


@require_GET
def overview(request):
    # Open under DEBUG it showed every seeded client's name and e-mail to anyone who could reach
    # the port (a demo machine on a shared network): signed-in Admins only, always.
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.user.is_active and request.user.has_perm(ADMIN_PERMISSION)):
        raise PermissionDenied("The sandbox page is for Admins.")
    xero = _xero_context() if _has_template(XERO_TEMPLATE) else None
    return render(
        request,
        "sandbox/overview.html",
        {
            "zoho": zoho_overview(),
            "xero": xero,
            "xero_template": XERO_TEMPLATE if xero is not None else "",
        },
    )
