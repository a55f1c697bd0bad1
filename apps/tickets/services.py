"""Writes for tickets: open, assign, reply, note, receive a message, update, change status.

Every function runs in one transaction and records the acting user as the history user. A refused
write raises ValidationError (keyed by field) or ApplicationError and leaves the database unchanged.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.tickets.models import Message, Ticket
from apps.users.models import User

Status = Ticket.Status

# Which status each status may move to. Any step back to "open" is a reopening.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
}

TICKET_EDITABLE_FIELDS = ("subject", "client", "priority", "channel", "due")


def ticket_check_status_change(*, current: str, new: str) -> None:
    """Refuse a move the transition table does not allow (used by forms and the service)."""
    if new not in Status.values:
        raise ValidationError({"status": f"“{new}” is not a ticket status."})
    if new == current:
        raise ApplicationError(
            f"The ticket is already {Status(current).label.lower()}.", extra={"status": current}
        )
    if new not in STATUS_TRANSITIONS[current]:
        allowed = ", ".join(sorted(STATUS_TRANSITIONS[current]))
        raise ApplicationError(
            f"A {current} ticket cannot become {new}; it can become: {allowed}.",
            extra={"status": new},
        )


def ticket_check_assignee(*, assignee: User | None) -> None:
    """Only active staff users may hold tickets."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError(
            {"assignee": f"{assignee} is not an active staff user and cannot be assigned."}
        )


def _check_author(author: User | None) -> None:
    if author is None or not (author.is_active and author.is_staff):
        raise ValidationError({"author": "Only an active staff user can write on a ticket."})


def ticket_check_client(*, client: Client) -> None:
    if not client.active:
        raise ValidationError(
            {"client": f"Client “{client}” is inactive; reactivate them to open a ticket."}
        )


def _check_current_client(client: Client) -> Client:
    """Check the client as stored now, not the caller's copy, which may predate a deactivation.

    The row lock orders this write after a concurrent client_deactivate (which locks it too).
    """
    current = Client.objects.select_for_update().get(pk=client.pk)
    ticket_check_client(client=current)
    return current


def ticket_check_can_reply(*, ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise ApplicationError(
            f"Ticket #{ticket.pk} is closed; reopen it before replying.", extra={"status": "closed"}
        )


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A message needs some text."})
    return body


def _check_due(due: datetime | None) -> None:
    if due is not None and due < timezone.now():
        raise ValidationError({"due": "The due time is in the past."})


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _refresh(ticket: Ticket, source: Ticket) -> Ticket:
    """Copy the locked, saved row's values onto the caller's object."""
    for field in Ticket._meta.concrete_fields:
        setattr(ticket, field.attname, getattr(source, field.attname))
    return ticket


def _save(ticket: Ticket, *, actor, fields: list[str] | None = None) -> None:
    ticket._history_user = actor
    if fields is None:
        ticket.full_clean()
        ticket.save()
    else:
        ticket.save(update_fields=[*fields, "updated_at"])


def _add_message(
    *, ticket: Ticket, direction: str, body: str, author: User | None, note: bool = False
) -> Message:
    message = Message(
        ticket=ticket, direction=direction, body=body, author=author, is_internal_note=note
    )
    message._history_user = author
    message.save()
    # The ticket sorts by its last activity; a queryset update touches it without a history row.
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=message.created_at)
    return message


@transaction.atomic
def ticket_open(
    *,
    client: Client,
    subject: str,
    channel: str = Ticket.Channel.EMAIL,
    priority: str = Ticket.Priority.NORMAL,
    body: str = "",
    assignee: User | None = None,
    due: datetime | None = None,
    created_by: User | None = None,
) -> Ticket:
    """Open a ticket for an active client; `body`, if given, is the client's first message.

    `created_by` is the staff user who logged it, or None when it arrived on its own.
    """
    _check_current_client(client)
    ticket_check_assignee(assignee=assignee)
    _check_due(due)
    ticket = Ticket(
        client=client,
        subject=(subject or "").strip(),
        channel=channel,
        priority=priority,
        assignee=assignee,
        due=due,
        created_by=created_by,
        status=Status.OPEN,
    )
    _save(ticket, actor=created_by)
    if (body or "").strip():
        _add_message(
            ticket=ticket, direction=Message.Direction.INBOUND, body=body.strip(), author=None
        )
        ticket.refresh_from_db(fields=["updated_at"])
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, data: Mapping[str, Any], actor: User | None = None) -> Ticket:
    """Change subject, client, priority, channel or due; status and assignee have own services."""
    unknown = sorted(set(data) - set(TICKET_EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {name: f"“{name}” cannot be changed here; use its own action." for name in unknown}
        )
    locked = _lock(ticket)
    values = {
        name: (value.strip() if isinstance(value, str) else value) for name, value in data.items()
    }
    changed = {name: value for name, value in values.items() if getattr(locked, name) != value}
    if not changed:
        return _refresh(ticket, locked)
    if "client" in changed:
        _check_current_client(changed["client"])
    if "due" in changed:
        _check_due(changed["due"])
    for name, value in changed.items():
        setattr(locked, name, value)
    _save(locked, actor=actor)
    return _refresh(ticket, locked)


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: User | None = None) -> Ticket:
    """Give the ticket to an active staff user, or take it off everyone (`assignee=None`).

    Assigning to the current assignee changes nothing. A closed ticket is refused: reopen it
    first (ticket_change_status), as for a reply. Only a client's own message reopens a ticket
    by itself (ticket_receive_message).
    """
    ticket_check_assignee(assignee=assignee)
    locked = _lock(ticket)
    if locked.status == Status.CLOSED:
        raise ApplicationError(
            f"Ticket #{locked.pk} is closed; reopen it before assigning it.",
            extra={"status": "closed"},
        )
    if locked.assignee_id == (assignee.pk if assignee else None):
        return _refresh(ticket, locked)
    locked.assignee = assignee
    _save(locked, actor=actor, fields=["assignee"])
    return _refresh(ticket, locked)


@transaction.atomic
def ticket_change_status(*, ticket: Ticket, status: str, actor: User | None = None) -> Ticket:
    """Move the ticket along STATUS_TRANSITIONS; anything else is refused with the allowed moves."""
    locked = _lock(ticket)
    ticket_check_status_change(current=locked.status, new=status)
    locked.status = status
    _save(locked, actor=actor, fields=["status"])
    return _refresh(ticket, locked)


@transaction.atomic
def ticket_reply(*, ticket: Ticket, author: User, body: str) -> Message:
    """Send the client a message from `author`. Refused on a closed ticket."""
    _check_author(author)
    body = _check_body(body)
    locked = _lock(ticket)
    ticket_check_can_reply(ticket=locked)
    message = _add_message(
        ticket=locked, direction=Message.Direction.OUTBOUND, body=body, author=author
    )
    ticket.updated_at = message.created_at
    message_id = message.pk
    transaction.on_commit(
        lambda: _enqueue("apps.tickets.tasks.ticket_reply_email_task", message_id)
    )
    return message


def _enqueue(func: str, *args) -> None:
    from django_q.tasks import async_task

    async_task(func, *args)


def ticket_reply_email_send(*, message_id: int) -> bool:
    """E-mail the client a staff reply (after commit, from its task). False when there is no one
    to write to: the client has no address, or the message is a note or the client's own."""
    message = (
        Message.objects.select_related("ticket__client", "author")
        .filter(pk=message_id, direction=Message.Direction.OUTBOUND, is_internal_note=False)
        .first()
    )
    if message is None or not message.ticket.client.email:
        return False
    send_mail(
        subject=f"Re: {message.ticket.subject} [#{message.ticket_id}]",
        message=message.body,
        from_email=None,
        recipient_list=[message.ticket.client.email],
    )
    return True


@transaction.atomic
def ticket_add_note(*, ticket: Ticket, author: User, body: str) -> Message:
    """An internal note: staff only, never sent; allowed in every status (even closed)."""
    _check_author(author)
    body = _check_body(body)
    locked = _lock(ticket)
    message = _add_message(
        ticket=locked, direction=Message.Direction.OUTBOUND, body=body, author=author, note=True
    )
    ticket.updated_at = message.created_at
    return message


@transaction.atomic
def ticket_receive_message(*, ticket: Ticket, body: str) -> Message:
    """Record a message from the client. A pending, resolved or closed ticket reopens.

    The client writing again means the ticket needs staff attention, whatever its state was.
    """
    body = _check_body(body)
    locked = _lock(ticket)
    message = _add_message(
        ticket=locked, direction=Message.Direction.INBOUND, body=body, author=None
    )
    if locked.status != Status.OPEN:
        locked.status = Status.OPEN
        _save(locked, actor=None, fields=["status"])
    locked.refresh_from_db(fields=["updated_at"])
    _refresh(ticket, locked)
    return message
