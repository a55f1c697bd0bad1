"""Ticket and message admin: pages, search, add/change through services, thread inline, actions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.clients.models import Client
from apps.tickets.models import Message, Ticket
from tests.clients.factories import ClientFactory
from tests.clients.test_admin import count_changelist_queries
from tests.tickets.factories import MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db

TICKETS = "/admin/tickets/ticket/"
MESSAGES = "/admin/tickets/message/"


def change_form_data(http_client, url: str, **overrides) -> dict:
    """The change page's own form and inline management data, as a browser would post it."""
    page = http_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        data[name] = getattr(value, "pk", value)
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
    data.update(overrides)
    return data


def new_message_prefix(http_client, url: str) -> str:
    page = http_client.get(url)
    (inline,) = [i for i in page.context["inline_admin_formsets"] if i.formset.max_num == 1]
    return inline.formset.prefix


def test_pages_open_and_search(admin_client_mfa):
    ticket = TicketFactory(subject="Police clearance for Canada", client__name="Kagiso Molefe")
    MessageFactory(ticket=ticket, body="When will my PCC arrive?")
    TicketFactory(subject="Courier to Durban")
    assert admin_client_mfa.get(TICKETS).status_code == 200
    by_client = admin_client_mfa.get(TICKETS, {"q": "molefe"})
    assert list(by_client.context["cl"].result_list) == [ticket]
    by_id = admin_client_mfa.get(TICKETS, {"q": str(ticket.pk)})
    assert ticket in by_id.context["cl"].result_list
    for filters in ({"status__exact": "open"}, {"assigned": "me"}, {"assigned": "none"}):
        assert admin_client_mfa.get(TICKETS, filters).status_code == 200
    assert admin_client_mfa.get(f"{TICKETS}add/").status_code == 200
    change = admin_client_mfa.get(f"{TICKETS}{ticket.pk}/change/")
    assert change.status_code == 200 and b"When will my PCC arrive?" in change.content
    assert admin_client_mfa.get(f"{TICKETS}{ticket.pk}/history/").status_code == 200
    assert admin_client_mfa.get(MESSAGES).status_code == 200
    found = admin_client_mfa.get(MESSAGES, {"q": "PCC arrive"})
    assert [m.ticket for m in found.context["cl"].result_list] == [ticket]
    assert admin_client_mfa.get(f"{MESSAGES}add/").status_code == 200
    message = ticket.messages.get()
    assert admin_client_mfa.get(f"{MESSAGES}{message.pk}/change/").status_code == 200


def test_client_autocomplete_for_tickets(admin_client_mfa):
    client = ClientFactory(name="Refilwe Sithole")
    response = admin_client_mfa.get(
        "/admin/autocomplete/",
        {"app_label": "tickets", "model_name": "ticket", "field_name": "client", "term": "sith"},
    )
    assert [row["id"] for row in response.json()["results"]] == [str(client.pk)]


def test_add_ticket_opens_it_through_the_service(admin_client_mfa, admin_with_mfa):
    client = ClientFactory()
    response = admin_client_mfa.post(
        f"{TICKETS}add/",
        {
            "client": client.pk,
            "subject": "Vault copy of birth certificate",
            "channel": "phone",
            "priority": "high",
            "assignee": admin_with_mfa.pk,
            "first_message": "Caller needs a vault copy for a citizenship application.",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.created_by, ticket.assignee) == (
        "open",
        admin_with_mfa,
        admin_with_mfa,
    )
    assert ticket.messages.get().direction == "in"
    assert ticket.history.get().history_user == admin_with_mfa


def test_add_ticket_for_an_inactive_client_is_refused_on_the_form(admin_client_mfa):
    client = ClientFactory(name="Dormant", active=False)
    response = admin_client_mfa.post(
        f"{TICKETS}add/",
        {"client": client.pk, "subject": "x", "channel": "email", "priority": "normal"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["client"] == [
        "Client “Dormant” is inactive; reactivate them to open a ticket."
    ]
    assert Ticket.objects.count() == 0


def test_change_ticket_updates_and_assigns_through_services(admin_client_mfa, admin_with_mfa):
    ticket = TicketFactory()
    url = f"{TICKETS}{ticket.pk}/change/"
    due = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    data = change_form_data(
        admin_client_mfa,
        url,
        subject="Renamed",
        priority="urgent",
        assignee=admin_with_mfa.pk,
        due_0=timezone.localtime(due).strftime("%d/%m/%Y"),
        due_1=timezone.localtime(due).strftime("%H:%M:%S"),
    )
    data.pop("due", None)
    response = admin_client_mfa.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority, ticket.assignee, ticket.due) == (
        "Renamed",
        "urgent",
        admin_with_mfa,
        due,
    )
    assert {h.history_user for h in ticket.history.all()[:2]} == {admin_with_mfa}


def test_reply_and_note_from_the_ticket_page(admin_client_mfa, admin_with_mfa):
    ticket = TicketFactory(status=Ticket.Status.PENDING)
    url = f"{TICKETS}{ticket.pk}/change/"
    prefix = new_message_prefix(admin_client_mfa, url)
    reply = change_form_data(admin_client_mfa, url, **{f"{prefix}-0-body": "Your PCC is ready."})
    assert admin_client_mfa.post(url, reply).status_code == 302
    note = change_form_data(
        admin_client_mfa,
        url,
        **{f"{prefix}-0-body": "Collected at SAPS.", f"{prefix}-0-is_internal_note": "on"},
    )
    assert admin_client_mfa.post(url, note).status_code == 302
    messages = list(ticket.messages.order_by("id"))
    assert [(m.direction, m.is_internal_note, m.author, m.body) for m in messages] == [
        ("out", False, admin_with_mfa, "Your PCC is ready."),
        ("out", True, admin_with_mfa, "Collected at SAPS."),
    ]


def test_reply_on_a_closed_ticket_is_refused_on_the_page(admin_client_mfa):
    ticket = TicketFactory(status=Ticket.Status.CLOSED)
    url = f"{TICKETS}{ticket.pk}/change/"
    prefix = new_message_prefix(admin_client_mfa, url)
    data = change_form_data(admin_client_mfa, url, **{f"{prefix}-0-body": "Hello again"})
    response = admin_client_mfa.post(url, data)
    assert response.status_code == 200
    assert f"Ticket #{ticket.pk} is closed; reopen it before replying." in response.content.decode()
    assert ticket.messages.count() == 0


@pytest.mark.parametrize(
    ("action", "start", "end"),
    [
        ("mark_pending", "open", "pending"),
        ("resolve", "open", "resolved"),
        ("close", "resolved", "closed"),
        ("reopen", "closed", "open"),
    ],
)
def test_status_actions(admin_client_mfa, admin_with_mfa, action, start, end):
    ticket = TicketFactory(status=start)
    refused = TicketFactory(status=end)  # already there: refused, reported, unchanged
    response = admin_client_mfa.post(
        TICKETS, {"action": action, "_selected_action": [ticket.pk, refused.pk]}, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith(f"{refused}: The ticket is already") for m in messages)
    ticket.refresh_from_db()
    assert ticket.status == end
    assert ticket.history.first().history_user == admin_with_mfa
    assert Ticket.objects.get(pk=refused.pk).history.count() == 1


def test_assign_to_me_action(agent_client, agent_user):
    open_ticket = TicketFactory()
    closed = TicketFactory(status="closed")
    response = agent_client.post(
        TICKETS,
        {"action": "assign_to_me", "_selected_action": [open_ticket.pk, closed.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert f"{closed}: Ticket #{closed.pk} is closed; reopen it before assigning it." in messages
    assert "Assigned to you: 1 record." in messages
    assert Ticket.objects.get(pk=open_ticket.pk).assignee == agent_user
    assert Ticket.objects.get(pk=closed.pk).assignee is None


@pytest.mark.parametrize(
    ("kind", "direction", "note"),
    [("reply", "out", False), ("note", "out", True), ("inbound", "in", False)],
)
def test_add_message_page_calls_the_matching_service(admin_client_mfa, kind, direction, note):
    ticket = TicketFactory(status="resolved")
    response = admin_client_mfa.post(
        f"{MESSAGES}add/", {"ticket": ticket.pk, "kind": kind, "body": "Text"}
    )
    assert response.status_code == 302, response.content[:3000]
    message = Message.objects.get()
    assert (message.direction, message.is_internal_note) == (direction, note)
    expected_status = "open" if kind == "inbound" else "resolved"
    assert Ticket.objects.get(pk=ticket.pk).status == expected_status


def test_messages_are_append_only(admin_client_mfa):
    message = MessageFactory(body="Original words")
    page = admin_client_mfa.get(f"{MESSAGES}{message.pk}/change/")
    assert page.context["has_change_permission"] is False
    admin_client_mfa.post(f"{MESSAGES}{message.pk}/change/", {"body": "Rewritten"})
    message.refresh_from_db()
    assert message.body == "Original words"
    refused = admin_client_mfa.post(
        f"{MESSAGES}add/",
        {"ticket": TicketFactory(status="closed").pk, "kind": "reply", "body": "x"},
    )
    assert refused.status_code == 200 and Message.objects.count() == 1


def test_agents_work_tickets(agent_client, agent_user):
    ticket = TicketFactory()
    assert agent_client.get(TICKETS).status_code == 200
    assert agent_client.get(f"{TICKETS}{ticket.pk}/change/").status_code == 200
    assert agent_client.get(f"{TICKETS}{ticket.pk}/delete/").status_code == 403
    agent_client.post(TICKETS, {"action": "resolve", "_selected_action": [ticket.pk]})
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"


def _bulk_tickets(count: int, clients, users) -> None:
    tickets = Ticket.objects.bulk_create(
        Ticket(
            subject=f"Ticket {i}",
            client=clients[i % len(clients)],
            assignee=users[i % len(users)] if i % 3 else None,
            status=Ticket.Status.values[i % 4],
        )
        for i in range(count)
    )
    Message.objects.bulk_create(
        Message(ticket=t, direction="in", body=f"Body {t.pk}") for t in tickets
    )


def test_changelists_query_count_is_flat_from_10_to_1000_rows(admin_client_mfa, admin_with_mfa):
    from apps.users.roles import AGENT
    from apps.users.services import user_provision

    users = [admin_with_mfa] + [
        user_provision(email=f"a{i}@example.com", password="long-password-1", role=AGENT)
        for i in range(3)
    ]
    clients = Client.objects.bulk_create(Client(name=f"C{i}") for i in range(10))
    _bulk_tickets(10, clients, users)
    urls = [
        (TICKETS, {}),
        (TICKETS, {"q": "Ticket"}),
        (TICKETS, {"assigned": "me"}),
        (MESSAGES, {}),
    ]
    small = [count_changelist_queries(admin_client_mfa, url, params) for url, params in urls]
    more_clients = Client.objects.bulk_create(Client(name=f"D{i}") for i in range(990))
    _bulk_tickets(990, more_clients, users)
    large = [count_changelist_queries(admin_client_mfa, url, params) for url, params in urls]
    assert large == small
    assert max(small) <= 14


def _leave(user):
    user.is_active = False
    user.save()
    return user


def test_a_deactivated_assignee_stays_on_the_form_but_is_not_a_new_choice(
    admin_client_mfa, agent_user
):
    from apps.tickets.services import ticket_assign

    ticket = TicketFactory(subject="Old subject")
    ticket_assign(ticket=ticket, assignee=agent_user)
    _leave(agent_user)
    url = f"{TICKETS}{ticket.pk}/change/"
    data = change_form_data(admin_client_mfa, url, subject="New subject")
    assert data["assignee"] == agent_user.pk
    response = admin_client_mfa.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.subject, fresh.assignee) == ("New subject", agent_user)

    other = TicketFactory()
    other_url = f"{TICKETS}{other.pk}/change/"
    refused = admin_client_mfa.post(
        other_url, change_form_data(admin_client_mfa, other_url, assignee=agent_user.pk)
    )
    assert refused.status_code == 200
    assert "assignee" in refused.context["adminform"].form.errors
    assert Ticket.objects.get(pk=other.pk).assignee is None


ASSIGNEES = f"{TICKETS}assignee-autocomplete/"


def test_assignee_box_searches_active_staff_for_an_agent(agent_client, agent_user):
    from apps.users.roles import AGENT
    from apps.users.services import user_provision

    colleague = user_provision(
        email="thabo@example.com", password="long-password-1", role=AGENT, first_name="Thabo"
    )
    _leave(user_provision(email="thabo.left@example.com", password="long-password-1", role=AGENT))
    not_staff = user_provision(email="thabo.client@example.com", password="long-pass-1", role=AGENT)
    not_staff.is_staff = False
    not_staff.save()
    page = agent_client.get(f"{TICKETS}{TicketFactory().pk}/change/")
    assert f'data-ajax--url="{ASSIGNEES}"' in page.content.decode()
    found = agent_client.get(ASSIGNEES, {"term": "thabo"})
    assert found.status_code == 200
    assert found.json() == {
        "results": [{"id": str(colleague.pk), "text": "Thabo"}],
        "pagination": {"more": False},
    }
    everyone = agent_client.get(ASSIGNEES).json()["results"]
    assert [row["id"] for row in everyone] == [str(agent_user.pk), str(colleague.pk)]
    # What the box offers, the form takes.
    ticket = TicketFactory()
    url = f"{TICKETS}{ticket.pk}/change/"
    response = agent_client.post(url, change_form_data(agent_client, url, assignee=colleague.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Ticket.objects.get(pk=ticket.pk).assignee == colleague


def test_assignee_box_pages_by_20(agent_client):
    from apps.users.roles import AGENT
    from apps.users.services import user_provision

    for i in range(25):
        user_provision(email=f"staff{i:02d}@example.com", password="long-password-1", role=AGENT)
    first = agent_client.get(ASSIGNEES, {"term": "staff"}).json()
    second = agent_client.get(ASSIGNEES, {"term": "staff", "page": 2}).json()
    assert (len(first["results"]), first["pagination"]["more"]) == (20, True)
    assert (len(second["results"]), second["pagination"]["more"]) == (5, False)


def test_assignee_box_is_closed_to_who_cannot_edit_tickets(client, db):
    from django.contrib.auth.models import Permission

    from apps.users.models import User

    viewer = User.objects.create_user(email="viewer@example.com", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(viewer)
    assert client.get(TICKETS).status_code == 200
    assert client.get(ASSIGNEES, {"term": "a"}).status_code == 403
    client.logout()
    assert client.get(ASSIGNEES).status_code == 302  # to the login page


def _race(monkeypatch, name, before):
    """Make the admin's service `name` run `before()` first, as if another user had just acted."""
    import apps.tickets.admin as ticket_admin

    real = getattr(ticket_admin, name)

    def raced(**kwargs):
        before(kwargs.get("ticket"))
        return real(**kwargs)

    monkeypatch.setattr(ticket_admin, name, raced)


def _close(ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)


def test_a_refusal_while_saving_the_ticket_is_a_form_error(
    admin_client_mfa, admin_with_mfa, monkeypatch
):
    ticket = TicketFactory(subject="Before")
    url = f"{TICKETS}{ticket.pk}/change/"
    data = change_form_data(admin_client_mfa, url, subject="After", assignee=admin_with_mfa.pk)
    _race(monkeypatch, "ticket_assign", _close)  # closed between the form's check and the save
    response = admin_client_mfa.post(url, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() == [
        f"Ticket #{ticket.pk} is closed; reopen it before assigning it."
    ]
    assert form["subject"].value() == "After"  # what the user typed is still there
    fresh = Ticket.objects.get(pk=ticket.pk)  # the subject change was undone with the rest
    assert (fresh.subject, fresh.assignee, fresh.status) == ("Before", None, "open")
    assert fresh.history.count() == 1


def test_a_refused_reply_while_saving_is_a_form_error(admin_client_mfa, monkeypatch):
    ticket = TicketFactory(status=Ticket.Status.PENDING, subject="Before")
    url = f"{TICKETS}{ticket.pk}/change/"
    prefix = new_message_prefix(admin_client_mfa, url)
    data = change_form_data(
        admin_client_mfa, url, subject="After", **{f"{prefix}-0-body": "Ready for collection."}
    )
    _race(monkeypatch, "ticket_reply", _close)
    response = admin_client_mfa.post(url, data)
    assert response.status_code == 200
    assert f"Ticket #{ticket.pk} is closed; reopen it before replying." in (
        response.context["adminform"].form.non_field_errors()
    )
    assert Ticket.objects.get(pk=ticket.pk).subject == "Before"
    assert ticket.messages.count() == 0


def test_a_refusal_while_opening_a_ticket_is_a_form_error(admin_client_mfa, monkeypatch):
    from apps.clients.services import client_deactivate

    client = ClientFactory(name="Leaving")
    _race(monkeypatch, "ticket_open", lambda ticket: client_deactivate(client=client))
    response = admin_client_mfa.post(
        f"{TICKETS}add/",
        {"client": client.pk, "subject": "x", "channel": "email", "priority": "normal"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["client"] == [
        "Client “Leaving” is inactive; reactivate them to open a ticket."
    ]
    assert Ticket.objects.count() == 0


def test_a_refusal_while_adding_a_message_is_a_form_error(admin_client_mfa, monkeypatch):
    ticket = TicketFactory(status=Ticket.Status.RESOLVED)
    _race(monkeypatch, "ticket_reply", _close)
    response = admin_client_mfa.post(
        f"{MESSAGES}add/", {"ticket": ticket.pk, "kind": "reply", "body": "Done"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        f"Ticket #{ticket.pk} is closed; reopen it before replying."
    ]
    assert Message.objects.count() == 0
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.RESOLVED
