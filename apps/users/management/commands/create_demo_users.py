"""Create the demo logins `make demo` prints: one admin and two agents."""

from django.core.management.base import BaseCommand

from apps.users.roles import ADMIN, AGENT
from apps.users.services import user_provision

DEMO_USERS = [
    {"email": "admin@syncdesk.test", "role": ADMIN, "first_name": "Ada", "last_name": "Admin"},
    {"email": "agent@syncdesk.test", "role": AGENT, "first_name": "Sam", "last_name": "Agent"},
    {"email": "agent2@syncdesk.test", "role": AGENT, "first_name": "Lee", "last_name": "Agent"},
]


class Command(BaseCommand):
    help = "Create (or reset) the demo admin and agent logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="syncdesk-demo", help="password for every user")

    def handle(self, *args, password: str, **options):
        for spec in DEMO_USERS:
            user_provision(password=password, **spec)
            self.stdout.write(f"  {spec['role']:<6} {spec['email']}  /  {password}")
