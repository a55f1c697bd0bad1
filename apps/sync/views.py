"""The OAuth connect plumbing shared by the connectors' views (each vendor's own flow lives in
its package: connectors/<vendor>/views.py): the Admin check, the organisation chooser (second
step when a login reaches several accounts, attached by the vendor's accounts) and the result."""

import secrets

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core.errors import ApplicationError
from apps.sync.engine import registry
from apps.sync.engine.records import VendorError
from apps.sync.models import Credential


def require_admin(request) -> None:
    if not request.user.has_perm("sync.change_connection"):
        raise PermissionDenied


def vendor_unreachable(request, label: str, error: VendorError):
    """The vendor could not be reached (or answered nonsense) during the connect flow: a message
    and back to the list, never a server error. The flow is over; the Admin starts again."""
    messages.error(request, f"{label} could not be reached: {error.message} Try connecting again.")
    return redirect("admin:sync_connection_changelist")


def done(request, connections):
    names = ", ".join(c.name for c in connections)
    messages.success(request, f"Connected: {names}.")
    return redirect("admin:sync_connection_changelist")


def choose_page(
    request, *, title: str, kind: str, input_type: str, accounts: list[dict], action: str = ""
):
    return render(
        request,
        "sync/choose_accounts.html",
        {
            "title": title,
            "kind": kind,
            "input_type": input_type,
            "action": action or reverse("sync:choose"),
            "accounts": accounts,
        },
    )


def callback_flow(request, vendor: str, label: str):
    """The OAuth flow this callback ends, checked: (flow, None), or (None, the answer to give)
    when `state` does not match the session's (400) or the vendor refused (back to the list)."""
    require_admin(request)
    flow = request.session.pop("sync_oauth", None) or {}
    state = request.GET.get("state", "")
    if (
        flow.get("vendor") != vendor
        or not state
        or not secrets.compare_digest(state, flow.get("state", ""))
    ):
        return None, HttpResponseBadRequest(
            "The sign-in answer does not match this session (state)."
        )
    if request.GET.get("error"):
        messages.error(request, f"{label} refused: {request.GET['error']}")
        return None, redirect("admin:sync_connection_changelist")
    return flow, None


def code_refused(request, label: str, error):
    messages.error(request, f"{label} refused the code ({error.code}); try again.")
    return redirect("admin:sync_connection_changelist")


@staff_member_required
def choose_accounts(request):
    """Second step when a login reaches several organisations: attach the chosen ones."""
    require_admin(request)
    pending = request.session.get("sync_choose")
    if request.method != "POST" or not pending:
        return HttpResponseBadRequest("Nothing to choose.")
    credential = Credential.objects.get(pk=pending["credential"])
    try:
        connections = registry.accounts(pending["vendor"]).attach_chosen(
            credential=credential, chosen=request.POST.getlist("account"), pending=pending
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("admin:sync_connection_changelist")
    request.session.pop("sync_choose", None)
    return done(request, connections)
