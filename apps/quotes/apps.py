"""App config for quotes."""

from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "apps.quotes"
    verbose_name = "Quotes"
