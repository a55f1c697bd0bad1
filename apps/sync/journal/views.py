"""What the admin and the staff pages answer when an Admin replays a failed push from a record's
journal: one service call, then a message saying what happened."""

from django.contrib import messages

from apps.core.admin_tools import refusal_text
from apps.core.errors import ApplicationError
from apps.sync.journal.services import AlreadyReplayed, journal_replay


def replay_answer(request, *, item_id: str, token: str) -> None:
    """Replay and say what happened (shared by the admin and the staff pages)."""
    if not item_id.isdigit():
        messages.error(request, "Not replayed: no outbox item was named.")
        return
    try:
        item = journal_replay(item_id=int(item_id), token=token, actor=request.user)
    except AlreadyReplayed as error:
        messages.info(request, refusal_text(error))
    except ApplicationError as error:
        messages.error(request, f"Not replayed: {refusal_text(error)}")
    else:
        messages.success(
            request,
            f"The failed push (outbox item #{item.pk}) is queued again; "
            "the journal shows its calls once it is sent.",
        )


def journal_page(request) -> int:
    """The journal page asked for (?journal=N); anything else is the newest."""
    value = request.GET.get("journal", "")
    return min(int(value), 10_000) if value.isdigit() else 0
