"""Connecting Zoho from the admin: the data centre, `state`, and the accounts server the callback
names (only a known Zoho server, or our configured one, is given our secret)."""

import secrets

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse

from apps.sync.engine.connections import plain_client
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

from .accounts import (
    VENDOR,
    ZOHO_DATA_CENTRES,
    zoho_accounts_server,
    zoho_authorize_url,
    zoho_exchange_code,
)
from .connect import connection_attach_zoho, zoho_organizations, zoho_with_crm

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


def _allowed_accounts_servers() -> set[str]:
    servers = {server for server, _ in ZOHO_DATA_CENTRES.values()}
    servers.add(settings.ZOHO_ACCOUNTS_URL.rstrip("/"))
    return servers


@staff_member_required
def zoho_connect(request):
    require_admin(request)
    if request.method == "POST":
        region = request.POST.get("region", "com")
        if region not in dict(REGIONS):
            return HttpResponseBadRequest("Unknown data centre.")
        state = secrets.token_urlsafe(32)
        request.session["sync_oauth"] = {"vendor": VENDOR, "state": state, "region": region}
        redirect_uri = request.build_absolute_uri(reverse("sync:zoho-callback"))
        return redirect(zoho_authorize_url(region=region, state=state, redirect_uri=redirect_uri))
    return render(request, "sync/connect_zoho.html", {"regions": REGIONS, "title": "Connect Zoho"})


@staff_member_required
def zoho_callback(request):
    flow, answer = callback_flow(request, VENDOR, "Zoho")
    if answer is not None:
        return answer
    # The code must be exchanged at the accounts server of the user's data centre — the one the
    # callback names — but only a known Zoho server (or our configured one) gets our secret.
    accounts_server = (
        request.GET.get("accounts-server") or zoho_accounts_server(flow["region"])
    ).rstrip("/")
    if accounts_server not in _allowed_accounts_servers():
        return HttpResponseBadRequest("Unknown Zoho accounts server.")
    # `location` names the user's data centre; it is stored on the connection and picks the API
    # host, so only a known one is taken (Zoho says "us" for the .com centre).
    location = request.GET.get("location", "")
    if location and location not in ZOHO_DATA_CENTRES:
        return HttpResponseBadRequest("Unknown Zoho data centre in 'location'.")
    region = {"us": "com"}.get(location, location) or flow["region"]
    try:
        tokens = zoho_exchange_code(
            plain_client(),
            accounts_server=accounts_server,
            code=request.GET.get("code", ""),
            redirect_uri=request.build_absolute_uri(reverse("sync:zoho-callback")),
        )
    except OAuthError as error:
        return code_refused(request, "Zoho", error)
    except VendorError as error:
        return vendor_unreachable(request, "Zoho", error)
    credential = credential_create(vendor=VENDOR, tokens=tokens, accounts_server=accounts_server)
    try:
        organizations = zoho_organizations(credential=credential)
    except VendorError as error:
        return vendor_unreachable(request, "Zoho Books", error)
    if len(organizations) == 1:
        books = connection_attach_zoho(
            credential=credential, organizations=organizations, region=region
        )
        return done(request, zoho_with_crm(books))
    request.session["sync_choose"] = {
        "vendor": VENDOR,
        "credential": credential.pk,
        "region": region,
    }
    return choose_page(
        request,
        title="Choose the Zoho Books organisation",
        kind="organisation",
        input_type="radio",
        accounts=[{"id": o["organization_id"], "name": o.get("name", "")} for o in organizations],
    )


urlpatterns = [
    path("connect/zoho/", zoho_connect, name="connect-zoho"),
    path("oauth/zoho/callback/", zoho_callback, name="zoho-callback"),
]
