"""The chaos run's driver: `python -m tests.chaos.driver CHANGES SEED` makes CHANGES domain
changes through the services, as staff would (each commits its outbox rows with it and wakes the
workers through the configured broker after commit). A change is one of: a client created, a quote
sent, a quote accepted, an invoice made from it, the invoice sent, a payment recorded. Many
stories run interleaved, so the workers see several clients' documents queued together.

Prints one progress line per thousand changes and, last, one JSON line with the counts."""

import json
import os
import random
import sys
import time

import django

STEPS = ("client", "quote_sent", "quote_accepted", "invoice", "invoice_sent", "payment")
OPEN_STORIES = 25


def main(changes: int, seed: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    django.setup()
    # After django.setup(): the services import models, which need the app registry.
    from apps.catalog.services import service_create
    from apps.clients.services import client_create
    from apps.invoices import services as invoices
    from apps.quotes import services as quotes
    from apps.users.roles import AGENT
    from apps.users.services import user_provision

    rng = random.Random(seed)
    agent = user_provision(
        email=f"chaos-agent-{seed}@example.com", password="chaos-agent-long-pass", role=AGENT
    )
    services = [
        service_create(name=f"Chaos service {n}", rate=f"{100 + 25 * n}.00", sku=f"CH{seed}-{n}")
        for n in range(3)
    ]
    made = dict.fromkeys(STEPS, 0) | {"services": len(services)}
    done = len(services)
    stories: list[dict] = []
    started = time.monotonic()
    serial = 0
    while done < changes:
        if len(stories) < OPEN_STORIES:
            serial += 1
            stories.append({"n": serial, "step": 0})
        story = rng.choice(stories)
        step = STEPS[story["step"]]
        n = story["n"]
        if step == "client":
            story["client"] = client_create(
                name=f"Chaos client {seed}-{n}", email=f"chaos-{seed}-{n}@example.com"
            )
        elif step == "quote_sent":
            quote = quotes.quote_create(created_by=agent, client=story["client"])
            for service in rng.sample(services, 2):
                quotes.quote_line_add(quote=quote, service=service, quantity=str(rng.randint(1, 4)))
            story["quote"] = quotes.quote_send(quote=quote)
        elif step == "quote_accepted":
            story["quote"] = quotes.quote_accept(quote=story["quote"])
        elif step == "invoice":
            story["invoice"] = invoices.invoice_create_from_quote(quote=story["quote"])
        elif step == "invoice_sent":
            story["invoice"] = invoices.invoice_send(invoice=story["invoice"])
        else:
            invoice = story["invoice"]
            invoice.refresh_from_db()
            invoices.payment_record(invoice=invoice, amount=str(invoice.total / 2))
        made[step] += 1
        done += 1
        story["step"] += 1
        if story["step"] == len(STEPS):
            stories.remove(story)
        if done % 1000 == 0:
            print(f"driver: {done} changes in {time.monotonic() - started:.0f} s", flush=True)
    return {"changes": done, "made": made, "seconds": round(time.monotonic() - started, 1)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))), flush=True)
