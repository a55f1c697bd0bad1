"""App config for the REST API."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    verbose_name = "API"

    def ready(self) -> None:
        # drf-spectacular finds the Bearer scheme through this extension's import.
        from apps.api import schema  # noqa: F401
