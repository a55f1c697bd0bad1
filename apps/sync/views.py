"""OAuth connect flows started from the admin: Zoho (data centre, state, the accounts server
the callback names) and Xero (state + PKCE, tenants from /connections)."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core.errors import ApplicationError
from apps.sync import services
from apps.sync.adapters import oauth
from apps.sync.adapters.http import CallContext, HttpClient
from apps.sync.models import Credential, Vendor
from apps.sync.tokens import credential_create

REGIONS = [
    ("com", "United States (.com)"),
    ("eu", "Europe"),
    ("in", "India"),
    ("au", "Australia"),
    ("jp", "Japan"),
    ("ca", "Canada"),
    ("cn", "China"),
    ("sa", "Saudi Arabia"),
]


def _require_admin(request) -> None:
    if not request.user.has_perm("sync.change_connection"):
        raise PermissionDenied


def _done(request, connections):
    names = ", ".join(c.name for c in connections)
    messages.success(request, f"Connected: {names}.")
    return redirect("admin:sync_connection_changelist")


def _client() -> HttpClient:
    return HttpClient(context=CallContext(), timeout=settings.SYNC_TOKEN_TIMEOUT)


def _allowed_accounts_servers() -> set[str]:
    servers = {server for server, _ in oauth.ZOHO_DATA_CENTRES.values()}
    servers.add(settings.ZOHO_ACCOUNTS_URL.rstrip("/"))
    return servers


# --- Zoho ---------------------------------------------------------------------------------------
@staff_member_required
def zoho_connect(request):
    _require_admin(request)
    if request.method == "POST":
        region = request.POST.get("region", "com")
        if region not in dict(REGIONS):
            return HttpResponseBadRequest("Unknown data centre.")
        state = secrets.token_urlsafe(32)
        request.session["sync_oauth"] = {"vendor": "zoho", "state": state, "region": region}
        redirect_uri = request.build_absolute_uri(reverse("sync:zoho-callback"))
        return redirect(
            oauth.zoho_authorize_url(region=region, state=state, redirect_uri=redirect_uri)
        )
    return render(request, "sync/connect_zoho.html", {"regions": REGIONS, "title": "Connect Zoho"})


@staff_member_required
def zoho_callback(request):
    _require_admin(request)
    flow = request.session.pop("sync_oauth", None) or {}
    state = request.GET.get("state", "")
    if (
        flow.get("vendor") != "zoho"
        or not state
        or not secrets.compare_digest(state, flow.get("state", ""))
    ):
        return HttpResponseBadRequest("The sign-in answer does not match this session (state).")
    if request.GET.get("error"):
        messages.error(request, f"Zoho refused: {request.GET['error']}")
        return redirect("admin:sync_connection_changelist")
    # The code must be exchanged at the accounts server of the user's data centre — the one the
    # callback names — but only a known Zoho server (or our configured one) gets our secret.
    accounts_server = (
        request.GET.get("accounts-server") or oauth.zoho_accounts_server(flow["region"])
    ).rstrip("/")
    if accounts_server not in _allowed_accounts_servers():
        return HttpResponseBadRequest("Unknown Zoho accounts server.")
    try:
        tokens = oauth.zoho_exchange_code(
            _client(),
            accounts_server=accounts_server,
            code=request.GET.get("code", ""),
            redirect_uri=request.build_absolute_uri(reverse("sync:zoho-callback")),
        )
    except oauth.OAuthError as error:
        messages.error(request, f"Zoho refused the code ({error.code}); try again.")
        return redirect("admin:sync_connection_changelist")
    credential = credential_create(
        vendor=Vendor.ZOHO, tokens=tokens, accounts_server=accounts_server
    )
    region = request.GET.get("location") or flow["region"]
    organizations = services.zoho_organizations(credential=credential)
    if len(organizations) == 1:
        return _done(
            request,
            [
                services.connection_attach_zoho(
                    credential=credential, organizations=organizations, region=region
                )
            ],
        )
    request.session["sync_choose"] = {
        "vendor": "zoho",
        "credential": credential.pk,
        "region": region,
    }
    return render(
        request,
        "sync/choose_accounts.html",
        {
            "title": "Choose the Zoho Books organisation",
            "kind": "organisation",
            "input_type": "radio",
            "action": reverse("sync:choose"),
            "accounts": [
                {"id": o["organization_id"], "name": o.get("name", "")} for o in organizations
            ],
        },
    )


# --- Xero ---------------------------------------------------------------------------------------
@staff_member_required
def xero_connect(request):
    _require_admin(request)
    state = secrets.token_urlsafe(32)
    verifier, challenge = oauth.pkce_pair()
    request.session["sync_oauth"] = {"vendor": "xero", "state": state, "verifier": verifier}
    redirect_uri = request.build_absolute_uri(reverse("sync:xero-callback"))
    return redirect(
        oauth.xero_authorize_url(state=state, code_challenge=challenge, redirect_uri=redirect_uri)
    )


@staff_member_required
def xero_callback(request):
    _require_admin(request)
    flow = request.session.pop("sync_oauth", None) or {}
    state = request.GET.get("state", "")
    if (
        flow.get("vendor") != "xero"
        or not state
        or not secrets.compare_digest(state, flow.get("state", ""))
    ):
        return HttpResponseBadRequest("The sign-in answer does not match this session (state).")
    if request.GET.get("error"):
        messages.error(request, f"Xero refused: {request.GET['error']}")
        return redirect("admin:sync_connection_changelist")
    try:
        tokens = oauth.xero_exchange_code(
            _client(),
            code=request.GET.get("code", ""),
            code_verifier=flow["verifier"],
            redirect_uri=request.build_absolute_uri(reverse("sync:xero-callback")),
        )
    except oauth.OAuthError as error:
        messages.error(request, f"Xero refused the code ({error.code}); try again.")
        return redirect("admin:sync_connection_changelist")
    credential = credential_create(vendor=Vendor.XERO, tokens=tokens)
    tenants = services.xero_tenants(credential=credential)
    if len(tenants) == 1:
        return _done(
            request, services.connection_attach_xero(credential=credential, tenants=tenants)
        )
    request.session["sync_choose"] = {"vendor": "xero", "credential": credential.pk}
    return render(
        request,
        "sync/choose_accounts.html",
        {
            "title": "Choose the Xero organisations",
            "kind": "organisations",
            "input_type": "checkbox",
            "action": reverse("sync:choose"),
            "accounts": [{"id": t["tenantId"], "name": t.get("tenantName", "")} for t in tenants],
        },
    )


@staff_member_required
def choose_accounts(request):
    """Second step when a login reaches several organisations: attach the chosen ones."""
    _require_admin(request)
    pending = request.session.get("sync_choose")
    if request.method != "POST" or not pending:
        return HttpResponseBadRequest("Nothing to choose.")
    credential = Credential.objects.get(pk=pending["credential"])
    chosen = request.POST.getlist("account")
    try:
        if pending["vendor"] == "zoho":
            connections = [
                services.connection_attach_zoho(
                    credential=credential,
                    organizations=services.zoho_organizations(credential=credential),
                    organization_id=(chosen or [""])[0],
                    region=pending["region"],
                )
            ]
        else:
            connections = services.connection_attach_xero(
                credential=credential,
                tenants=services.xero_tenants(credential=credential),
                tenant_ids=chosen,
            )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("admin:sync_connection_changelist")
    request.session.pop("sync_choose", None)
    return _done(request, connections)
