"""Admin for quotes: lines inline, totals recomputed by the services, status moved by actions.

A quote past draft is read-only (a change makes a revision). The document plumbing here (line
forms, saving lines through services, refusals as messages) is reused by the invoices admin.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_tools import (
    ReadOnlyHistoryMixin,
    add_refusal_to_form,
    copy_saved,
    refusal_text,
    run_service_action,
)
from apps.core.errors import ApplicationError
from apps.quotes import services
from apps.quotes.models import DocumentSequence, Quote, QuoteLine

LINE_FORM_FIELDS = ["position", "service", "name", "description", "quantity", "rate", "tax_rate"]
LINE_AMOUNT_FIELDS = ["amount", "discount_amount", "tax_amount"]
DISCOUNT_FIELDS = ("discount_type", "discount_value")


def service_action(*, description: str, done: str, call, permissions=("change",)):
    """An admin action that runs `call(obj, request)` (one service call) on each selected row,
    reporting how many were `done` and why the others were refused (run_service_action)."""

    @admin.action(description=description, permissions=list(permissions))
    def action(model_admin, request, queryset):
        run_service_action(
            model_admin, request, queryset, lambda obj: call(obj, request), done=done
        )

    return action


class DocumentLineForm(forms.ModelForm):
    """A line form whose name, rate and tax may be left blank to copy them from the service."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "rate", "tax_rate", "position"):
            if name in self.fields:
                self.fields[name].required = False
        if self.instance.pk is None:
            # A new line shows no "0" in rate and tax: left blank they are copied from the
            # service, and a pre-filled 0 would be taken as typed (every new user's 0.00 line).
            for name in ("rate", "tax_rate", "position"):
                self.initial.pop(name, None)
                if name in self.fields:
                    self.fields[name].initial = None
        for name in ("quantity", "rate", "tax_rate"):
            value = self.initial.get(name)
            if value is not None and hasattr(value, "normalize"):
                self.initial[name] = f"{value.normalize():f}"  # 2, not 2.000
        if "description" in self.fields:
            self.fields["description"].widget = forms.Textarea(attrs={"rows": 1, "cols": 20})

    def _post_clean(self):
        # The line's checks (and its copy of the service) belong to the services.
        pass

    def service_arguments(self) -> dict:
        """Arguments for <document>_line_add/update: only what was typed (or changed)."""
        data = self.cleaned_data
        if self.instance.pk is None:
            arguments = {name: data.get(name) for name in LINE_FORM_FIELDS if name in self.fields}
            for name in ("name", "description", "rate", "tax_rate"):
                if arguments.get(name) in (None, ""):
                    arguments[name] = None  # copied from the service
            if not arguments.get("position"):
                arguments["position"] = None  # after the last line
            return arguments
        return {name: data.get(name) for name in self.changed_data if name in LINE_FORM_FIELDS}


class LineRefused(Exception):
    """A service refused line `index` of the inline (so the page can say which line)."""

    def __init__(self, error: Exception, index: int) -> None:
        super().__init__(refusal_text(error))
        self.error, self.index = error, index


class DocumentLineInline(admin.TabularInline):
    form = DocumentLineForm
    fields = [*LINE_FORM_FIELDS, *LINE_AMOUNT_FIELDS]
    readonly_fields = LINE_AMOUNT_FIELDS
    autocomplete_fields = ["service"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        refused = getattr(request, "line_refusal", None)
        if refused is None:
            return formset

        class RefusedLineFormSet(formset):
            """The page shown again after a refused line: the error on that line's fields."""

            def clean(self):
                super().clean()
                if refused.index < len(self.forms):
                    add_refusal_to_form(self.forms[refused.index], refused.error)
                    self._non_form_errors = self.error_class(
                        [f"Line {refused.index + 1}: {refusal_text(refused.error)}"],
                        renderer=self.renderer,
                    )

        return RefusedLineFormSet

    def _editable(self, obj) -> bool:
        return obj is None or obj.status == "draft"

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class DocumentAdminMixin:
    """Saving a document and its lines through services; a refusal rolls back and is shown."""

    line_model: type
    line_add = staticmethod(lambda **kwargs: None)
    line_update = staticmethod(lambda **kwargs: None)
    line_remove = staticmethod(lambda **kwargs: None)
    document_field = ""  # the line's foreign key to the document

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The admin wraps the save in a transaction; a service refusal raised inside it rolls
        # everything back. The page is then shown again from the same POST, with the refusal on
        # its field (or its line), so nothing the user typed is lost.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except LineRefused as refused:
            request.line_refusal = refused
        except (ValidationError, ApplicationError) as error:
            request.header_refusal = error
        self.message_user(request, "Not saved: see the errors below.", messages.ERROR)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "header_refusal", None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                cleaned = super().clean()
                add_refusal_to_form(self, refusal)
                return cleaned

        return RefusedForm

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status != "draft":
            return False  # locked: actions move it on, a revision changes it
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Numbers are gap-free: a document is voided, rejected or left as a draft, not deleted.
        return False

    def create_document(self, request, **header):
        raise NotImplementedError

    def update_document(self, obj, **changes):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        """Header first; a discount waits until the lines are saved (save_related), because a
        discount larger than the lines saved so far would be refused.

        When either discount field changed, both are deferred together: the value is lifted to 0
        while the lines change, so the one left unchanged (say the value, when only the type
        went from amount to percent) must be set again too, from the form or the stored row.
        """
        names = [name for name in form.changed_data if name in form.fields]
        data = {name: form.cleaned_data[name] for name in names}
        discount = {}
        if any(name in data for name in DISCOUNT_FIELDS):
            for name in DISCOUNT_FIELDS:
                data.pop(name, None)
                if name in form.fields and name in form.cleaned_data:
                    discount[name] = form.cleaned_data[name]
                elif change:
                    discount[name] = getattr(type(obj).objects.get(pk=obj.pk), name)
        if change:
            if discount:
                data["discount_value"] = 0  # lifted while lines change, set again after them
            saved = self.update_document(obj, **data) if data else type(obj).objects.get(pk=obj.pk)
        else:
            header = {name: value for name, value in data.items() if value not in (None, "")}
            saved = self.create_document(request, **header)
        copy_saved(obj, saved)
        form._deferred_discount = discount

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        discount = getattr(form, "_deferred_discount", None)
        if discount:
            copy_saved(form.instance, self.update_document(form.instance, **discount))

    def save_formset(self, request, form, formset, change):
        if formset.model is not self.line_model:
            return super().save_formset(request, form, formset, change)
        document = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for line_form in formset.deleted_forms:
            if line_form.instance.pk:
                self.line_remove(line=line_form.instance)
                formset.deleted_objects.append(line_form.instance)
        for index, line_form in enumerate(formset.forms):
            if line_form in formset.deleted_forms or not line_form.has_changed():
                continue
            arguments = line_form.service_arguments()
            try:
                if line_form.instance.pk:
                    line = self.line_update(line=line_form.instance, **arguments)
                    formset.changed_objects.append((line, list(arguments)))
                else:
                    line = self.line_add(**{self.document_field: document}, **arguments)
                    formset.new_objects.append(line)
            except (ValidationError, ApplicationError) as error:
                raise LineRefused(error, index) from error
        return None

    @admin.display(description="Printable page")
    def print_link(self, obj) -> str:
        if not obj.pk:
            return "—"
        url = reverse(f"{obj._meta.app_label}:print", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Open the printable page</a>', url)

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj) -> str:
        return f"{obj.total} {obj.currency}"


class QuoteLineInline(DocumentLineInline):
    model = QuoteLine


class QuoteForm(forms.ModelForm):
    class Meta:
        model = Quote
        fields = [
            "client",
            "ticket",
            "issue_date",
            "valid_until",
            "currency",
            "discount_type",
            "discount_value",
            "notes",
            "terms",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "issue_date" in self.fields:
            self.fields["issue_date"].required = False

    def clean(self):
        cleaned = super().clean()
        checks = [
            ("currency", lambda: services.check_currency(cleaned.get("currency", ""))),
            (
                "discount_value",
                lambda: services.check_discount(
                    cleaned.get("discount_type"), cleaned.get("discount_value") or 0
                ),
            ),
        ]
        for field, check in checks:
            if field not in cleaned:
                continue
            try:
                value = check()
            except ValidationError as error:
                for name, errors in error.error_dict.items():
                    self.add_error(name if name in self.fields else None, errors)
            else:
                if field == "currency":
                    cleaned["currency"] = value
        return cleaned


@admin.register(Quote)
class QuoteAdmin(DocumentAdminMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = QuoteForm
    inlines = [QuoteLineInline]
    list_display = [
        "number",
        "client",
        "status",
        "issue_date",
        "valid_until",
        "total_display",
        "created_by",
    ]
    list_select_related = ["client", "created_by"]
    list_filter = ["status", "issue_date", "valid_until"]
    search_fields = ["^number", "client__name", "client__email", "client__company"]
    date_hierarchy = "issue_date"
    autocomplete_fields = ["client", "ticket"]
    readonly_fields = [
        "number",
        "status",
        "revision_of",
        "revision",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "sent_at",
        "created_by",
        "print_link",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "client", "ticket", "issue_date", "valid_until"]}),
        ("Money", {"fields": ["currency", "discount_type", "discount_value"]}),
        ("Totals", {"fields": ["subtotal", "discount_total", "tax_total", "total"]}),
        ("Text", {"fields": ["notes", "terms"]}),
        (
            "Record",
            {"fields": ["revision_of", "revision", "sent_at", "created_by", "print_link"]},
        ),
    ]
    ordering = ["-id"]
    actions = ["send", "accept", "reject", "revise", "expire"]
    show_full_result_count = False
    list_per_page = 50

    line_model = QuoteLine
    line_add = staticmethod(services.quote_line_add)
    line_update = staticmethod(services.quote_line_update)
    line_remove = staticmethod(services.quote_line_remove)
    document_field = "quote"

    def get_readonly_fields(self, request, obj=None):
        # A quote is raised from a ticket when it is made; it stays with that ticket.
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "ticket"] if obj is not None else fields

    def create_document(self, request, **header):
        return services.quote_create(created_by=request.user, **header)

    def update_document(self, obj, **changes):
        return services.quote_update(quote=Quote.objects.get(pk=obj.pk), **changes)

    send = service_action(
        description="Send to the client",
        done="Sent",
        call=lambda quote, request: services.quote_send(quote=quote, sent_by=request.user),
    )
    accept = service_action(
        description="Mark accepted",
        done="Accepted",
        call=lambda quote, request: services.quote_accept(quote=quote),
    )
    reject = service_action(
        description="Mark rejected",
        done="Rejected",
        call=lambda quote, request: services.quote_reject(quote=quote),
    )
    expire = service_action(
        description="Mark expired (past their validity)",
        done="Expired",
        call=lambda quote, request: services.quote_expire(quote=quote),
    )
    revise = service_action(
        description="Revise (a new draft revision)",
        done="Revised",
        call=lambda quote, request: services.quote_revise(quote=quote, created_by=request.user),
    )


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(admin.ModelAdmin):
    """Read-only: the counters only move when a document takes a number."""

    list_display = ["kind", "year", "last_value"]
    search_fields = ["kind"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
