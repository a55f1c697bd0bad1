"""Admin for invoices, payments, commission bills and reminders; actions call the services.

The quote page's "Convert to invoice" action lives here because only invoices may know quotes.
The invoice list stays fast at 100,000 rows: one page query, no per-row queries, and on
PostgreSQL an estimated count when the list is unfiltered (ecosystem-notes §9).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import cached_property
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_tools import (
    ReadOnlyHistoryMixin,
    copy_saved,
    refusal_text,
)
from apps.invoices import selectors, services
from apps.invoices.models import CommissionBill, Invoice, InvoiceLine, InvoiceReminder, Payment
from apps.quotes.admin import (
    DocumentAdminMixin,
    DocumentLineInline,
    QuoteAdmin,
    service_action,
)
from apps.quotes.documents import check_currency, check_discount
from apps.quotes.models import Quote

# Below this many rows an exact COUNT(*) is cheap and the estimate may be stale.
ESTIMATE_THRESHOLD = 10_000


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list counts from pg_class.reltuples instead of COUNT(*)."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= ESTIMATE_THRESHOLD:
                return int(row[0])
        return super().count


# --- quotes: the conversion action -------------------------------------------------------------

admin.site.unregister(Quote)


@admin.register(Quote)
class QuoteWithInvoiceAdmin(QuoteAdmin):
    actions = [*QuoteAdmin.actions, "convert_to_invoice"]

    convert_to_invoice = service_action(
        description="Convert to invoice",
        done="Invoiced",
        call=lambda quote, request: services.invoice_create_from_quote(
            quote=quote, created_by=request.user
        ),
    )


# --- invoices ----------------------------------------------------------------------------------


class InvoiceLineInline(DocumentLineInline):
    model = InvoiceLine


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ["date", "amount", "mode", "reference", "recorded_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the "Record payment" action does it, through the service

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = [
            "client",
            "assignee",
            "issue_date",
            "due_date",
            "currency",
            "discount_type",
            "discount_value",
            "notes",
            "terms",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("issue_date", "due_date"):
            if name in self.fields:
                self.fields[name].required = False
        if "assignee" in self.fields:
            # A short list of staff: agents may pick one without the users admin's permissions.
            self.fields["assignee"].queryset = self.fields["assignee"].queryset.filter(
                is_staff=True, is_active=True
            )

    def clean(self):
        cleaned = super().clean()
        try:
            if "currency" in cleaned:
                cleaned["currency"] = check_currency(cleaned["currency"])
            if "discount_type" in cleaned:
                check_discount(cleaned["discount_type"], cleaned.get("discount_value") or 0)
        except ValidationError as error:
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return cleaned


class RecordPaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    date = forms.DateField(initial=timezone.localdate)
    mode = forms.ChoiceField(choices=Payment.Mode.choices, initial=Payment.Mode.BANK_TRANSFER)
    reference = forms.CharField(max_length=100, required=False)


@admin.register(Invoice)
class InvoiceAdmin(DocumentAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = InvoiceForm
    inlines = [InvoiceLineInline, PaymentInline]
    list_display = [
        "number",
        "client",
        "status",
        "issue_date",
        "due_date",
        "total_display",
        "balance",
        "assignee",
    ]
    list_select_related = ["client", "assignee"]
    # No currency filter: listing its values is a DISTINCT over the whole table.
    list_filter = ["status", "issue_date", "due_date"]
    search_fields = ["^number", "client__name", "client__email", "client__company"]
    autocomplete_fields = ["client"]
    readonly_fields = [
        "number",
        "status",
        "quote",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "amount_paid",
        "balance",
        "sent_at",
        "paid_at",
        "created_by",
        "print_link",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "client", "assignee", "quote"]}),
        ("Dates", {"fields": ["issue_date", "due_date"]}),
        ("Money", {"fields": ["currency", "discount_type", "discount_value"]}),
        (
            "Totals",
            {
                "fields": [
                    "subtotal",
                    "discount_total",
                    "tax_total",
                    "total",
                    "amount_paid",
                    "balance",
                ]
            },
        ),
        ("Text", {"fields": ["notes", "terms"]}),
        ("Record", {"fields": ["sent_at", "paid_at", "created_by", "print_link"]}),
    ]
    # The primary key orders the 100,000-row list from its index; newest first.
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    actions = ["send", "record_payment", "void", "mark_overdue"]
    show_full_result_count = False
    list_per_page = 50

    line_model = InvoiceLine
    line_add = staticmethod(services.invoice_line_add)
    line_update = staticmethod(services.invoice_line_update)
    line_remove = staticmethod(services.invoice_line_remove)
    document_field = "invoice"

    def create_document(self, request, **header):
        return services.invoice_create(created_by=request.user, **header)

    def update_document(self, obj, **changes):
        return services.invoice_update(invoice=Invoice.objects.get(pk=obj.pk), **changes)

    send = service_action(
        description="Send to the client",
        done="Sent",
        call=lambda invoice, request: services.invoice_send(invoice=invoice, sent_by=request.user),
    )
    void = service_action(
        description="Void",
        done="Voided",
        permissions=("void",),
        call=lambda invoice, request: services.invoice_void(invoice=invoice),
    )
    mark_overdue = service_action(
        description="Mark overdue (past their due date)",
        done="Marked overdue",
        call=lambda invoice, request: services.invoice_mark_overdue(invoice=invoice),
    )

    @admin.action(description="Record a payment…", permissions=["record_payment"])
    def record_payment(self, request, queryset):
        """An intermediate page with the payment's form; the service records it."""
        invoices = list(queryset[:2])
        if len(invoices) != 1:
            self.message_user(
                request, "Select exactly one invoice to record a payment.", messages.ERROR
            )
            return None
        invoice = invoices[0]
        if "apply" in request.POST:
            form = RecordPaymentForm(request.POST)
            if form.is_valid():
                try:
                    services.payment_record(
                        invoice=invoice, recorded_by=request.user, **form.cleaned_data
                    )
                except ValidationError as error:
                    for name, errors in error.error_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    self.message_user(
                        request,
                        f"Recorded a payment of {form.cleaned_data['amount']} "
                        f"{invoice.currency} on {invoice.number}.",
                        messages.SUCCESS,
                    )
                    return None
        else:
            form = RecordPaymentForm(initial={"amount": invoice.balance})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record a payment on {invoice.number}",
            "opts": self.model._meta,
            "invoice": invoice,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "invoices/admin_record_payment.html", context)

    def has_record_payment_permission(self, request) -> bool:
        return request.user.has_perm("invoices.add_payment")

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("invoices.void_invoice")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("invoices.assign_invoice"):
            # The assignee earns the commission: only an Admin chooses who is credited.
            fields.append("assignee")
        return fields


# --- payments, commission, reminders -----------------------------------------------------------


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["invoice", "amount", "date", "mode", "reference"]

    def clean(self):
        cleaned = super().clean()
        invoice, amount = cleaned.get("invoice"), cleaned.get("amount")
        if invoice is not None and amount is not None and amount > invoice.balance:
            self.add_error(
                "amount",
                f"A payment of {amount} {invoice.currency} exceeds the balance due of "
                f"{invoice.balance} {invoice.currency} on invoice {invoice.number}.",
            )
        return cleaned

    def _post_clean(self):
        pass  # payment_record runs the checks and sets recorded_by


@admin.register(Payment)
class PaymentAdmin(ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = PaymentForm
    list_display = ["invoice", "client_name", "amount", "date", "mode", "reference", "recorded_by"]
    list_select_related = ["invoice__client", "recorded_by"]
    list_filter = ["mode", "date"]
    search_fields = ["^invoice__number", "reference", "invoice__client__name"]
    date_hierarchy = "date"
    autocomplete_fields = ["invoice"]
    readonly_fields = ["recorded_by", "created_at"]
    ordering = ["-id"]
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description="Client", ordering="invoice__client__name")
    def client_name(self, obj) -> str:
        return obj.invoice.client.name

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, f"Not saved: {refusal_text(error)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a payment is a fact; a mistake is corrected by a new document

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        saved = services.payment_record(recorded_by=request.user, **form.cleaned_data)
        copy_saved(obj, saved)


@admin.register(CommissionBill)
class CommissionBillAdmin(ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["invoice", "agent", "rate", "amount", "status", "created_at", "paid_at"]
    list_select_related = ["invoice", "agent"]
    list_filter = ["status"]
    search_fields = ["^invoice__number", "agent__email", "agent__first_name", "agent__last_name"]
    date_hierarchy = "created_at"
    readonly_fields = ["agent", "invoice", "rate", "amount", "status", "paid_at", "created_at"]
    ordering = ["-id"]
    actions = ["mark_paid"]
    show_full_result_count = False

    def get_queryset(self, request):
        # An agent sees only their own bills (the rule lives in the selector).
        return selectors.commission_bill_list(user=request.user)

    def has_add_permission(self, request) -> bool:
        return False  # created by payment_record when an invoice is paid

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    mark_paid = service_action(
        description="Mark paid out",
        done="Marked paid",
        call=lambda bill, request: services.commission_bill_mark_paid(bill=bill),
    )


@admin.register(InvoiceReminder)
class InvoiceReminderAdmin(ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    list_display = ["invoice", "days_overdue", "sent_on", "email", "emailed_at"]
    list_select_related = ["invoice"]
    # "emailed at: No" lists the reminders whose send failed and waits for the retry sweep.
    list_filter = ["days_overdue", "sent_on", ("emailed_at", admin.EmptyFieldListFilter)]
    search_fields = ["^invoice__number", "email"]
    ordering = ["-id"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # the daily reminders task records them

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
