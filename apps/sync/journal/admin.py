"""The record's sync journal on the client, quote and invoice change pages of the admin, with the
Admins' replay of a failed push (the same service the staff pages call)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.loader import select_template
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.clients.models import Client
from apps.invoices.models import Invoice
from apps.quotes.models import Quote
from apps.sync.journal.selectors import record_journal
from apps.sync.journal.views import journal_page, replay_answer

MODELS = (Client, Quote, Invoice)


class RecordJournalMixin:
    """Adds the journal under the change form; the form itself is the admin's as before."""

    journal_template = "sync/journal_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        obj = self.get_object(request, object_id) if str(object_id).isdigit() else None
        if obj is not None and self.has_view_or_change_permission(request, obj):
            info = (self.model._meta.app_label, self.model._meta.model_name)
            context["journal"] = record_journal(
                obj=obj, user=request.user, page=journal_page(request)
            )
            context["replay_url"] = reverse(
                f"admin:{info[0]}_{info[1]}_journal_replay", args=[obj.pk]
            )
            context["replay_next"] = request.get_full_path()
        return super().change_view(request, object_id, form_url, context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if change and "journal" in context and hasattr(response, "template_name"):
            # The journal's template extends whichever change form this admin would render
            # (the response is not rendered yet: its template can still be swapped).
            names = response.template_name
            found = select_template(names if isinstance(names, list | tuple) else [names])
            response.context_data["journal_base_template"] = found.template
            response.template_name = self.journal_template
        return response

    def get_urls(self):
        info = (self.model._meta.app_label, self.model._meta.model_name)
        return [
            path(
                "<int:object_id>/journal/replay/",
                self.admin_site.admin_view(require_POST(self.journal_replay_view)),
                name="{}_{}_journal_replay".format(*info),
            ),
            *super().get_urls(),
        ]

    def journal_replay_view(self, request, object_id):
        obj = self.get_object(request, str(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        if not request.user.has_perm("sync.change_outboxitem"):
            raise PermissionDenied("Only Admins can replay a failed push.")
        replay_answer(
            request, item_id=request.POST.get("item_id", ""), token=request.POST.get("token", "")
        )
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse(
                f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]
            )
        return HttpResponseRedirect(f"{back}#sync-journal")


def extend_journal_admins(site=admin.site) -> None:
    """Re-register the client, quote and invoice admins with the journal."""
    for model in MODELS:
        current = site._registry.get(model)
        if current is None or isinstance(current, RecordJournalMixin):
            continue
        extended = type(f"Journal{type(current).__name__}", (RecordJournalMixin, type(current)), {})
        site.unregister(model)
        site.register(model, extended)


extend_journal_admins()
