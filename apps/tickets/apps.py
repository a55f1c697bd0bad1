"""App config for tickets."""

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "apps.tickets"
    verbose_name = "Tickets"
