"""`manage.py sync_demo_xero`: the demo's Xero organisation with documents flowing (one quote
sent, accepted, invoiced and part paid, pushed to every connected book), with the sandbox
served from a thread while it runs."""

from django.core.management.base import BaseCommand

from apps.sync.connectors.xero.demo import demo_xero_documents
from apps.sync.management.commands.sync_connect_sandbox import serving_sandbox


class Command(BaseCommand):
    help = "Connect one sandbox Xero organisation and push one quote's life to every book."

    def handle(self, *args, **options):
        with serving_sandbox():
            lines = demo_xero_documents()
        for line in lines:
            self.stdout.write(f"sync: {line}")
