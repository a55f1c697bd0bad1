"""Admin for tickets and messages: the queue, the thread inline, and actions over the services.

Status moves only through actions (the transition table lives in the services); the thread is
append-only, so replies and notes are added through a form that calls ticket_reply/add_note.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_tools import (
    ReadOnlyHistoryMixin,
    RefusalOnFormMixin,
    add_refusal_to_form,
    copy_saved,
    refused_as_form_error,
    run_service_action,
)
from apps.core.errors import ApplicationError
from apps.tickets.models import Message, Ticket
from apps.tickets.selectors import ticket_assignee_choices, ticket_assignee_search
from apps.tickets.services import (
    TICKET_EDITABLE_FIELDS,
    ticket_add_note,
    ticket_assign,
    ticket_change_status,
    ticket_check_assignee,
    ticket_check_can_reply,
    ticket_check_client,
    ticket_open,
    ticket_receive_message,
    ticket_reply,
    ticket_update,
)

Status = Ticket.Status


class AssignedFilter(admin.SimpleListFilter):
    """Mine / unassigned, without listing every user (and without a DISTINCT over tickets)."""

    title = "assignee"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Assigned to me"), ("none", "Unassigned"), ("others", "Assigned to others")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "none":
            return queryset.filter(assignee__isnull=True)
        if self.value() == "others":
            return queryset.filter(assignee__isnull=False).exclude(assignee=request.user)
        return queryset


class AssigneeAutocompleteSelect(AutocompleteSelect):
    """The admin's search-as-you-type box, asking the ticket admin's own assignee search: the
    site-wide autocomplete would need permission to view users, which agents do not have."""

    def get_url(self):
        return reverse(f"{self.admin_site.name}:tickets_ticket_assignee_autocomplete")


class TicketForm(forms.ModelForm):
    first_message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="What the client asked, recorded as their first (inbound) message.",
    )

    class Meta:
        model = Ticket
        fields = ["subject", "client", "priority", "channel", "assignee", "due"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "assignee" in self.fields:
            # New choices are active staff; the current assignee stays valid even if they left.
            self.fields["assignee"].queryset = ticket_assignee_choices(
                current_assignee_id=self.instance.assignee_id
            )

    def clean(self):
        cleaned = super().clean()
        adding = self.instance.pk is None
        checks = []
        if cleaned.get("client") is not None and (adding or "client" in self.changed_data):
            checks.append(lambda: ticket_check_client(client=cleaned["client"]))
        if "assignee" in self.changed_data:
            checks.append(lambda: ticket_check_assignee(assignee=cleaned.get("assignee")))
            if not adding and self.instance.status == Status.CLOSED:
                self.add_error("assignee", "The ticket is closed; reopen it before assigning it.")
        due = cleaned.get("due")
        if due is not None and "due" in self.changed_data and due < timezone.now():
            self.add_error("due", "The due time is in the past.")
        for check in checks:
            try:
                check()
            except (ValidationError, ApplicationError) as error:
                add_refusal_to_form(self, error)
        return cleaned


class MessageThreadInline(admin.TabularInline):
    """The thread as it was written: read-only, oldest first."""

    model = Message
    verbose_name_plural = "Thread"
    fields = ["created_at", "direction", "is_internal_note", "author", "body"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author").order_by("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class NewMessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["body", "is_internal_note"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        ticket = getattr(self.instance, "ticket", None)
        if self.has_changed() and not cleaned.get("is_internal_note") and ticket is not None:
            try:
                ticket_check_can_reply(ticket=ticket)
            except ApplicationError as error:
                self.add_error(None, error.message)
        return cleaned

    def _post_clean(self):
        # The model's own checks run in the service; the author and direction come from it.
        pass


class NewMessageInline(admin.StackedInline):
    """One empty form: a reply to the client, or an internal note when the box is ticked."""

    model = Message
    form = NewMessageForm
    verbose_name = "reply or internal note"
    verbose_name_plural = "Reply or add an internal note"
    extra = 1
    max_num = 1
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(RefusalOnFormMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = TicketForm
    list_display = [
        "id",
        "subject",
        "client",
        "status",
        "priority",
        "channel",
        "assignee",
        "due",
        "updated_at",
    ]
    list_display_links = ["id", "subject"]
    list_filter = ["status", "priority", "channel", AssignedFilter]
    list_select_related = ["client", "assignee"]
    search_fields = ["=id", "subject", "client__name", "client__email", "client__company"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["client"]
    readonly_fields = ["status", "created_by", "created_at", "updated_at", "raise_quote"]
    actions = ["assign_to_me", "mark_pending", "resolve", "close", "reopen"]
    show_full_result_count = False
    list_per_page = 50

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["client", "subject", "channel", "priority", "assignee", "due", "first_message"]
        return [
            "subject",
            "client",
            "status",
            "priority",
            "channel",
            "assignee",
            "due",
            "created_by",
            "created_at",
            "updated_at",
            "raise_quote",
        ]

    @admin.display(description="Quote")
    def raise_quote(self, obj) -> str:
        # The quote builder fills in the client and this ticket (a page, not an import: tickets
        # sit below quotes and the workspace).
        return format_html(
            '<a class="button" href="/quotes/new/?ticket={}">Raise quote</a>', obj.pk
        )

    def get_inlines(self, request, obj):
        return [] if obj is None else [MessageThreadInline, NewMessageInline]

    def get_urls(self):
        autocomplete = path(
            "assignee-autocomplete/",
            self.admin_site.admin_view(self.assignee_autocomplete_view),
            name="tickets_ticket_assignee_autocomplete",
        )
        return [autocomplete, *super().get_urls()]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["widget"] = AssigneeAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
            kwargs["queryset"] = ticket_assignee_choices()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def assignee_autocomplete_view(self, request):
        """Active staff matching `term`, in select2's format, for whoever may add or change a
        ticket (agents included); 20 a page."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        users = ticket_assignee_search(term=request.GET.get("term", ""))
        page = Paginator(users, 20).get_page(request.GET.get("page"))
        return JsonResponse(
            {
                "results": [{"id": str(user.pk), "text": str(user)} for user in page],
                "pagination": {"more": page.has_next()},
            }
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # A ticket is closed, not deleted: its thread is the record of what was said.
        return False

    def save_model(self, request, obj, form, change):
        refused_as_form_error(lambda: self._save_ticket(request, obj, form, change))

    def _save_ticket(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if not change:
            saved = ticket_open(
                client=data["client"],
                subject=data["subject"],
                channel=data["channel"],
                priority=data["priority"],
                assignee=data.get("assignee"),
                due=data.get("due"),
                body=data.get("first_message", ""),
                created_by=request.user,
            )
        else:
            saved = Ticket.objects.get(pk=obj.pk)
            changes = {
                name: data[name] for name in TICKET_EDITABLE_FIELDS if name in form.changed_data
            }
            if changes:
                saved = ticket_update(ticket=saved, data=changes, actor=request.user)
            if "assignee" in form.changed_data:
                saved = ticket_assign(
                    ticket=saved, assignee=data.get("assignee"), actor=request.user
                )
        copy_saved(obj, saved)

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not issubclass(formset.form, NewMessageForm):
            return
        ticket = form.instance
        for message_form in formset.forms:
            if not message_form.has_changed():
                continue
            body = message_form.cleaned_data.get("body", "")
            if message_form.cleaned_data.get("is_internal_note"):
                write = ticket_add_note
            else:
                write = ticket_reply
            message = refused_as_form_error(
                lambda write=write, body=body: write(ticket=ticket, author=request.user, body=body)
            )
            formset.new_objects.append(message)

    def _status_action(self, request, queryset, status: str, done: str):
        run_service_action(
            self,
            request,
            queryset,
            lambda ticket: ticket_change_status(ticket=ticket, status=status, actor=request.user),
            done=done,
        )

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda ticket: ticket_assign(ticket=ticket, assignee=request.user, actor=request.user),
            done="Assigned to you",
        )

    @admin.action(description="Mark pending (waiting on the client)", permissions=["change"])
    def mark_pending(self, request, queryset):
        self._status_action(request, queryset, Status.PENDING, "Marked pending")

    @admin.action(description="Resolve", permissions=["change"])
    def resolve(self, request, queryset):
        self._status_action(request, queryset, Status.RESOLVED, "Resolved")

    @admin.action(description="Close", permissions=["change"])
    def close(self, request, queryset):
        self._status_action(request, queryset, Status.CLOSED, "Closed")

    @admin.action(description="Reopen", permissions=["change"])
    def reopen(self, request, queryset):
        self._status_action(request, queryset, Status.OPEN, "Reopened")


class MessageForm(forms.ModelForm):
    """A message added from its own page: what kind it is decides which service writes it."""

    KIND_CHOICES = [
        ("reply", "Reply to the client (outbound)"),
        ("note", "Internal note"),
        ("inbound", "Message from the client (inbound)"),
    ]
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="reply")

    class Meta:
        model = Message
        fields = ["ticket", "body"]

    def clean(self):
        cleaned = super().clean()
        ticket = cleaned.get("ticket")
        if ticket is not None and cleaned.get("kind") == "reply":
            try:
                ticket_check_can_reply(ticket=ticket)
            except ApplicationError as error:
                self.add_error("ticket", error.message)
        return cleaned

    def _post_clean(self):
        # Direction and author are the service's to set; it runs the model checks.
        pass


@admin.register(Message)
class MessageAdmin(RefusalOnFormMixin, ReadOnlyHistoryMixin, SimpleHistoryAdmin):
    form = MessageForm
    list_display = [
        "id",
        "ticket",
        "direction",
        "is_internal_note",
        "author",
        "excerpt",
        "created_at",
    ]
    list_filter = ["direction", "is_internal_note"]
    list_select_related = ["ticket", "author"]
    search_fields = ["=ticket__id", "ticket__subject", "body"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["ticket"]
    show_full_result_count = False
    list_per_page = 50

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["ticket", "kind", "body"]
        return ["ticket", "direction", "is_internal_note", "author", "body", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        # What was said stays said: messages are append-only.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Message")
    def excerpt(self, obj: Message) -> str:
        return Truncator(obj.body).chars(80)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        ticket, kind, body = data["ticket"], data["kind"], data["body"]
        if kind == "note":
            saved = refused_as_form_error(
                lambda: ticket_add_note(ticket=ticket, author=request.user, body=body)
            )
        elif kind == "inbound":
            saved = refused_as_form_error(lambda: ticket_receive_message(ticket=ticket, body=body))
        else:
            saved = refused_as_form_error(
                lambda: ticket_reply(ticket=ticket, author=request.user, body=body)
            )
        copy_saved(obj, saved)
