"""Connecting Xero from the admin: `state` and PKCE, then the tenants from /connections."""

import secrets

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from apps.core.errors import ApplicationError
from apps.sync.engine import registry
from apps.sync.engine.connections import adapter_for, plain_client
from apps.sync.engine.oauth import pkce_pair
from apps.sync.engine.records import OAuthError, VendorError
from apps.sync.engine.tokens import credential_create
from apps.sync.models import Connection, Priority
from apps.sync.views import (
    callback_flow,
    choose_page,
    code_refused,
    require_admin,
    vendor_unreachable,
)

from . import options
from .accounts import VENDOR, xero_authorize_url, xero_exchange_code
from .connect import connection_accounts_read, connection_attach_xero, xero_tenants


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
        connection = connection_attach_xero(credential=credential, tenants=tenants)[0]
        messages.success(request, f"Connected: {connection.name}.")
        return redirect("sync:xero-bank-account", pk=connection.pk)
    request.session["sync_choose"] = {"vendor": VENDOR, "credential": credential.pk}
    return choose_page(
        request,
        title="Choose the Xero organisations",
        kind="organisations",
        input_type="checkbox",
        accounts=[{"id": t["tenantId"], "name": t.get("tenantName", "")} for t in tenants],
    )


@staff_member_required
def xero_bank_account(request, pk: int):
    """The bank account payments go to, chosen from the organisation's /Accounts; saving it
    also reads the tax rates and the default sales account (the connector's on_connect)."""
    require_admin(request)
    connection = get_object_or_404(Connection, pk=pk, provider="xero")
    if request.method == "POST":
        try:
            connection_accounts_read(
                connection=connection, bank_account=request.POST.get("account", "")
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("sync:xero-bank-account", pk=connection.pk)
        report = registry.connector(connection.provider).on_connect(connection)
        messages.success(request, f"{connection.name}: {report}.")
        return redirect("admin:sync_connection_changelist")
    try:
        accounts = adapter_for(connection, priority=Priority.USER).accounts()
    except VendorError as error:
        return vendor_unreachable(request, "Xero", error)
    banks = options.bank_accounts(accounts)
    chosen = (connection.options or {}).get(options.BANK_ACCOUNT, "")
    banks.sort(key=lambda a: a["Code"] != chosen)  # the current choice first (checked)
    return choose_page(
        request,
        title=f"{connection.name}: the bank account for payments",
        kind="bank account that payments recorded here are paid into in Xero",
        input_type="radio",
        accounts=[{"id": a["Code"], "name": a.get("Name", "")} for a in banks],
        action=reverse("sync:xero-bank-account", args=[connection.pk]),
    )


urlpatterns = [
    path("connect/xero/", xero_connect, name="connect-xero"),
    path("oauth/xero/callback/", xero_callback, name="xero-callback"),
    path("connect/xero/<int:pk>/bank-account/", xero_bank_account, name="xero-bank-account"),
]
