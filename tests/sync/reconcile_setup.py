"""Fast set-up for reconciliation tests: many invoices that are already in step, written
straight into both databases (ours, and the sandbox's as if pushed long ago) with their
bindings, in a few bulk INSERTs instead of thousands of pushes."""

import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.invoices.models import Invoice
from apps.sandbox.zoho.models import BooksContact, BooksInvoice, ZohoOrganization
from apps.sync.models import Binding, BindingStatus, Connection, Entity


def invoices_in_step(
    *, connection: Connection, client, customer: BooksContact, count: int, prefix: str = "INV-R"
) -> list[Invoice]:
    """`count` sent invoices of `client`, each with its twin in the sandbox's Books (customer
    `customer`) and a synced binding; totals vary so a mix-up would show."""
    today = timezone.localdate()
    organization = ZohoOrganization.objects.get(organization_id=connection.remote_account_id)
    now = timezone.now()
    invoices = []
    for n in range(count):
        total = Decimal(100 + n % 97) + Decimal("0.50")
        invoices.append(
            Invoice(
                number=f"{prefix}{n:05d}",
                client=client,
                status=Invoice.Status.SENT,
                issue_date=today,
                due_date=today + datetime.timedelta(days=30),
                currency=organization.currency_code,
                subtotal=total,
                discount_total=Decimal("0"),
                tax_total=Decimal("0"),
                total=total,
                amount_paid=Decimal("0"),
                balance=total,
                sent_at=now,
                emailed_at=now,
            )
        )
    invoices = Invoice.objects.bulk_create(invoices, batch_size=500)
    twins = BooksInvoice.objects.bulk_create(
        [
            BooksInvoice(
                organization=organization,
                customer=customer,
                invoice_number=f"BK-{n:06d}",
                reference_number=invoice.number,
                date=invoice.issue_date,
                due_date=invoice.due_date,
                status=BooksInvoice.Status.SENT,
                currency_code=invoice.currency,
                sub_total=invoice.total,
                total=invoice.total,
                balance=invoice.total,
                created_time=now,
                last_modified_time=now,
            )
            for n, invoice in enumerate(invoices)
        ],
        batch_size=500,
    )
    content_type = ContentType.objects.get_for_model(Invoice)
    Binding.objects.bulk_create(
        [
            Binding(
                connection=connection,
                entity=Entity.INVOICES,
                content_type=content_type,
                object_id=invoice.pk,
                remote_id=twin.invoice_id,
                remote_number=twin.invoice_number,
                status=BindingStatus.SYNCED,
                synced_at=now,
                base_snapshot={"status": "sent", "total": float(invoice.total)},
            )
            for invoice, twin in zip(invoices, twins, strict=True)
        ],
        batch_size=500,
    )
    return invoices
