"""App config for sync: connects the enqueue-only signal receivers."""

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "apps.sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        from apps.sync import (
            flow_receivers,  # noqa: F401 - the Zoho document loop
            receivers,  # noqa: F401 - registers the receivers
        )
