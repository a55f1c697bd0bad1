"""Every write to an invoice: create (directly or from a quote), lines, send, payments, void,
overdue, reminders and the commission bill a paid invoice earns its assignee.

Atomic, keyword-only, refusals raise ValidationError naming the field and change nothing;
e-mails go out after commit through tasks that take ids.
"""

import datetime
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.core.money import ZERO, round_money
from apps.invoices.models import (
    CommissionBill,
    Invoice,
    InvoiceLine,
    InvoiceReminder,
    Payment,
)
from apps.quotes.documents import (
    LINE_EDITABLE_FIELDS,
    apply_totals,
    check_currency,
    check_decimal,
    check_discount,
    line_apply_changes,
    line_changes_check,
    line_figures,
    line_values_from,
    line_values_new,
    set_document_totals,
    totals_for,
)
from apps.quotes.models import DiscountType, Quote
from apps.quotes.numbering import INVOICE, sequence_next
from apps.quotes.services import (
    EMAIL_RETRY_AFTER,
    document_attachments,
    email_send,
    refuse_superseded,
    resend_each,
)

logger = logging.getLogger(__name__)

DEFAULT_PAYMENT_TERMS_DAYS = 30
REMINDER_STAGES = tuple(stage.value for stage in InvoiceReminder.Stage)  # 7, 14, 30
INVOICE_EDITABLE_FIELDS = (
    "client",
    "issue_date",
    "due_date",
    "currency",
    "discount_type",
    "discount_value",
    "notes",
    "terms",
    "assignee",
)


def _enqueue(func: str, *args) -> None:
    from django_q.tasks import async_task

    async_task(func, *args)


def _require_status(invoice: Invoice, allowed: tuple[str, ...], action: str) -> None:
    if invoice.status not in allowed:
        wanted = " or ".join(Invoice.Status(status).label.lower() for status in allowed)
        raise ValidationError(
            {
                "status": f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
                f"only a {wanted} invoice can be {action}."
            }
        )


def _lock(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("client", "assignee")
        .get(pk=invoice.pk)
    )


def _recalculate(invoice: Invoice) -> None:
    before = (invoice.subtotal, invoice.discount_total, invoice.tax_total, invoice.total)
    apply_totals(invoice, list(invoice.lines.order_by("position", "id")))
    invoice.balance = invoice.total - invoice.amount_paid
    if (invoice.subtotal, invoice.discount_total, invoice.tax_total, invoice.total) != before:
        invoice.save(
            update_fields=[
                "subtotal",
                "discount_total",
                "tax_total",
                "total",
                "balance",
                "updated_at",
            ]
        )


def _check_dates(issue_date: datetime.date, due_date: datetime.date) -> None:
    if due_date < issue_date:
        raise ValidationError({"due_date": "The due date cannot be before the issue date."})


@transaction.atomic
def invoice_create(
    *,
    client: Client,
    created_by=None,
    assignee=None,
    issue_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    currency: str | None = None,
    discount_type: str = DiscountType.AMOUNT,
    discount_value: object = ZERO,
    notes: str = "",
    terms: str = "",
    lines: list[dict] | None = None,
    quote: Quote | None = None,
) -> Invoice:
    """A draft invoice with a new number (lines are optional: add them later on a draft)."""
    from django.conf import settings

    if client is None:
        raise ValidationError({"client": "An invoice needs a client."})
    if not client.active:
        raise ValidationError({"client": f"The client '{client}' is inactive."})
    issue_date = issue_date or timezone.localdate()
    due_date = due_date or issue_date + datetime.timedelta(days=DEFAULT_PAYMENT_TERMS_DAYS)
    _check_dates(issue_date, due_date)
    invoice = Invoice(
        client=client,
        quote=quote,
        issue_date=issue_date,
        due_date=due_date,
        currency=check_currency(currency or settings.DEFAULT_CURRENCY),
        discount_type=discount_type,
        discount_value=check_discount(discount_type, discount_value),
        notes=notes,
        terms=terms,
        assignee=assignee,
        created_by=created_by,
    )
    prepared = [
        {"position": position, **line} for position, line in enumerate(lines or [], start=1)
    ]
    checked = [line_values_from(line) | {"position": line["position"]} for line in prepared]
    # Refuse a discount larger than the lines before a number is taken.
    totals = totals_for(invoice, [InvoiceLine(**values) for values in checked])
    set_document_totals(invoice, totals)
    invoice.balance = invoice.total
    invoice.number = sequence_next(kind=INVOICE)
    invoice.save()
    for values, figures in zip(checked, totals.lines, strict=True):
        InvoiceLine.objects.create(invoice=invoice, **values, **line_figures(figures))
    return invoice


def quote_seller(quote: Quote):
    """Who sold `quote`: the creator of its first revision, else its ticket's assignee, else None.

    The first revision's creator, because revising is editing: an agent who revises a colleague's
    sent quote does not take over the sale. The ticket's assignee when the quote has no creator
    (one made by an import or a sync).
    """
    original = quote
    while original.revision_of_id is not None:
        original = Quote.objects.only("created_by", "revision_of").get(pk=original.revision_of_id)
    if original.created_by_id is not None:
        return original.created_by
    if quote.ticket_id is not None:
        return quote.ticket.assignee
    return None


@transaction.atomic
def invoice_create_from_quote(
    *, quote: Quote, created_by=None, assignee=None, due_date: datetime.date | None = None
) -> Invoice:
    """An accepted quote becomes one draft invoice with the same lines and discount.

    The invoice is credited (its assignee, who earns the commission) to `assignee` when given,
    else to the quote's seller (quote_seller): never to whoever happens to convert it.
    """
    quote = Quote.objects.select_for_update(of=("self",)).select_related("client").get(pk=quote.pk)
    refuse_superseded(quote, "invoiced", field="quote")
    if quote.status != Quote.Status.ACCEPTED:
        raise ValidationError(
            {
                "quote": f"Quote {quote.number} is {quote.get_status_display().lower()}; "
                "only an accepted quote can be invoiced."
            }
        )
    existing = Invoice.objects.filter(quote=quote).only("number").first()
    if existing is not None:
        raise ValidationError(
            {"quote": f"Quote {quote.number} is already invoiced as {existing.number}."}
        )
    lines = [
        {field: getattr(line, field) for field in LINE_EDITABLE_FIELDS}
        for line in quote.lines.order_by("position", "id")
    ]
    for line in lines:
        # A retired service still invoices what the client accepted: the copied values stand.
        if line["service"] is not None and not line["service"].active:
            line["service"] = None
    return invoice_create(
        client=quote.client,
        created_by=created_by,
        assignee=assignee or quote_seller(quote),
        due_date=due_date,
        currency=quote.currency,
        discount_type=quote.discount_type,
        discount_value=quote.discount_value,
        notes=quote.notes,
        terms=quote.terms,
        lines=lines,
        quote=quote,
    )


@transaction.atomic
def invoice_update(*, invoice: Invoice, **changes) -> Invoice:
    unknown = set(changes) - set(INVOICE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    invoice = _lock(invoice)
    _require_status(invoice, (Invoice.Status.DRAFT,), "changed")
    for field, value in changes.items():
        setattr(invoice, field, value)
    invoice.currency = check_currency(invoice.currency)
    invoice.discount_value = check_discount(invoice.discount_type, invoice.discount_value)
    if not invoice.client.active:
        raise ValidationError({"client": f"The client '{invoice.client}' is inactive."})
    _check_dates(invoice.issue_date, invoice.due_date)
    apply_totals(invoice, list(invoice.lines.order_by("position", "id")))
    invoice.balance = invoice.total - invoice.amount_paid
    invoice.save()
    return invoice


@transaction.atomic
def invoice_line_add(
    *,
    invoice: Invoice,
    service: Service | None = None,
    name: str | None = None,
    description: str | None = None,
    quantity: object = Decimal("1"),
    rate: object = None,
    tax_rate: object = None,
    position: int | None = None,
) -> InvoiceLine:
    invoice = _lock(invoice)
    _require_status(invoice, (Invoice.Status.DRAFT,), "edited")
    values = line_values_new(
        document=invoice,
        service=service,
        name=name,
        description=description,
        quantity=quantity,
        rate=rate,
        tax_rate=tax_rate,
        position=position,
    )
    line = InvoiceLine.objects.create(invoice=invoice, **values)
    _recalculate(invoice)
    line.refresh_from_db()
    return line


@transaction.atomic
def invoice_line_update(*, line: InvoiceLine, **changes) -> InvoiceLine:
    line_changes_check(changes)
    invoice = _lock(line.invoice)
    _require_status(invoice, (Invoice.Status.DRAFT,), "edited")
    line = InvoiceLine.objects.get(pk=line.pk, invoice=invoice)
    line_apply_changes(line, changes, retired_service_given_is_refused=False)
    _recalculate(invoice)
    line.refresh_from_db()
    return line


@transaction.atomic
def invoice_line_remove(*, line: InvoiceLine) -> None:
    invoice = _lock(line.invoice)
    _require_status(invoice, (Invoice.Status.DRAFT,), "edited")
    InvoiceLine.objects.filter(pk=line.pk, invoice=invoice).get().delete()
    _recalculate(invoice)


@transaction.atomic
def invoice_send(*, invoice: Invoice, sent_by=None, email_client: bool = True) -> Invoice:
    """Draft -> sent; e-mails the client after commit.

    `email_client=False` records an invoice issued by other means (approved in the books the
    business keeps elsewhere, which deliver it themselves): nothing is e-mailed from here, and
    `emailed_at` is set so the retry sweep does not mail it either.
    """
    invoice = _lock(invoice)
    _require_status(invoice, (Invoice.Status.DRAFT,), "sent")
    if email_client and not invoice.client.email:
        raise ValidationError(
            {"client": f"The client '{invoice.client}' has no e-mail address to send to."}
        )
    if not invoice.lines.exists():
        raise ValidationError({"lines": f"Invoice {invoice.number} has no lines; add one first."})
    if invoice.total <= 0:
        raise ValidationError({"total": f"Invoice {invoice.number} totals zero; nothing to bill."})
    invoice.status = Invoice.Status.SENT
    invoice.sent_at = timezone.now()
    if not email_client:
        invoice.emailed_at = invoice.sent_at
        invoice.save(update_fields=["status", "sent_at", "emailed_at", "updated_at"])
        return invoice
    invoice.save(update_fields=["status", "sent_at", "updated_at"])
    invoice_id = invoice.pk
    transaction.on_commit(lambda: _enqueue("apps.invoices.tasks.invoice_email_task", invoice_id))
    return invoice


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: object,
    date: datetime.date | None = None,
    mode: str = Payment.Mode.BANK_TRANSFER,
    reference: str = "",
    recorded_by=None,
) -> Payment:
    """A payment against an open invoice; partial allowed, more than the balance refused."""
    invoice = _lock(invoice)
    if invoice.status not in Invoice.OPEN_STATUSES:
        raise ValidationError(
            {
                "invoice": f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
                "payments are recorded only on a sent, partially paid or overdue invoice."
            }
        )
    amount = check_decimal("amount", amount)
    if amount <= 0:
        raise ValidationError({"amount": "A payment must be more than zero."})
    if round_money(amount, invoice.currency) != amount:
        raise ValidationError({"amount": f"{invoice.currency} amounts have at most two places."})
    if amount > invoice.balance:
        raise ValidationError(
            {
                "amount": f"A payment of {amount} {invoice.currency} exceeds the balance due of "
                f"{invoice.balance} {invoice.currency} on invoice {invoice.number}."
            }
        )
    if mode not in Payment.Mode.values:
        raise ValidationError({"mode": f"Unknown payment mode '{mode}'."})
    date = date or timezone.localdate()
    if date > timezone.localdate():
        raise ValidationError({"date": "A payment cannot be dated in the future."})
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        date=date,
        mode=mode,
        reference=reference,
        recorded_by=recorded_by,
    )
    invoice.amount_paid += amount
    invoice.balance = invoice.total - invoice.amount_paid
    if invoice.balance == 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = timezone.now()
    elif invoice.status != Invoice.Status.OVERDUE:
        invoice.status = Invoice.Status.PARTIALLY_PAID
    invoice.save(update_fields=["amount_paid", "balance", "status", "paid_at", "updated_at"])
    if invoice.status == Invoice.Status.PAID:
        commission_bill_create_for_invoice(invoice=invoice)
    return payment


@transaction.atomic
def payment_delete(*, payment: Payment, deleted_by=None, reason: str = "") -> Invoice:
    """Un-record a payment that was never received (deleted in the books, a bounced cheque):
    the row goes (its history keeps who, when and why), the invoice is owed it again and its
    status follows (paid -> partially paid, sent or overdue).

    A paid invoice's commission was earned on money now missing: a pending bill goes with
    it (a new one is made when the invoice is paid again); a bill already paid to the agent
    refuses the deletion, since taking it back is a person's decision. Returns the invoice.
    """
    invoice = _lock(payment.invoice)
    payment = Payment.objects.select_for_update().filter(pk=payment.pk, invoice=invoice).first()
    if payment is None:
        raise ValidationError({"payment": "This payment no longer exists."})
    bill = CommissionBill.objects.filter(invoice=invoice).first()
    if bill is not None and bill.status == CommissionBill.Status.PAID:
        raise ValidationError(
            {
                "payment": f"The commission on invoice {invoice.number} was already paid to "
                f"{bill.agent}; its payment of {payment.amount} {invoice.currency} cannot be "
                "deleted automatically."
            }
        )
    if bill is not None:
        bill._change_reason = f"payment of {payment.amount} deleted"[:100]
        bill.delete()
    payment._history_user = deleted_by
    payment._change_reason = (reason or "deleted")[:100]
    payment.delete()
    invoice.amount_paid -= payment.amount
    invoice.balance = invoice.total - invoice.amount_paid
    invoice.paid_at = None
    if invoice.status != Invoice.Status.OVERDUE:
        if invoice.due_date < timezone.localdate():
            invoice.status = Invoice.Status.OVERDUE
        elif invoice.amount_paid > 0:
            invoice.status = Invoice.Status.PARTIALLY_PAID
        else:
            invoice.status = Invoice.Status.SENT
    invoice.save(update_fields=["amount_paid", "balance", "status", "paid_at", "updated_at"])
    return invoice


def commission_bill_create_for_invoice(*, invoice: Invoice) -> CommissionBill | None:
    """The assignee's commission on a paid invoice (once); none without an assignee or a rate.

    The commission is the agent's rate on what the business earned: the subtotal after the
    document discount and before tax (tax is collected for the revenue service, not earned),
    rounded half up to the currency.
    """
    agent = invoice.assignee
    if invoice.status != Invoice.Status.PAID or agent is None or not agent.commission_rate:
        return None
    existing = CommissionBill.objects.filter(invoice=invoice).first()
    if existing is not None:
        return existing
    return CommissionBill.objects.create(
        agent=agent,
        invoice=invoice,
        rate=agent.commission_rate,
        amount=round_money(
            (invoice.subtotal - invoice.discount_total) * agent.commission_rate / 100,
            invoice.currency,
        ),
    )


@transaction.atomic
def commission_bill_mark_paid(*, bill: CommissionBill) -> CommissionBill:
    bill = CommissionBill.objects.select_for_update().get(pk=bill.pk)
    if bill.status == CommissionBill.Status.PAID:
        raise ValidationError({"status": f"Commission bill #{bill.pk} is already paid."})
    bill.status = CommissionBill.Status.PAID
    bill.paid_at = timezone.now()
    bill.save(update_fields=["status", "paid_at", "updated_at"])
    return bill


@transaction.atomic
def invoice_void(*, invoice: Invoice) -> Invoice:
    invoice = _lock(invoice)
    if invoice.status == Invoice.Status.VOID:
        raise ValidationError({"status": f"Invoice {invoice.number} is already void."})
    if invoice.payments.exists():
        raise ValidationError(
            {
                "status": f"Invoice {invoice.number} has payments recorded; "
                "it cannot be voided (credit it instead)."
            }
        )
    invoice.status = Invoice.Status.VOID
    invoice.balance = ZERO
    invoice.save(update_fields=["status", "balance", "updated_at"])
    return invoice


@transaction.atomic
def invoice_mark_overdue(*, invoice: Invoice, today: datetime.date | None = None) -> Invoice:
    invoice = _lock(invoice)
    _require_status(invoice, (Invoice.Status.SENT, Invoice.Status.PARTIALLY_PAID), "marked overdue")
    today = today or timezone.localdate()
    if invoice.due_date >= today:
        raise ValidationError(
            {
                "due_date": f"Invoice {invoice.number} is due on "
                f"{invoice.due_date:%Y-%m-%d}; not yet."
            }
        )
    invoice.status = Invoice.Status.OVERDUE
    invoice.save(update_fields=["status", "updated_at"])
    return invoice


def invoice_mark_overdue_due(*, today: datetime.date | None = None) -> int:
    """Mark every open invoice past its due date overdue; safe to run twice."""
    today = today or timezone.localdate()
    due = Invoice.objects.filter(
        status__in=(Invoice.Status.SENT, Invoice.Status.PARTIALLY_PAID), due_date__lt=today
    )
    marked = 0
    for invoice_id in due.values_list("pk", flat=True).iterator():
        try:
            invoice_mark_overdue(invoice=Invoice(pk=invoice_id), today=today)
            marked += 1
        except ValidationError:
            continue  # paid or voided since it was listed
    return marked


def reminder_stage_due(*, due_date: datetime.date, today: datetime.date) -> int | None:
    """The latest reminder stage (7, 14 or 30 days) reached on `today`, if any."""
    days = (today - due_date).days
    reached = [stage for stage in REMINDER_STAGES if days >= stage]
    return reached[-1] if reached else None


@transaction.atomic
def invoice_reminder_record(
    *, invoice: Invoice, today: datetime.date | None = None
) -> InvoiceReminder | None:
    """Record the reminder `invoice` is due today, once per stage, and e-mail it after commit.

    Only the latest stage reached is sent: a task that did not run for three weeks sends the
    14-day reminder, not the 7-day one as well. The unique (invoice, stage) constraint makes a
    second run, or a second worker, a no-op. The e-mail itself is marked on the row
    (`emailed_at`) once it went out; a failed send is retried by invoice_emails_resend_unsent.
    """
    today = today or timezone.localdate()
    invoice = _lock(invoice)
    if invoice.status != Invoice.Status.OVERDUE or invoice.balance <= 0:
        return None
    stage = reminder_stage_due(due_date=invoice.due_date, today=today)
    if stage is None or not invoice.client.email:
        return None
    if invoice.reminders.filter(days_overdue__gte=stage).exists():
        return None
    try:
        with transaction.atomic():
            reminder = InvoiceReminder.objects.create(
                invoice=invoice, days_overdue=stage, sent_on=today, email=invoice.client.email
            )
    except IntegrityError:
        return None  # another worker recorded it first
    reminder_id = reminder.pk
    transaction.on_commit(lambda: _enqueue("apps.invoices.tasks.reminder_email_task", reminder_id))
    return reminder


def invoice_reminders_send_due(*, today: datetime.date | None = None) -> int:
    """Daily: every overdue invoice gets the reminder its stage calls for, once."""
    today = today or timezone.localdate()
    first_stage_due_by = today - datetime.timedelta(days=REMINDER_STAGES[0])
    candidates = Invoice.objects.filter(
        status=Invoice.Status.OVERDUE, due_date__lte=first_stage_due_by, balance__gt=0
    )
    sent = 0
    for invoice_id in candidates.values_list("pk", flat=True).iterator():
        if invoice_reminder_record(invoice=Invoice(pk=invoice_id), today=today):
            sent += 1
    return sent


def invoice_email_send(*, invoice_id: int) -> bool:
    """E-mail the client an open invoice unless it already went out; True when sent now.

    As quote_email_send: the invoice's row is locked across the send and the `emailed_at` that
    records it (a payment recorded meanwhile waits for the mail server, at most its timeout); a
    failed send raises and leaves `emailed_at` empty for the retry sweep; at least once.
    """
    with transaction.atomic():
        invoice = _lock(Invoice(pk=invoice_id))
        if invoice.emailed_at is not None:
            return False
        if invoice.status not in Invoice.OPEN_STATUSES or not invoice.client.email:
            logger.info("invoice %s: not e-mailed (status %s)", invoice.number, invoice.status)
            return False
        email_send(
            subject=f"Invoice {invoice.number}",
            to=invoice.client.email,
            template="invoice_sent",
            context={
                "invoice": invoice,
                "lines": list(invoice.lines.all()),
                "client": invoice.client,
            },
            attachments=document_attachments(kind="invoice", document=invoice),
        )
        invoice.emailed_at = timezone.now()
        invoice.save(update_fields=["emailed_at", "updated_at"])
    return True


def reminder_email_send(*, reminder_id: int) -> bool:
    """E-mail a recorded reminder unless it already went out; True when sent now.

    The reminder's row is locked across the send and the `emailed_at` that records it, so the
    task queued after commit and the retry sweep never both send it. A failed send raises and
    leaves `emailed_at` empty; the sweep sends it later. A reminder for an invoice paid or voided
    since is not sent. Delivery is at least once: a crash after the mail server accepted the
    message but before the commit would send it again (no SMTP client can close that window).
    """
    with transaction.atomic():
        reminder = (
            InvoiceReminder.objects.select_for_update(of=("self",))
            .select_related("invoice__client")
            .get(pk=reminder_id)
        )
        invoice = reminder.invoice
        if reminder.emailed_at is not None:
            return False
        if invoice.status != Invoice.Status.OVERDUE or invoice.balance <= 0:
            logger.info("reminder %s: not e-mailed (invoice %s)", reminder.pk, invoice.status)
            return False
        email_send(
            subject=f"Reminder: invoice {invoice.number} is {reminder.days_overdue} days overdue",
            to=reminder.email,
            template="invoice_reminder",
            context={"invoice": invoice, "client": invoice.client, "reminder": reminder},
        )
        reminder.emailed_at = timezone.now()
        reminder.save(update_fields=["emailed_at", "updated_at"])
    return True


def invoice_emails_resend_unsent(*, now: datetime.datetime | None = None) -> int:
    """Re-send what is still owed: the "sent" e-mail of open invoices, and each overdue invoice's
    latest reminder (an older stage whose send failed is dropped once a later one is due)."""
    now = now or timezone.now()
    due_before = now - EMAIL_RETRY_AFTER
    invoices = Invoice.objects.filter(
        status__in=Invoice.OPEN_STATUSES, emailed_at__isnull=True, sent_at__lte=due_before
    ).order_by("pk")
    later_stage = InvoiceReminder.objects.filter(
        invoice=OuterRef("invoice"), days_overdue__gt=OuterRef("days_overdue")
    )
    reminders = (
        InvoiceReminder.objects.filter(
            emailed_at__isnull=True,
            created_at__lte=due_before,
            invoice__status=Invoice.Status.OVERDUE,
            invoice__balance__gt=0,
        )
        .exclude(Exists(later_stage))
        .order_by("pk")
    )
    return resend_each(
        list(invoices.values_list("pk", flat=True)),
        lambda invoice_id: invoice_email_send(invoice_id=invoice_id),
        "invoice",
    ) + resend_each(
        list(reminders.values_list("pk", flat=True)),
        lambda reminder_id: reminder_email_send(reminder_id=reminder_id),
        "reminder",
    )
