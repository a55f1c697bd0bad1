"""Everything `make demo` prepares before it starts the servers, in one idempotent command.

Each step is a management command of the app that owns it; apps add their step to DEMO_STEPS.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

# (command name, positional args, options), run in this order.
DEMO_STEPS: list[tuple[str, tuple, dict]] = [
    ("create_demo_users", (), {}),
    ("load_demo_data", (), {}),
    # Seeds the vendor sandbox and connects to it (Zoho Books and Xero); the next step copies
    # some demo clients into its books, pulls once (linking those, creating the others) and
    # leaves a few open conflicts in the queue; the schedules step then keeps sync running.
    ("sync_connect_sandbox", (), {}),
    ("sync_demo_conflicts", (), {}),
    # One Xero organisation with documents flowing: a quote reaches both books.
    ("sync_demo_xero", (), {}),
    ("schedules_apply", (), {}),
]


class Command(BaseCommand):
    help = "Prepare the demo: users, demo data, sandbox and its connection, schedules."

    def handle(self, *args, **options):
        for name, positional, step_options in DEMO_STEPS:
            self.stdout.write(f"demo: {name} {' '.join(positional)}".rstrip())
            call_command(name, *positional, **step_options, stdout=self.stdout)
