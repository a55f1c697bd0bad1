"""Write the schedules every app declares (apps/*/schedules.py) to django-q2; idempotent."""

import json

from django.core.management.base import BaseCommand

from apps.core.schedules import apply_schedules


class Command(BaseCommand):
    help = "Create, update or remove django-q2 schedules to match the apps' declarations."

    def handle(self, *args, **options):
        result = apply_schedules()
        for state in ("created", "updated", "removed"):
            for name in result[state]:
                self.stdout.write(f"schedules: {state} {name}")
        self.stdout.write(json.dumps({state: len(names) for state, names in result.items()}))
