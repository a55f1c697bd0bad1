"""Load the demo business: clients, catalogue, tickets, quotes and invoices; idempotent."""

import json

from django.core.management.base import BaseCommand

from apps.invoices.demo import load_demo_documents


class Command(BaseCommand):
    help = "Create the demo clients, services, tickets, quotes and invoices that are missing."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(load_demo_documents()))
