"""App config for the Xero emulator (label `sandbox_xero`)."""

from django.apps import AppConfig


class XeroSandboxConfig(AppConfig):
    name = "apps.sandbox.xero"
    label = "sandbox_xero"
    verbose_name = "Sandbox: Xero"
