"""The /sandbox/ page: what each emulated organisation holds, for whoever watches a demo.

Open to staff, and to anyone when DEBUG is on (a developer's machine). The Xero section is the
sibling app's template `sandbox/xero/_overview.html`, given the dict returned by
`apps.sandbox.xero.selectors.overview_context()` as `xero` (either is skipped when absent).
"""

import importlib

from django.conf import settings
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


@require_GET
def overview(request):
    if not settings.DEBUG:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("The sandbox page is for staff.")
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
