"""Demo data: the catalogue, clients and tickets load through the services, and only once."""

import pytest

from apps.catalog.demo import demo_catalog, load_demo_catalog
from apps.catalog.models import Service, TaxRate
from apps.clients.demo import load_demo_clients
from apps.clients.models import Client
from apps.tickets.demo import load_demo_tickets
from apps.tickets.models import Message, Ticket
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.clients.factories import snapshot

pytestmark = pytest.mark.django_db


def test_demo_catalog_loads_once():
    assert load_demo_catalog() == {"tax_rates": 2, "services": len(demo_catalog()["services"])}
    assert Service.objects.count() >= 40
    assert len(set(Service.objects.values_list("sku", flat=True))) == Service.objects.count()
    categories = set(Service.objects.values_list("category", flat=True))
    assert {
        "Home Affairs certificates",
        "Apostille and authentication",
        "Police clearance",
        "Notary",
        "Courier",
    } <= categories
    assert Service.history.count() == Service.objects.count()
    before = snapshot(Service, TaxRate)
    assert load_demo_catalog() == {"tax_rates": 0, "services": 0}
    assert snapshot(Service, TaxRate) == before


def test_demo_clients_load_once_and_are_valid():
    assert load_demo_clients() == {"clients": 50}
    assert Client.objects.filter(active=True).count() == 50
    assert Client.objects.exclude(company="").count() >= 10
    assert len(set(Client.objects.values_list("email", flat=True))) == 50
    for client in Client.objects.all():
        client.full_clean()
    before = snapshot(Client)
    assert load_demo_clients() == {"clients": 0}
    assert snapshot(Client) == before


def test_demo_tickets_cover_statuses_and_channels_and_load_once():
    agents = [
        user_provision(email=f"agent{i}@example.com", password="long-password-1", role=AGENT)
        for i in range(2)
    ]
    result = load_demo_tickets()
    assert result["tickets"] >= 25
    assert Client.objects.count() == 50  # the clients came along
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert set(Ticket.objects.values_list("channel", flat=True)) == set(Ticket.Channel.values)
    assert set(Ticket.objects.values_list("priority", flat=True)) == set(Ticket.Priority.values)
    assert {(m.direction, m.is_internal_note) for m in Message.objects.all()} == {
        ("in", False),
        ("out", False),
        ("out", True),
    }
    assert Message.objects.count() == result["messages"]
    assert set(Ticket.objects.exclude(assignee=None).values_list("assignee", flat=True)) == {
        agent.pk for agent in agents
    }
    assert Ticket.objects.filter(assignee=None).exists()
    assert (
        Ticket.objects.order_by("created_at").first().created_at
        < Ticket.objects.latest("created_at").created_at
    )
    before = snapshot(Ticket, Message, Client)
    assert load_demo_tickets() == {"tickets": 0, "messages": 0}
    assert snapshot(Ticket, Message, Client) == before


def test_demo_tickets_load_without_any_agent():
    result = load_demo_tickets()
    assert result["tickets"] >= 25
    assert not Ticket.objects.exclude(assignee=None).exists()
