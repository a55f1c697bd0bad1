"""App config for sandbox."""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "apps.sandbox"
    verbose_name = "Sandbox"
