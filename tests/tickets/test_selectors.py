"""Ticket reads: the shared queue with the user's own tickets first, and a thread in few queries."""

import pytest

from apps.tickets.models import Ticket
from apps.tickets.selectors import (
    ticket_get_with_thread,
    ticket_list_for_user,
    ticket_list_open_assigned_to,
)
from apps.tickets.services import ticket_add_note, ticket_reply
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.tickets.factories import MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(db):
    return user_provision(email="colleague@example.com", password="long-password-1", role=AGENT)


def test_queue_shows_every_ticket_mine_first_then_status_then_priority(agent_user, colleague):
    theirs_urgent = TicketFactory(assignee=colleague, priority="urgent")
    unassigned_low = TicketFactory(priority="low")
    mine_closed = TicketFactory(assignee=agent_user, status="closed", priority="urgent")
    mine_open_normal = TicketFactory(assignee=agent_user, priority="normal")
    mine_open_high = TicketFactory(assignee=agent_user, priority="high")
    theirs_pending = TicketFactory(assignee=colleague, status="pending", priority="urgent")
    assert list(ticket_list_for_user(user=agent_user)) == [
        mine_open_high,
        mine_open_normal,
        mine_closed,
        theirs_urgent,
        unassigned_low,
        theirs_pending,
    ]
    assert list(ticket_list_for_user(user=colleague))[:2] == [theirs_urgent, theirs_pending]
    assert set(ticket_list_for_user(user=agent_user, status="closed")) == {mine_closed}


def test_queue_is_one_query_however_long(agent_user, django_assert_num_queries):
    TicketFactory.create_batch(20, assignee=agent_user)
    with django_assert_num_queries(1):
        rows = [
            (t.client.name, t.assignee and t.assignee.email)
            for t in ticket_list_for_user(user=agent_user)
        ]
    assert len(rows) == 20


def test_open_assigned_to(agent_user):
    mine = TicketFactory(assignee=agent_user, status="pending")
    TicketFactory(assignee=agent_user, status="resolved")
    TicketFactory()
    assert list(ticket_list_open_assigned_to(user=agent_user)) == [mine]


def test_thread_in_two_queries_with_and_without_notes(agent_user, django_assert_num_queries):
    ticket = TicketFactory(assignee=agent_user)
    MessageFactory(ticket=ticket, body="Question")
    ticket_reply(ticket=ticket, author=agent_user, body="Answer")
    ticket_add_note(ticket=ticket, author=agent_user, body="Internal")
    with django_assert_num_queries(2):
        loaded = ticket_get_with_thread(ticket_id=ticket.pk)
        thread = [(m.body, m.author and m.author.email) for m in loaded.messages.all()]
        assert loaded.client.name and loaded.assignee == agent_user
    assert thread == [
        ("Question", None),
        ("Answer", agent_user.email),
        ("Internal", agent_user.email),
    ]
    public = ticket_get_with_thread(ticket_id=ticket.pk, include_notes=False)
    assert [m.body for m in public.messages.all()] == ["Question", "Answer"]
    with pytest.raises(Ticket.DoesNotExist):
        ticket_get_with_thread(ticket_id=ticket.pk + 1000)
