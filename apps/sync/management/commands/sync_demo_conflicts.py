"""`manage.py sync_demo_conflicts`: the demo's first sync with overlapping data and a few open
conflicts (apps/sync/demo.py), with the sandbox served from a thread while it runs."""

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ApplicationError
from apps.sync.connectors.zoho.demo import demo_sync_seed
from apps.sync.management.commands.sync_connect_sandbox import serving_sandbox


class Command(BaseCommand):
    help = "Seed overlapping demo data in the sandbox, pull once, leave a few open conflicts."

    def handle(self, *args, **options):
        with serving_sandbox():
            try:
                lines = demo_sync_seed()
            except ApplicationError as error:
                raise CommandError(error.message) from error
        for line in lines:
            self.stdout.write(f"sync: {line}")
