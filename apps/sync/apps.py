"""App config for sync: loads the connectors named in settings.SYNC_CONNECTORS into the registry
and connects the enqueue-only signal receivers."""

from django.apps import AppConfig
from django.conf import settings

from apps.sync.engine import registry


class SyncConfig(AppConfig):
    name = "apps.sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        # Imported here, not at the top: models cannot load before the app registry is ready.
        from apps.sync import receivers  # noqa: F401 - connects the receivers

        registry.load(settings.SYNC_CONNECTORS)
