"""Reads for the /sandbox/ page: what each emulated Zoho organisation holds, and its faults."""

from django.db.models import Count, Q

from apps.sandbox.models import FaultPlan, SandboxClock, WebhookDelivery
from apps.sandbox.zoho.models import (
    BooksContact,
    BooksInvoice,
    ZohoOrganization,
)

RECENT = 5


def zoho_overview() -> list[dict]:
    """One row per organisation: record counts, the latest contacts and invoices, faults, clock."""
    organizations = ZohoOrganization.objects.order_by("name").annotate(
        contacts=Count("bookscontact", distinct=True),
        items=Count("booksitem", distinct=True),
        estimates=Count("booksestimate", distinct=True),
        invoices=Count("booksinvoice", distinct=True),
        payments=Count("bookspayment", distinct=True),
    )
    crm_counts = {
        row["pk"]: row
        for row in ZohoOrganization.objects.values("pk").annotate(
            crm_contacts=Count("crmrecord", filter=Q(crmrecord__module="Contacts")),
            deals=Count("crmrecord", filter=Q(crmrecord__module="Deals")),
            channels=Count("crmchannel", distinct=True),
        )
    }
    plans = {plan.account: plan for plan in FaultPlan.objects.filter(vendor="zoho")}
    clocks = {row.account: row for row in SandboxClock.objects.filter(vendor="zoho")}
    webhooks = {
        row["account"]: row
        for row in WebhookDelivery.objects.filter(vendor="zoho")
        .values("account")
        .annotate(
            pending=Count("pk", filter=Q(status="pending")),
            delivered=Count("pk", filter=Q(status="delivered")),
            failed=Count("pk", filter=Q(status="failed")),
        )
    }
    rows = []
    for organization in organizations:
        account = organization.organization_id
        rows.append(
            {
                "organization": organization,
                "crm": crm_counts.get(organization.pk, {}),
                "recent_contacts": BooksContact.objects.filter(organization=organization).order_by(
                    "-last_modified_time", "-id"
                )[:RECENT],
                "recent_invoices": BooksInvoice.objects.filter(organization=organization)
                .select_related("customer")
                .order_by("-last_modified_time", "-id")[:RECENT],
                "faults": plans.get(account),
                "clock": clocks.get(account),
                "webhooks": webhooks.get(account, {}),
            }
        )
    return rows
