"""Reads for tickets: an agent's queue, a ticket's thread and who may be assigned; joins decided
here."""

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When

from apps.tickets.models import Message, Ticket
from apps.users.models import User

ACTIVE_STATUSES = (Ticket.Status.OPEN, Ticket.Status.PENDING)


def ticket_list_for_user(*, user: User, status: str | None = None) -> QuerySet[Ticket]:
    """Every ticket (agents share one queue), the user's own first, then the most urgent.

    Within each group: open before pending before resolved before closed, urgent before low,
    then the most recently active.
    """
    queryset = Ticket.objects.select_related("client", "assignee")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.annotate(
        mine_rank=Case(When(assignee_id=user.pk, then=Value(0)), default=Value(1)),
        status_rank=Case(
            *(
                When(status=value, then=Value(rank))
                for rank, value in enumerate(Ticket.Status.values)
            ),
            output_field=IntegerField(),
        ),
        priority_rank=Case(
            *(
                When(priority=value, then=Value(rank))
                for rank, value in enumerate(reversed(Ticket.Priority.values))
            ),
            output_field=IntegerField(),
        ),
    ).order_by("mine_rank", "status_rank", "priority_rank", "-updated_at", "-id")


def ticket_list_open_assigned_to(*, user: User) -> QuerySet[Ticket]:
    """The user's open and pending tickets, soonest due first."""
    return (
        Ticket.objects.select_related("client")
        .filter(assignee=user, status__in=ACTIVE_STATUSES)
        .order_by("due", "-updated_at")
    )


def ticket_get_with_thread(*, ticket_id: int, include_notes: bool = True) -> Ticket:
    """One ticket with its client, assignee and messages (authors joined) in order."""
    messages = Message.objects.select_related("author").order_by("created_at", "id")
    if not include_notes:
        messages = messages.filter(is_internal_note=False)
    return (
        Ticket.objects.select_related("client", "assignee", "created_by")
        .prefetch_related(Prefetch("messages", queryset=messages))
        .get(pk=ticket_id)
    )


def ticket_assignee_choices(*, current_assignee_id: int | None = None) -> QuerySet[User]:
    """Who a ticket may be given to: active staff, plus its current assignee (even one who has
    left since), so that keeping the assignee as it is stays a valid choice."""
    allowed = Q(is_active=True, is_staff=True)
    if current_assignee_id is not None:
        allowed |= Q(pk=current_assignee_id)
    return User.objects.filter(allowed).order_by("email")


def ticket_assignee_search(*, term: str = "") -> QuerySet[User]:
    """Active staff whose e-mail or name contains every word of `term`, for the assignee box."""
    users = User.objects.filter(is_active=True, is_staff=True)
    for word in term.split():
        users = users.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
        )
    return users.order_by("email")
