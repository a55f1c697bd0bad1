"""Connecting Xero from the admin: `state` and PKCE, then the tenants from /connections."""

import secrets

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import path, reverse

from apps.sync.engine.connections import plain_client
from apps.sync.engine.oauth import pkce_pair
from apps.sync.engine.records import OAuthError
from apps.sync.engine.tokens import credential_create
from apps.sync.views import choose_page, done, require_admin

from .accounts import VENDOR, xero_authorize_url, xero_exchange_code
from .connect import connection_attach_xero, xero_tenants


@staff_member_required
def xero_connect(request):
    require_admin(request)
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    request.session["sync_oauth"] = {"vendor": VENDOR, "state": state, "verifier": verifier}
    redirect_uri = request.build_absolute_uri(reverse("sync:xero-callback"))
    return redirect(
        xero_authorize_url(state=state, code_challenge=challenge, redirect_uri=redirect_uri)
    )


@staff_member_required
def xero_callback(request):
    require_admin(request)
    flow = request.session.pop("sync_oauth", None) or {}
    state = request.GET.get("state", "")
    if (
        flow.get("vendor") != VENDOR
        or not state
        or not secrets.compare_digest(state, flow.get("state", ""))
    ):
        return HttpResponseBadRequest("The sign-in answer does not match this session (state).")
    if request.GET.get("error"):
        messages.error(request, f"Xero refused: {request.GET['error']}")
        return redirect("admin:sync_connection_changelist")
    try:
        tokens = xero_exchange_code(
            plain_client(),
            code=request.GET.get("code", ""),
            code_verifier=flow["verifier"],
            redirect_uri=request.build_absolute_uri(reverse("sync:xero-callback")),
        )
    except OAuthError as error:
        messages.error(request, f"Xero refused the code ({error.code}); try again.")
        return redirect("admin:sync_connection_changelist")
    credential = credential_create(vendor=VENDOR, tokens=tokens)
    tenants = xero_tenants(credential=credential)
    if len(tenants) == 1:
        return done(request, connection_attach_xero(credential=credential, tenants=tenants))
    request.session["sync_choose"] = {"vendor": VENDOR, "credential": credential.pk}
    return choose_page(
        request,
        title="Choose the Xero organisations",
        kind="organisations",
        input_type="checkbox",
        accounts=[{"id": t["tenantId"], "name": t.get("tenantName", "")} for t in tenants],
    )


urlpatterns = [
    path("connect/xero/", xero_connect, name="connect-xero"),
    path("oauth/xero/callback/", xero_callback, name="xero-callback"),
]
