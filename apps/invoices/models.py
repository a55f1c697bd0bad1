"""Invoices and their lines, payments, agents' commission bills and overdue reminders."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.core.models import TimeStampedModel
from apps.quotes.models import MONEY, DiscountType, Quote, default_currency


class Invoice(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        OVERDUE = "overdue", "Overdue"
        VOID = "void", "Void"

    # Statuses in which money is still owed and payments are accepted.
    OPEN_STATUSES = (Status.SENT, Status.PARTIALLY_PAID, Status.OVERDUE)

    number = models.CharField(max_length=24, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    # One invoice per quote, enforced by the database.
    quote = models.OneToOneField(
        Quote,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice",
        editable=False,
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True, editable=False
    )
    issue_date = models.DateField(db_index=True)
    due_date = models.DateField(db_index=True)
    currency = models.CharField(max_length=3, default=default_currency)
    discount_type = models.CharField(
        max_length=10, choices=DiscountType.choices, default=DiscountType.AMOUNT
    )
    discount_value = models.DecimalField(
        max_digits=14, decimal_places=3, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    notes = models.TextField(blank=True)
    terms = models.TextField(blank=True)
    subtotal = models.DecimalField(**MONEY, editable=False)
    discount_total = models.DecimalField(**MONEY, editable=False)
    tax_total = models.DecimalField(**MONEY, editable=False)
    total = models.DecimalField(**MONEY, editable=False)
    amount_paid = models.DecimalField(**MONEY, editable=False)
    balance = models.DecimalField(**MONEY, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set after the "sent" e-mail went out; empty on a sent invoice means it is still owed.
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices_assigned",
        help_text="The agent credited with this invoice; earns the commission when it is paid.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices_created",
        editable=False,
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "due_date"], name="invoices_status_due")]
        # Admin-only (the Admin role holds every invoices permission; Agents only the listed
        # view/add/change): voiding cancels money owed, and the assignee earns the commission.
        permissions = [
            ("void_invoice", "Can void an invoice"),
            ("assign_invoice", "Can choose who is credited with an invoice"),
        ]

    def __str__(self) -> str:
        return self.number or f"Invoice #{self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class InvoiceLine(TimeStampedModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    quantity = models.DecimalField(
        max_digits=12, decimal_places=3, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    rate = models.DecimalField(
        max_digits=14, decimal_places=3, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    tax_rate = models.DecimalField(
        "tax rate (%)",
        max_digits=6,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
    )
    position = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(**MONEY, editable=False)
    discount_amount = models.DecimalField(**MONEY, editable=False)
    tax_amount = models.DecimalField(**MONEY, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Payment(TimeStampedModel):
    class Mode(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        CHEQUE = "cheque", "Cheque"
        OTHER = "other", "Other"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    date = models.DateField(db_index=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.BANK_TRANSFER)
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments_recorded",
        editable=False,
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"Payment of {self.amount} on {self.date:%d %b %Y} for {self.invoice.number}"


class CommissionBill(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_bills"
    )
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, related_name="commission_bill"
    )
    rate = models.DecimalField("rate (%)", max_digits=5, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Commission {self.amount} on {self.invoice_id}"


class InvoiceReminder(TimeStampedModel):
    """One row per reminder due; the unique constraint makes each stage recorded once, and
    `emailed_at` (set after a successful send) lets a failed send be retried until it goes out."""

    class Stage(models.IntegerChoices):
        DAYS_7 = 7, "7 days overdue"
        DAYS_14 = 14, "14 days overdue"
        DAYS_30 = 30, "30 days overdue"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    days_overdue = models.PositiveSmallIntegerField(choices=Stage.choices)
    sent_on = models.DateField()
    email = models.EmailField()
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "days_overdue"], name="invoices_reminder_once_per_stage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_days_overdue_display()} reminder for {self.invoice_id}"
