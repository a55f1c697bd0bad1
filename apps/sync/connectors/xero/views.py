"""Connecting Xero from the admin: `state` and PKCE, then the tenants from /connections."""

import secrets

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.errors import ApplicationError
from apps.sync.engine import registry
from apps.sync.engine.connections import adapter_for, plain_client
from apps.sync.engine.oauth import pkce_pair
from apps.sync.engine.records import OAuthError, VendorError
from apps.sync.engine.tokens import credential_create
from apps.sync.matching.models import MatchPlan
from apps.sync.matching.services import match_plan_start
from apps.sync.models import Connection, Priority
from apps.sync.views import (
    callback_flow,
    choose_page,
    code_refused,
    require_admin,
    review_or_list,
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
        # The account is read for the matching review now; the bank account is asked next.
        match_plan_start(connection=connection, source="admin")
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
    also reads the tax rates and the default sales account (the connector's on_connect).
    Nothing is checked for the Admin when nothing was chosen: a pre-checked first account was
    saved by whoever clicked through without reading."""
    require_admin(request)
    connection = get_object_or_404(Connection, pk=pk, provider="xero")
    here = reverse("sync:xero-bank-account", args=[connection.pk])
    if request.method == "POST":
        code = request.POST.get("account", "").strip()
        if not code:
            messages.error(request, "Choose the bank account customer payments are paid into.")
            return redirect(here)
        try:
            saved = connection_accounts_read(connection=connection, bank_account=code)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(here)
        report = registry.connector(connection.provider).on_connect(connection)
        name = saved.get(options.BANK_ACCOUNT_NAME, "")
        messages.success(
            request,
            format_html(
                '<a href="{}">{}</a>: payments go to {}. Also read: {}.',
                reverse("admin:sync_connection_change", args=[connection.pk]),
                connection.name,
                f"{name} ({code})" if name else code,
                report,
            ),
        )
        plans = MatchPlan.objects.filter(connection=connection).order_by("-pk")[:1]
        return review_or_list(list(plans))
    try:
        accounts = adapter_for(connection, priority=Priority.USER).accounts()
    except VendorError as error:
        return vendor_unreachable(request, "Xero", error)
    banks = [{"id": a["Code"], "name": a.get("Name", "")} for a in options.bank_accounts(accounts)]
    saved = connection.options or {}
    code = saved.get(options.BANK_ACCOUNT, "")
    # The saved account even when Xero no longer lists it (archived since): said, not hidden.
    chosen = next(
        (a for a in banks if a["id"] == code),
        {"id": code, "name": saved.get(options.BANK_ACCOUNT_NAME) or "no longer in Xero"}
        if code
        else {},
    )
    return render(
        request,
        "sync/xero_bank_account.html",
        {
            "title": f"{connection.name}: bank account for payments",
            "connection": connection,
            "accounts": banks,
            "chosen": chosen,
            "action": here,
        },
    )


urlpatterns = [
    path("connect/xero/", xero_connect, name="connect-xero"),
    path("oauth/xero/callback/", xero_callback, name="xero-callback"),
    path("connect/xero/<int:pk>/bank-account/", xero_bank_account, name="xero-bank-account"),
]
