"""Connecting Xero from the admin: `state` and PKCE, then the tenants from /connections."""

import secrets

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.urls import path, reverse

from apps.sync.engine.connections import plain_client
from apps.sync.engine.oauth import pkce_pair
from apps.sync.engine.records import OAuthError, VendorError
from apps.sync.engine.tokens import credential_create
from apps.sync.views import (
    callback_flow,
    choose_page,
    code_refused,
    done,
    require_admin,
    vendor_unreachable,
)

from .accounts import VENDOR, xero_authorize_url, xero_exchange_code
from .connect import connection_attach_xero, xero_tenants


@staff_member_required
def xero_connect(request):
    require_admin(request)
    if request.method != "POST":
        # Starting a flow replaces the pending one in the session: only a POST with the CSRF
        # token may do that, never a link another site makes the Admin's browser follow.
        return render(request, "sync/connect_xero.html", {"title": "Connect Xero"})
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    request.session["sync_oauth"] = {"vendor": VENDOR, "state": state, "verifier": verifier}
    redirect_uri = request.build_absolute_uri(reverse("sync:xero-callback"))
    return redirect(
        xero_authorize_url(state=state, code_challenge=challenge, redirect_uri=redirect_uri)
    )


@staff_member_required
def xero_callback(request):
    flow, answer = callback_flow(request, VENDOR, "Xero")
    if answer is not None:
        return answer
    try:
        tokens = xero_exchange_code(
            plain_client(),
            code=request.GET.get("code", ""),
            code_verifier=flow["verifier"],
            redirect_uri=request.build_absolute_uri(reverse("sync:xero-callback")),
        )
    except OAuthError as error:
        return code_refused(request, "Xero", error)
    except VendorError as error:
        return vendor_unreachable(request, "Xero", error)
    credential = credential_create(vendor=VENDOR, tokens=tokens)
    try:
        tenants = xero_tenants(credential=credential)
    except VendorError as error:
        return vendor_unreachable(request, "Xero", error)
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
