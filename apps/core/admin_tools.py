"""Admin plumbing shared by the domain apps: actions that call services, read-only history.

Admin pages are thin: every write goes through a service, and a refused write becomes a message
on the page, never a server error.
"""

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest

from apps.core.errors import ApplicationError


def refusal_text(error: Exception) -> str:
    """The user-facing text of a refusal raised by a service."""
    if isinstance(error, ApplicationError):
        return error.message
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def run_service_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable,
    call: Callable[[object], object],
    *,
    done: str,
) -> int:
    """Call `call(obj)` for each object; report how many succeeded and why the others did not.

    Each call is its own transaction (the service's), so one refusal does not undo the rest.
    """
    succeeded = 0
    for obj in objects:
        try:
            call(obj)
        except (ApplicationError, ValidationError) as error:
            model_admin.message_user(request, f"{obj}: {refusal_text(error)}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        noun = "record" if succeeded == 1 else "records"
        model_admin.message_user(request, f"{done}: {succeeded} {noun}.", messages.SUCCESS)
    return succeeded


class ReadOnlyHistoryMixin:
    """simple_history's pages for viewing only (a revert would bypass the services), and only for
    records the user may see through the admin's `get_queryset` (its object rules)."""

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def _require_visible(self, request, object_id) -> None:
        # simple_history reads the record through the model's manager (history_form_view) or
        # falls back to its last historical copy (history_view): neither applies get_queryset,
        # so an Agent could read another agent's commission bill there. A record outside the
        # user's queryset (or deleted) is "not found", as on the change page.
        pk_name = self.model._meta.pk.attname
        if not self.get_queryset(request).filter(**{pk_name: unquote(object_id)}).exists():
            raise Http404("No such record.")

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        if request.method == "POST":
            raise PermissionDenied("Reverting from history is disabled; edit the record instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)


def copy_saved(target, source) -> None:
    """Make the admin's form object mirror the row a service saved (pk, values, state)."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


def add_refusal_to_form(form, error: Exception) -> None:
    """Show a service refusal on the form: on its field when it names one the form has."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(error, ApplicationError):
        fields = [name for name in error.extra if name in form.fields]
        form.add_error(fields[0] if fields else None, error.message)
    else:
        form.add_error(None, refusal_text(error))


class ServiceRefused(Exception):
    """A service refused a save the form had allowed (another user got there first)."""

    def __init__(self, error: ValidationError | ApplicationError) -> None:
        super().__init__(refusal_text(error))
        self.error = error


class RefusalOnFormMixin:
    """Turn a refusal raised while saving into an error on the same form, not a server error.

    The form's checks run before the save, but the row can change in between (a ticket closed
    by someone else). save_model/save_formset raise ServiceRefused; the admin's own transaction
    around the change form then undoes whatever was already saved, and the page is shown again
    with the user's input and the refusal on it.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            request.service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "service_refusal", None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                cleaned = super().clean()
                add_refusal_to_form(self, refusal)
                return cleaned

        return RefusedForm


def refused_as_form_error(call):
    """Run a service call from save_model/save_formset; a refusal becomes ServiceRefused."""
    try:
        return call()
    except (ValidationError, ApplicationError) as error:
        raise ServiceRefused(error) from error


class ServiceBackedAdminMixin(RefusalOnFormMixin):
    """Saves and Deactivate/Reactivate go through the app's services, never the ORM.

    An admin names its editable fields and the four service calls; a refusal at save time is a
    form error (RefusalOnFormMixin), one during an action is a message on the page.
    """

    editable_fields: tuple[str, ...] = ()
    actions = ["deactivate", "reactivate"]

    def service_create(self, *, data: dict, actor):
        raise NotImplementedError

    def service_update(self, *, obj, data: dict, actor):
        raise NotImplementedError

    def service_deactivate(self, *, obj, actor):
        raise NotImplementedError

    def service_reactivate(self, *, obj, actor):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in self.editable_fields
            if name in form.cleaned_data
        }
        if change:
            stored = type(obj).objects.get(pk=obj.pk)
            saved = refused_as_form_error(
                lambda: self.service_update(obj=stored, data=data, actor=request.user)
            )
        else:
            saved = refused_as_form_error(
                lambda: self.service_create(data=data, actor=request.user)
            )
        copy_saved(obj, saved)

    @admin.action(description="Deactivate selected %(verbose_name_plural)s", permissions=["change"])
    def deactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda obj: self.service_deactivate(obj=obj, actor=request.user),
            done="Deactivated",
        )

    @admin.action(description="Reactivate selected %(verbose_name_plural)s", permissions=["change"])
    def reactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda obj: self.service_reactivate(obj=obj, actor=request.user),
            done="Reactivated",
        )
