"""Prepare a database for the load benchmark (`python -m tests.load.prepare OUT.json [USERS]`,
with the stack's settings and DATABASE_URL): the demo business (clients, catalogue, tickets,
quotes, invoices), USERS agents each with a signed-in session and an API token, and open invoices
to record payments on. Writes what the locustfile needs (session keys, tokens, ids) to OUT.json,
outside the repository's tracked files (var/ by default): it holds credentials for that
database only."""

import json
import os
import sys

import django


def main(out: str, users: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    django.setup()
    # After django.setup(): these import models.
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.api.services import api_token_create
    from apps.catalog.models import Service
    from apps.clients.models import Client
    from apps.invoices import services as invoices
    from apps.invoices.demo import load_demo_documents
    from apps.invoices.models import Invoice
    from apps.quotes.models import Quote
    from apps.tickets.models import Ticket
    from apps.users.models import User
    from apps.users.roles import AGENT
    from apps.users.services import user_provision

    load_demo_documents()
    staff = []
    for n in range(users):
        email = f"load-agent-{n}@example.com"
        user = User.objects.filter(email=email).first() or user_provision(
            email=email, password="load-agent-long-password", role=AGENT
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        _, token = api_token_create(user=user, name="load benchmark")
        staff.append({"session": session.session_key, "token": token})
    clients = list(Client.objects.filter(email__gt="").values_list("pk", flat=True)[:200])
    services = list(Service.objects.values_list("pk", flat=True)[:50])
    # Open invoices with room for many one-cent payments.
    agent = User.objects.get(email="load-agent-0@example.com")
    open_ids = list(
        Invoice.objects.filter(status__in=Invoice.OPEN_STATUSES).values_list("pk", flat=True)
    )
    for client_id in clients[: max(0, 20 - len(open_ids))]:
        invoice = invoices.invoice_create(
            client=Client.objects.get(pk=client_id),
            created_by=agent,
            lines=[{"name": "Load benchmark retainer", "quantity": "1", "rate": "100000.00"}],
        )
        open_ids.append(invoices.invoice_send(invoice=invoice).pk)
    data = {
        "staff": staff,
        "clients": clients,
        "services": services,
        "quotes": list(Quote.objects.values_list("pk", flat=True)[:200]),
        "invoices": list(Invoice.objects.values_list("pk", flat=True)[:200]),
        "tickets": list(Ticket.objects.values_list("pk", flat=True)[:200]),
        "open_invoices": open_ids,
    }
    with open(out, "w") as handle:
        json.dump(data, handle)
    print(json.dumps({key: len(value) for key, value in data.items()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50)
