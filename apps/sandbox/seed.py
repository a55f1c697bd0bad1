"""Seed and reset the sandbox: Zoho organisations with Books and CRM data, and credentials.

`zoho_seed` is idempotent per organisation name: it tops records up to the sizes asked for and
hands out a fresh refresh token, so `sync connect zoho --refresh-token T --organization-id O`
can use its answer. `sandbox_reset` empties every sandbox table (Xero's too, when present).

The demo OAuth clients are registered with exact redirect URIs: Syncdesk's OAuth callbacks
(`ZOHO_CALLBACK_PATH`, `XERO_CALLBACK_PATH`, the paths of apps/sync/urls.py under /sync/) on each
callback base URL given (default: the origin of SANDBOX_BASE_URL, the site serving the demo).
The paths are written out, not reversed, because the sandbox shares no code with sync.
"""

import random
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.sandbox.models import (
    ConcurrencySlot,
    FaultPlan,
    RateCounter,
    SandboxClock,
    WebhookDelivery,
)
from apps.sandbox.zoho import accounts, books, books_settings
from apps.sandbox.zoho.models import (
    BooksContact,
    BooksItem,
    BooksTax,
    BooksWebhook,
    CrmRecord,
    ZohoClient,
    ZohoOrganization,
)

FIRST_NAMES = [
    "Thandi", "Pieter", "Aisha", "Johan", "Lerato", "Sipho", "Naledi", "Ruan", "Fatima",
    "Kagiso", "Annelie", "Themba", "Priya", "Werner", "Zanele", "Musa", "Carla", "Bongani",
]  # fmt: skip
LAST_NAMES = [
    "Nkosi", "van der Merwe", "Patel", "Botha", "Mokoena", "Dlamini", "Pillay", "Smit",
    "Khumalo", "Naidoo", "Venter", "Mahlangu", "Fourie", "Ndlovu", "Steyn", "Molefe",
]  # fmt: skip
SERVICES = [
    ("Call-out fee", "Travel to site and first half hour", "450.00", "Each"),
    ("Labour", "Technician labour", "520.00", "Hour"),
    ("Geyser service", "Annual geyser inspection and service", "1250.00", "Each"),
    ("Network audit", "Small office network audit", "3400.00", "Each"),
    ("Support retainer", "Monthly support retainer", "2800.00", "Month"),
    ("Site survey", "On-site survey and written report", "1800.00", "Each"),
    ("Emergency surcharge", "After-hours emergency surcharge", "650.00", "Each"),
    ("Consulting", "Consulting time", "950.00", "Hour"),
]
DEAL_STAGES = ["Qualification", "Needs Analysis", "Proposal/Price Quote", "Closed Won"]


ZOHO_CALLBACK_PATH = "/sync/oauth/zoho/callback/"
XERO_CALLBACK_PATH = "/sync/oauth/xero/callback/"


def default_callback_bases() -> list[str]:
    """The origin of SANDBOX_BASE_URL: where the demo's web server (and its callbacks) live."""
    parts = urlsplit(settings.SANDBOX_BASE_URL)
    return [f"{parts.scheme}://{parts.netloc}"]


def callback_uris(path: str, bases: list[str] | None = None) -> list[str]:
    return [f"{base.rstrip('/')}{path}" for base in (bases or default_callback_bases())]


def _person(index: int) -> tuple[str, str]:
    return FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[(index // 3) % len(LAST_NAMES)]


def contacts_top_up(organization: ZohoOrganization, count: int) -> int:
    """Add Books contacts until the organisation has `count`; returns how many were added."""
    have = BooksContact.objects.filter(organization=organization).count()
    moment = books.now_for(organization)
    rows = []
    for index in range(have, count):
        first, last = _person(index)
        rows.append(
            BooksContact(
                organization=organization,
                contact_name=f"{first} {last} {index + 1:05d}",
                company_name=f"{last} Holdings {index + 1:05d}" if index % 3 == 0 else "",
                email=f"{first}.{last.replace(' ', '')}.{index + 1}@example.test".lower(),
                phone=f"+27 21 555 {index % 10000:04d}",
                first_name=first,
                last_name=last,
                currency_code=organization.currency_code,
                billing_address={"address": f"{index + 1} Long Street", "city": "Cape Town"},
                created_time=moment,
                last_modified_time=moment,
            )
        )
    BooksContact.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def items_top_up(organization: ZohoOrganization, count: int) -> int:
    have = BooksItem.objects.filter(organization=organization).count()
    moment = books.now_for(organization)
    books_settings.settings_seed(organization)
    vat = BooksTax.objects.filter(organization=organization, tax_name="VAT").first()
    rows = []
    for index in range(have, count):
        name, description, rate, unit = SERVICES[index % len(SERVICES)]
        rows.append(
            BooksItem(
                organization=organization,
                name=name if index < len(SERVICES) else f"{name} {index + 1}",
                description=description,
                rate=Decimal(rate),
                unit=unit,
                sku=f"SVC-{index + 1:04d}",
                tax_id=vat.tax_id if vat else "",
                tax_name="VAT",
                tax_percentage=Decimal("15"),
                created_time=moment,
                last_modified_time=moment,
            )
        )
    BooksItem.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def crm_top_up(organization: ZohoOrganization, module: str, count: int) -> int:
    have = CrmRecord.objects.filter(organization=organization, module=module).count()
    moment = books.now_for(organization)
    rows = []
    for index in range(have, count):
        first, last = _person(index + 7)
        if module == "Contacts":
            data = {
                "First_Name": first,
                "Last_Name": last,
                "Email": f"crm.{first}.{index + 1}@example.test".lower(),
                "Phone": f"+27 11 555 {index % 10000:04d}",
            }
        else:
            data = {
                "Deal_Name": f"{last} project {index + 1}",
                "Stage": DEAL_STAGES[index % len(DEAL_STAGES)],
                "Amount": 1500 + 250 * (index % 20),
                "Closing_Date": (moment.date() + timedelta(days=30 + index % 60)).isoformat(),
            }
        rows.append(
            CrmRecord(
                organization=organization,
                module=module,
                data=data,
                created_time=moment,
                modified_time=moment,
            )
        )
    CrmRecord.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _documents(organization: ZohoOrganization, count: int) -> None:
    """A few estimates, invoices and payments so every Books list has something in it."""
    if books.BooksEstimate.objects.filter(organization=organization).exists():
        return
    customers = list(BooksContact.objects.filter(organization=organization).order_by("id")[:count])
    items = list(BooksItem.objects.filter(organization=organization).order_by("id")[:4])
    if not customers or not items:
        return
    chooser = random.Random(organization.organization_id)  # noqa: S311 (demo data, not secrets)
    for index, customer in enumerate(customers):
        lines = [
            {"item_id": item.item_id, "quantity": chooser.randint(1, 4)}
            for item in chooser.sample(items, k=min(2, len(items)))
        ]
        estimate = books.estimate_create(
            organization=organization,
            data={"customer_id": customer.contact_id, "line_items": lines},
        )
        if index % 3 == 0:
            continue
        books.estimate_mark(estimate=estimate, status="sent")
        if index % 3 == 1:
            continue
        books.estimate_mark(estimate=estimate, status="accepted")
        invoice = books.invoice_create(
            organization=organization,
            data={
                "customer_id": customer.contact_id,
                "estimate_id": estimate.estimate_id,
                "line_items": lines,
                "payment_terms": 14,
            },
        )
        books.invoice_mark(invoice=invoice, status="sent")
        half = (invoice.total / 2).quantize(Decimal("0.01"))
        books.payment_create(
            organization=organization,
            data={
                "customer_id": customer.contact_id,
                "payment_mode": "banktransfer",
                "amount": str(half),
                "date": timezone.localdate().isoformat(),
                "invoices": [{"invoice_id": invoice.invoice_id, "amount_applied": str(half)}],
            },
        )


@transaction.atomic
def zoho_seed(
    *,
    org_name: str = "Sandbox Trading (Pty) Ltd",
    contacts: int = 50,
    items: int = 8,
    documents: int = 6,
    crm_contacts: int = 20,
    deals: int = 10,
    client_id: str = "",
    client_secret: str = "",
    books_webhook_url: str = "",
    callback_bases: list[str] | None = None,
) -> dict:
    organization = ZohoOrganization.objects.filter(name=org_name).order_by("pk").first()
    if organization is None:
        organization = accounts.organization_create(
            name=org_name, currency_code=settings.DEFAULT_CURRENCY
        )
    contacts_top_up(organization, contacts)
    items_top_up(organization, items)
    crm_top_up(organization, "Contacts", crm_contacts)
    crm_top_up(organization, "Deals", deals)
    _documents(organization, documents)
    if books_webhook_url:
        secret = settings.ZOHO_BOOKS_WEBHOOK_SECRET or ""
        for entity in ("contact", "item", "estimate", "invoice", "customer_payment"):
            BooksWebhook.objects.update_or_create(
                organization=organization,
                entity=entity,
                url=books_webhook_url,
                defaults={
                    "webhook_name": f"Syncdesk {entity}",
                    # The documented pattern: a shared token in a custom header (§2.9).
                    "headers": [{"param_name": "X-Zoho-Webhook-Token", "param_value": secret}]
                    if secret
                    else [],
                    "secret": secret if secret.isalnum() and 12 <= len(secret) <= 50 else "",
                },
            )
    credentials = accounts.sandbox_credentials(
        organization=organization,
        client_id=client_id or settings.ZOHO_CLIENT_ID,
        client_secret=client_secret or settings.ZOHO_CLIENT_SECRET,
        redirect_uris=callback_uris(ZOHO_CALLBACK_PATH, callback_bases),
    )
    return {"organization_name": organization.name, **credentials}


def zoho_token(*, org_name: str = "", client_id: str = "", client_secret: str = "") -> dict:
    """A fresh refresh token for an existing organisation (the first one when no name is given)."""
    organizations = ZohoOrganization.objects.order_by("pk")
    organization = (organizations.filter(name=org_name) if org_name else organizations).first()
    if organization is None:
        raise ValueError("No Zoho organisation in the sandbox: run `manage.py sandbox seed` first.")
    client = ZohoClient.objects.filter(client_id=client_id).first() if client_id else None
    return accounts.sandbox_credentials(
        organization=organization,
        client_id=client.client_id if client else (client_id or settings.ZOHO_CLIENT_ID),
        client_secret=client.client_secret
        if client
        else (client_secret or settings.ZOHO_CLIENT_SECRET),
    )


@transaction.atomic
def sandbox_reset() -> None:
    """Remove every emulated record, token, fault plan, clock, counter and queued webhook."""
    # Documents protect their customers and invoices; remove them leaf first.
    books.BooksPaymentApplication.objects.all().delete()
    for model in (books.BooksPayment, books.BooksInvoice, books.BooksEstimate):
        model.objects.all().delete()
    ZohoOrganization.objects.all().delete()
    ZohoClient.objects.all().delete()
    for model in (ConcurrencySlot, FaultPlan, RateCounter, SandboxClock, WebhookDelivery):
        model.objects.all().delete()


def tables_analyze() -> None:
    """Refresh the planner's statistics after a bulk seed (and VACUUM on PostgreSQL, so the
    visibility map lets list pages walk an index without visiting the table).

    Without it a freshly filled table has no statistics: PostgreSQL then reads and sorts every
    row of the organisation for each page instead of walking the (organisation, name, id) index.
    VACUUM cannot run inside a transaction; there (tests) only ANALYZE runs.
    """
    tables = [
        model._meta.db_table
        for config in apps.get_app_configs()
        if config.label in ("sandbox", "sandbox_xero")
        for model in config.get_models()
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            for table in tables:
                cursor.execute(f"{command} {quote(table)}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


def webhook_schedule_ensure() -> None:
    """Retry due webhook deliveries every minute (django-q schedule, applied idempotently)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="sandbox: webhook retries",
        defaults={
            "func": "apps.sandbox.webhooks.deliver_due_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
