"""Reads of invoices, payments and commission bills; object rules (an agent's own bills)."""

from django.db.models import QuerySet

from apps.invoices.models import CommissionBill, Invoice, Payment


def invoice_list() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("client", "assignee")


def invoice_get_for_print(*, invoice_id: int) -> Invoice:
    return (
        Invoice.objects.select_related("client", "quote")
        .prefetch_related("lines", "payments")
        .get(pk=invoice_id)
    )


def payment_list() -> QuerySet[Payment]:
    return Payment.objects.select_related("invoice", "invoice__client", "recorded_by")


def commission_bill_list(*, user) -> QuerySet[CommissionBill]:
    """Admins (and superusers) see every bill; anyone else only their own."""
    bills = CommissionBill.objects.select_related("agent", "invoice")
    if user.is_superuser or user.has_perm("invoices.change_commissionbill"):
        return bills
    return bills.filter(agent=user)


def invoice_list_summary() -> QuerySet[Invoice]:
    """Invoices for a list that names each client but shows no one else: one join, the client's
    name only (the API's list: 100 rows a page at 100,000 invoices)."""
    return Invoice.objects.select_related("client").only(
        *(field.attname for field in Invoice._meta.concrete_fields), "client__name"
    )
