"""Sandbox controls, not part of Xero's API: webhooks on demand, and what tests and benchmarks need.

Staff of this site only (signed in; CSRF-checked like any other form post), since they make the
server send requests or change an organisation's books.
"""

import uuid
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from apps.sandbox import access
from apps.sandbox.xero import services, webhooks
from apps.sandbox.xero.models import XeroApp, XeroContact, XeroInvoice, XeroTenant
from apps.sandbox.xero.responses import json_answer, not_found

# --- sandbox controls (not Xero's API): webhooks on demand --------------------------------------
# Staff of this site only (signed in; CSRF-checked like any other form post), since they make
# the server send requests.

REPLAY_MAX_MINUTES = 7 * 24 * 60


def _control_error(field: str, message: str) -> HttpResponse:
    return json_answer({"error": message, "field": field}, status=400)


@require_http_methods(["POST"])
def intent_to_receive_view(request: HttpRequest, client_id: str) -> HttpResponse:
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    app = XeroApp.objects.filter(client_id=client_id).first()
    if app is None:
        return not_found()
    try:
        report = webhooks.intent_to_receive(app=app)
    except ValueError as error:
        return json_answer({"error": str(error)}, status=400)
    return json_answer(
        {
            "passed": report.passed,
            "attempts": [
                {
                    "signed_correctly": a.signed_correctly,
                    "status_code": a.status_code,
                    "passed": a.passed,
                }
                for a in report.attempts
            ],
        }
    )


@require_http_methods(["POST"])
def events_replay_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Send UPDATE events for a tenant's contacts and invoices changed in the last `minutes`
    (a whole number from 1 to a week's minutes; 60 when not given)."""
    refusal = access.staff_refusal(request, redirect=False)
    if refusal is not None:
        return refusal
    try:
        tenant = XeroTenant.objects.filter(tenant_id=uuid.UUID(tenant_id)).first()
    except ValueError:
        tenant = None
    if tenant is None:
        return not_found()
    raw = (request.POST.get("minutes") or "60").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= REPLAY_MAX_MINUTES:
        return _control_error(
            "minutes", f"minutes must be a whole number from 1 to {REPLAY_MAX_MINUTES}."
        )
    minutes = int(raw)
    since = services.tenant_now(tenant) - timedelta(minutes=minutes)
    with transaction.atomic():
        queued = webhooks.events_replay(
            tenant=tenant,
            category="CONTACT",
            resource_ids=list(tenant_records(tenant, "contacts", since)),
        ) + webhooks.events_replay(
            tenant=tenant,
            category="INVOICE",
            resource_ids=list(tenant_records(tenant, "invoices", since)),
        )
    return json_answer({"queued": queued})


def tenant_records(tenant: XeroTenant, kind: str, since):
    if kind == "contacts":
        return XeroContact.objects.filter(tenant=tenant, updated_at__gte=since).values_list(
            "contact_id", flat=True
        )
    return XeroInvoice.objects.filter(tenant=tenant, updated_at__gte=since).values_list(
        "invoice_id", flat=True
    )
