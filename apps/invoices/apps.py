"""App config for invoices."""

from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "apps.invoices"
    verbose_name = "Invoices"
