"""Ticket services: open, update, assign, reply, note, receive, and the status table."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.tickets.models import Message, Ticket
from apps.tickets.services import (
    STATUS_TRANSITIONS,
    ticket_add_note,
    ticket_assign,
    ticket_change_status,
    ticket_open,
    ticket_receive_message,
    ticket_reply,
    ticket_update,
)
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.clients.factories import ClientFactory, snapshot
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

Status = Ticket.Status


def state():
    return snapshot(Ticket, Message)


@pytest.fixture
def other_agent(db):
    return user_provision(email="agent2@example.com", password="x-long-password-1", role=AGENT)


@pytest.fixture
def inactive_agent(db):
    user = user_provision(email="gone@example.com", password="x-long-password-1", role=AGENT)
    user.is_active = False
    user.save()
    return user


def test_open_with_first_message_assignee_and_due(agent_user):
    client = ClientFactory()
    due = timezone.now() + timedelta(days=2)
    ticket = ticket_open(
        client=client,
        subject=" Unabridged birth certificate ",
        channel=Ticket.Channel.WHATSAPP,
        priority=Ticket.Priority.HIGH,
        body="Hi, I need my unabridged birth certificate for a visa.",
        assignee=agent_user,
        due=due,
        created_by=agent_user,
    )
    ticket.refresh_from_db()
    assert ticket.subject == "Unabridged birth certificate"
    assert (ticket.status, ticket.channel, ticket.priority) == ("open", "whatsapp", "high")
    assert (ticket.assignee, ticket.created_by, ticket.due) == (agent_user, agent_user, due)
    message = ticket.messages.get()
    assert (message.direction, message.author, message.is_internal_note) == ("in", None, False)
    assert ticket.history.get().history_user == agent_user


def test_open_without_a_message_and_without_staff():
    ticket = ticket_open(client=ClientFactory(), subject="Inbound from the website")
    assert ticket.messages.count() == 0
    assert ticket.created_by is None and ticket.history.get().history_user is None


def test_open_refusals_write_nothing(inactive_agent):
    active = ClientFactory()
    inactive = ClientFactory(name="Old Client", active=False)
    cases = [
        (
            {"client": inactive, "subject": "x"},
            {"client": ["Client “Old Client” is inactive; reactivate them to open a ticket."]},
        ),
        ({"client": active, "subject": "  "}, {"subject": ["This field cannot be blank."]}),
        (
            {"client": active, "subject": "x", "assignee": inactive_agent},
            {"assignee": ["gone@example.com is not an active staff user and cannot be assigned."]},
        ),
        (
            {"client": active, "subject": "x", "due": timezone.now() - timedelta(hours=1)},
            {"due": ["The due time is in the past."]},
        ),
        (
            {"client": active, "subject": "x", "channel": "fax"},
            {"channel": ["Value 'fax' is not a valid choice."]},
        ),
        (
            {"client": active, "subject": "x", "priority": "whenever"},
            {"priority": ["Value 'whenever' is not a valid choice."]},
        ),
    ]
    for kwargs, errors in cases:
        before = state()
        with pytest.raises(ValidationError) as caught:
            ticket_open(body="Please help", **kwargs)
        assert caught.value.message_dict == errors
        assert state() == before


def test_update_changes_only_the_editable_fields(agent_user):
    ticket = TicketFactory()
    new_client = ClientFactory()
    due = timezone.now() + timedelta(days=1)
    ticket_update(
        ticket=ticket,
        data={"subject": "New subject", "priority": "urgent", "client": new_client, "due": due},
        actor=agent_user,
    )
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority, ticket.client, ticket.due) == (
        "New subject",
        "urgent",
        new_client,
        due,
    )
    assert ticket.history.first().history_user == agent_user


def test_update_refusals_write_nothing():
    ticket = TicketFactory()
    cases = [
        (
            {"status": "closed"},
            {"status": ["“status” cannot be changed here; use its own action."]},
        ),
        (
            {"client": ClientFactory(name="Gone", active=False)},
            {"client": ["Client “Gone” is inactive; reactivate them to open a ticket."]},
        ),
        ({"due": timezone.now() - timedelta(days=1)}, {"due": ["The due time is in the past."]}),
        ({"subject": ""}, {"subject": ["This field cannot be blank."]}),
    ]
    for data, errors in cases:
        before = state()
        with pytest.raises(ValidationError) as caught:
            ticket_update(ticket=ticket, data=data)
        assert caught.value.message_dict == errors
        assert state() == before


def test_assign_reassign_unassign_and_same_assignee_is_a_no_op(agent_user, other_agent):
    ticket = TicketFactory()
    ticket_assign(ticket=ticket, assignee=agent_user, actor=agent_user)
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent_user
    before = state()
    ticket_assign(ticket=ticket, assignee=agent_user, actor=agent_user)
    assert state() == before
    ticket_assign(ticket=ticket, assignee=other_agent, actor=agent_user)
    assert Ticket.objects.get(pk=ticket.pk).assignee == other_agent
    ticket_assign(ticket=ticket, assignee=None, actor=other_agent)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    assert [h.history_user for h in ticket.history.all()[:3]] == [
        other_agent,
        agent_user,
        agent_user,
    ]


def test_a_deactivated_assignee_does_not_freeze_their_tickets(agent_user, other_agent):
    ticket = TicketFactory()
    ticket_assign(ticket=ticket, assignee=agent_user, actor=agent_user)
    agent_user.is_active = False  # the agent left
    agent_user.save()
    ticket_update(ticket=ticket, data={"subject": "Still being worked"}, actor=other_agent)
    ticket_change_status(ticket=ticket, status=Status.PENDING, actor=other_agent)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.subject, fresh.status, fresh.assignee) == (
        "Still being worked",
        Status.PENDING,
        agent_user,
    )
    ticket_assign(ticket=ticket, assignee=other_agent, actor=other_agent)
    assert Ticket.objects.get(pk=ticket.pk).assignee == other_agent
    # Handing it back to someone who has left is still refused.
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=agent_user, actor=other_agent)
    assert Ticket.objects.get(pk=ticket.pk).assignee == other_agent


def test_assign_refusals_write_nothing(inactive_agent, agent_user):
    customer_facing_only = user_provision(
        email="nostaff@example.com", password="x-long-password-1", role=AGENT
    )
    customer_facing_only.is_staff = False
    customer_facing_only.save()
    ticket = TicketFactory()
    closed = TicketFactory(status=Status.CLOSED)
    before = state()
    with pytest.raises(ValidationError) as caught:
        ticket_assign(ticket=ticket, assignee=inactive_agent)
    assert caught.value.message_dict == {
        "assignee": ["gone@example.com is not an active staff user and cannot be assigned."]
    }
    with pytest.raises(ValidationError) as caught:
        ticket_assign(ticket=ticket, assignee=customer_facing_only)
    assert caught.value.message_dict == {
        "assignee": ["nostaff@example.com is not an active staff user and cannot be assigned."]
    }
    with pytest.raises(ApplicationError) as caught:
        ticket_assign(ticket=closed, assignee=agent_user)
    assert caught.value.message == f"Ticket #{closed.pk} is closed; reopen it before assigning it."
    assert state() == before


@pytest.mark.parametrize(("current", "new"), list(itertools.product(Status.values, repeat=2)))
def test_status_transition_table(current, new, agent_user):
    ticket = TicketFactory(status=current)
    if new in STATUS_TRANSITIONS[current]:
        ticket_change_status(ticket=ticket, status=new, actor=agent_user)
        assert Ticket.objects.get(pk=ticket.pk).status == new == ticket.status
        record = ticket.history.first()
        assert (record.status, record.history_user) == (new, agent_user)
        return
    before = state()
    with pytest.raises(ApplicationError) as caught:
        ticket_change_status(ticket=ticket, status=new, actor=agent_user)
    if new == current:
        assert caught.value.message == f"The ticket is already {Status(current).label.lower()}."
    else:
        allowed = ", ".join(sorted(STATUS_TRANSITIONS[current]))
        assert caught.value.message == (
            f"A {current} ticket cannot become {new}; it can become: {allowed}."
        )
    assert state() == before
    assert ticket.status == current


def test_the_table_itself():
    # Closed reopens only to open; resolved may reopen or close; nothing goes back to pending
    # from resolved or closed (the client has been answered).
    assert {
        "open": {"pending", "resolved", "closed"},
        "pending": {"open", "resolved", "closed"},
        "resolved": {"open", "closed"},
        "closed": {"open"},
    } == STATUS_TRANSITIONS


def test_unknown_status_is_refused():
    ticket = TicketFactory()
    before = state()
    with pytest.raises(ValidationError) as caught:
        ticket_change_status(ticket=ticket, status="archived")
    assert caught.value.message_dict == {"status": ["“archived” is not a ticket status."]}
    assert state() == before


def test_reply_adds_an_outbound_message_and_touches_the_ticket(agent_user):
    ticket = TicketFactory(status=Status.PENDING)
    # Last touched a day ago, so that "touched by the reply" is a change a test can see.
    old_updated = timezone.now() - timedelta(days=1)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=old_updated)
    history_before = ticket.history.count()
    message = ticket_reply(ticket=ticket, author=agent_user, body="  Your certificate is ready. ")
    message.refresh_from_db()
    assert (message.direction, message.author, message.body) == (
        "out",
        agent_user,
        "Your certificate is ready.",
    )
    assert message.is_internal_note is False
    assert message.history.get().history_user == agent_user
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.updated_at == message.created_at == ticket.updated_at
    assert message.created_at > old_updated
    assert fresh.status == Status.PENDING
    assert ticket.history.count() == history_before  # activity is not a change of the ticket


@pytest.mark.parametrize("status", [Status.OPEN, Status.PENDING, Status.RESOLVED])
def test_reply_is_allowed_until_closed(status, agent_user):
    ticket = TicketFactory(status=status)
    ticket_reply(ticket=ticket, author=agent_user, body="Update")
    assert ticket.messages.count() == 1


def test_reply_refusals_write_nothing(agent_user, inactive_agent):
    closed = TicketFactory(status=Status.CLOSED)
    ticket = TicketFactory()
    before = state()
    with pytest.raises(ApplicationError) as caught:
        ticket_reply(ticket=closed, author=agent_user, body="Hello")
    assert caught.value.message == f"Ticket #{closed.pk} is closed; reopen it before replying."
    with pytest.raises(ValidationError) as caught:
        ticket_reply(ticket=ticket, author=agent_user, body="   ")
    assert caught.value.message_dict == {"body": ["A message needs some text."]}
    with pytest.raises(ValidationError) as caught:
        ticket_reply(ticket=ticket, author=inactive_agent, body="Hello")
    assert caught.value.message_dict == {
        "author": ["Only an active staff user can write on a ticket."]
    }
    assert state() == before


def test_internal_note_is_allowed_even_on_a_closed_ticket(agent_user):
    ticket = TicketFactory(status=Status.CLOSED)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now() - timedelta(days=1))
    note = ticket_add_note(ticket=ticket, author=agent_user, body="Client called to say thanks.")
    assert (note.direction, note.is_internal_note, note.author) == ("out", True, agent_user)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == Status.CLOSED
    assert fresh.updated_at == note.created_at == ticket.updated_at


def test_note_refusals_write_nothing(inactive_agent, agent_user):
    ticket = TicketFactory()
    before = state()
    with pytest.raises(ValidationError) as caught:
        ticket_add_note(ticket=ticket, author=agent_user, body="")
    assert caught.value.message_dict == {"body": ["A message needs some text."]}
    with pytest.raises(ValidationError) as caught:
        ticket_add_note(ticket=ticket, author=inactive_agent, body="note")
    assert caught.value.message_dict == {
        "author": ["Only an active staff user can write on a ticket."]
    }
    assert state() == before


@pytest.mark.parametrize("status", Status.values)
def test_an_inbound_message_reopens_the_ticket(status):
    ticket = TicketFactory(status=status)
    message = ticket_receive_message(ticket=ticket, body="Any news?")
    assert (message.direction, message.author, message.is_internal_note) == ("in", None, False)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN == ticket.status
    expected_history = 1 if status == Status.OPEN else 2  # the factory's row, then the reopen
    assert ticket.history.count() == expected_history


def test_an_empty_inbound_message_is_refused():
    ticket = TicketFactory(status=Status.RESOLVED)
    before = state()
    with pytest.raises(ValidationError) as caught:
        ticket_receive_message(ticket=ticket, body="\n ")
    assert caught.value.message_dict == {"body": ["A message needs some text."]}
    assert state() == before


def test_the_database_refuses_an_inbound_internal_note():
    from django.db import IntegrityError, transaction

    ticket = TicketFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(ticket=ticket, direction="in", body="x", is_internal_note=True)


def test_open_and_update_check_the_client_as_stored_not_the_callers_copy():
    from apps.clients.services import client_deactivate

    client = ClientFactory(name="Stale")
    Client = type(client)
    client_deactivate(client=Client.objects.get(pk=client.pk))  # another user, another copy
    assert client.active is True  # the caller's copy has not heard
    ticket = TicketFactory()
    before = state()
    message = {"client": ["Client “Stale” is inactive; reactivate them to open a ticket."]}
    with pytest.raises(ValidationError) as caught:
        ticket_open(client=client, subject="x")
    assert caught.value.message_dict == message
    with pytest.raises(ValidationError) as caught:
        ticket_update(ticket=ticket, data={"client": client})
    assert caught.value.message_dict == message
    assert state() == before
