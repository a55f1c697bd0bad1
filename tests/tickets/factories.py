"""Factories for tickets and messages."""

import factory

from apps.tickets.models import Message, Ticket
from tests.clients.factories import ClientFactory


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Ticket subject {n}")
    client = factory.SubFactory(ClientFactory)
    status = Ticket.Status.OPEN
    priority = Ticket.Priority.NORMAL
    channel = Ticket.Channel.EMAIL


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    direction = Message.Direction.INBOUND
    body = "Hello, where is my certificate?"
