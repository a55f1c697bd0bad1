"""The record's sync journal on the staff pages (client, quote, invoice) and the Admins' replay
of a failed push from it: thin over sync's journal selector and service."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.sync.journal.selectors import record_journal
from apps.sync.journal.views import journal_page, replay_answer


def journal_context(request, obj) -> dict:
    """What the pages' journal partial needs (the page's own view already checked the role)."""
    return {
        "journal": record_journal(obj=obj, user=request.user, page=journal_page(request)),
        "replay_url": reverse("workspace:journal-replay"),
        "replay_next": request.get_full_path(),
    }


@require_POST
def journal_replay(request):
    if not request.user.is_authenticated or not request.user.is_staff:
        raise PermissionDenied("Sign in to use the staff pages.")
    if not request.user.has_perm("sync.change_outboxitem"):
        raise PermissionDenied("Only Admins can replay a failed push.")
    replay_answer(
        request, item_id=request.POST.get("item_id", ""), token=request.POST.get("token", "")
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("workspace:home")
    return redirect(f"{back}#sync-journal")
