"""Load benchmark (not a test): 50 staff against gunicorn, each waiting 1-3 s between requests;
60% staff pages, 30% API reads, 10% writes (a quote created and sent, a payment recorded).

HTTP only, no project imports: locust monkey-patches with gevent on import, so it runs from its
own virtualenv (`make load`, requirements-load.txt). Reads the sessions, tokens and ids that
tests/load/prepare.py wrote (LOAD_DATA, var/load/users.json by default). The stack runs the
production settings behind what would be a TLS proxy: requests say X-Forwarded-Proto: https, and
the (Secure) session cookie is sent by hand over the loopback's plain HTTP."""

import itertools
import json
import os
import random

from locust import HttpUser, between, task

DATA = json.load(open(os.environ.get("LOAD_DATA", "var/load/users.json")))  # noqa: SIM115
STAFF = itertools.cycle(DATA["staff"])
# (name in the figures, path); a "{kind}" is one of the prepared ids of that kind.
PAGES = [
    "/",
    "/tickets/",
    "/tickets/{tickets}/",
    "/quotes/{quotes}/",
    "/invoices/{invoices}/",
    "/clients/{clients}/",
    "/reports/receivables/",
    "/search/?q={words}",
]
READS = [
    "/api/v1/clients/",
    "/api/v1/quotes/",
    "/api/v1/invoices/",
    "/api/v1/quotes/{quotes}/",
    "/api/v1/invoices/{invoices}/",
    "/api/v1/services/",
]
DATA["words"] = ["acme", "invoice", "Q-", "smith", "court"]


def _path(template: str) -> str:
    return template.format(**{kind: random.choice(DATA[kind]) for kind in DATA if kind != "staff"})


class Staff(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        me = next(STAFF)
        origin = self.host.replace("http://", "https://")
        self.page_headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": f"sessionid={me['session']}",
            "Referer": origin + "/",
        }
        self.api_headers = {
            "X-Forwarded-Proto": "https",
            "Authorization": f"Bearer {me['token']}",
        }

    @task(60)
    def page(self):
        template = random.choice(PAGES)
        self.client.get(_path(template), headers=self.page_headers, name=f"page {template}")

    @task(30)
    def api_read(self):
        template = random.choice(READS)
        self.client.get(_path(template), headers=self.api_headers, name=f"api {template}")

    @task(10)
    def write(self):
        if random.random() < 0.5:
            self.quote_create_and_send()
        else:
            self.payment_record()

    def quote_create_and_send(self):
        body = {
            "client": random.choice(DATA["clients"]),
            "lines": [
                {"service": service, "quantity": str(random.randint(1, 3))}
                for service in random.sample(DATA["services"], 2)
            ],
        }
        answer = self.client.post(
            "/api/v1/quotes/", json=body, headers=self.api_headers, name="write quote create"
        )
        if answer.status_code == 201:
            self.client.post(
                f"/api/v1/quotes/{answer.json()['id']}/send/",
                headers=self.api_headers,
                name="write quote send",
            )

    def payment_record(self):
        invoice = random.choice(DATA["open_invoices"])
        self.client.post(
            f"/api/v1/invoices/{invoice}/payments/",
            json={"amount": "0.01", "mode": "bank_transfer", "reference": "load"},
            headers=self.api_headers,
            name="write payment",
        )
