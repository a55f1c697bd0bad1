"""The staff workspace: pages for Agents over the domain's services and selectors."""

from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "apps.workspace"
    label = "workspace"
    verbose_name = "Staff workspace"
