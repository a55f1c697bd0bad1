"""The outage drill, shared by its CI-sized test (test_outage_drill.py) and its benchmark
(tests/benchmarks/bench_outage.py): Zoho Books (the sandbox, in its own web server process on its
own database) answers 503 to everything for a scaled 24 hours while a script makes changes as
staff would and staff pages are opened; then it recovers and the queue drains.

One clock: the sandbox's vendor minute lasts `seconds_per_minute` real seconds and our
SYNC_CLOCK_SCALE is the same ratio, so the outage, the outbox's backoff, the circuit's probes and
the vendor's rate limits all run on it. The worker is this process's loop (a drain after every
change, as the commit's kick would start one, and the minute sweep's idle probe); the health
alert runs every five vendor minutes, as its schedule does. What is compared at the end is the
sandbox's own records (its database, read with SQL), not our bookkeeping.
"""

import itertools
import statistics
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone
from django_q.conf import Conf

from apps.clients import services as client_services
from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.sync.engine import circuit, outbox
from apps.sync.models import (
    Binding,
    BindingStatus,
    CircuitState,
    Connection,
    ConnectionCircuit,
    OutboxItem,
    OutboxStatus,
    SyncLog,
)
from apps.sync.selectors import sync_health, sync_health_alert
from tests.quotes.factories import DocServiceFactory
from tests.sync.sandbox import point_settings_at, sync
from tests.sync.stack import Stack

BOOKS_PER_MINUTE = 100  # Books' published limit per organisation (vendor-contracts §2.8)
# One change in ten of each kind, in this order, over and over.
MIX = [
    "client_create",
    "client_update",
    "quote_send",
    "quote_send",
    "quote_accept",
    "invoice_send",
    "payment",
    "client_create",
    "quote_send",
    "payment",
]


@dataclass
class Driver:
    """Makes the changes staff make, through the same services their pages call."""

    agent: object
    service: object
    clients: list = field(default_factory=list)
    updated: dict = field(default_factory=dict)  # client id -> phone
    sent: list = field(default_factory=list)  # quotes sent, in order
    accepted: list = field(default_factory=list)  # accepted, not yet invoiced
    invoices: list = field(default_factory=list)  # sent, in order
    payments: list = field(default_factory=list)  # (invoice number, amount)
    made: int = 0

    def change(self, number: int) -> str:
        kind = MIX[number % len(MIX)]
        if kind == "client_update" and not self.clients:
            kind = "client_create"
        if kind == "quote_accept" and not [q for q in self.sent if q.status == "sent"]:
            kind = "quote_send"
        if kind == "invoice_send" and not self.accepted:
            kind = "quote_send"
        if kind == "payment" and not [i for i in self.invoices if i.balance > 0]:
            kind = "client_create"
        getattr(self, kind)(number)
        self.made += 1
        return kind

    def client_create(self, number: int) -> None:
        self.clients.append(
            client_services.client_create(
                name=f"Drill client {number:04d}", email=f"drill{number:04d}@example.co.za"
            )
        )

    def client_update(self, number: int) -> None:
        client = self.clients[number % len(self.clients)]
        phone = f"082 555 {number:04d}"
        client_services.client_update(client=client, data={"phone": phone})
        self.updated[client.pk] = phone

    def quote_send(self, number: int) -> None:
        if not self.clients:
            self.client_create(number)
        client = self.clients[number % len(self.clients)]
        quote = quote_services.quote_create(created_by=self.agent, client=client)
        quote_services.quote_line_add(quote=quote, service=self.service, quantity="2")
        self.sent.append(quote_services.quote_send(quote=quote))

    def quote_accept(self, number: int) -> None:
        quote = next(q for q in self.sent if q.status == "sent")
        quote = quote_services.quote_accept(quote=quote)
        self.sent[self.sent.index(next(q for q in self.sent if q.pk == quote.pk))] = quote
        self.accepted.append(quote)

    def invoice_send(self, number: int) -> None:
        quote = self.accepted.pop(0)
        invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=self.agent)
        self.invoices.append(invoice_services.invoice_send(invoice=invoice))

    def payment(self, number: int) -> None:
        invoice = next(i for i in self.invoices if i.balance > 0)
        amount = min(invoice.balance, Decimal("40.00"))
        invoice_services.payment_record(invoice=invoice, amount=amount)
        invoice.refresh_from_db()
        self.payments.append((invoice.number, amount))


class Pages:
    """Staff pages an Agent opens, timed (milliseconds) and checked: 200, no error shown."""

    def __init__(self, agent) -> None:
        self.http = HttpClient()
        self.http.force_login(agent)
        self.samples: dict[str, list[float]] = {}
        self.problems: list[str] = []
        self.pending_badges = 0

    def urls(self, driver: Driver) -> dict[str, str]:
        return {
            "home": "/",
            "quote": f"/quotes/{driver.sent[-1].pk}/",
            "client": f"/clients/{driver.clients[-1].pk}/",
            "invoice": f"/invoices/{driver.invoices[-1].pk}/",
            "tickets": "/tickets/",
        }

    def open_all(self, driver: Driver, phase: str) -> None:
        for name, url in self.urls(driver).items():
            started = time.perf_counter()
            response = self.http.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            self.samples.setdefault(f"{phase}:{name}", []).append(elapsed)
            page = response.content.decode()
            if response.status_code != 200:
                self.problems.append(f"{phase} {url}: HTTP {response.status_code}")
            elif name == "quote" and phase == "down":
                # The quote's sync state while the vendor is down: pending, never an error.
                if 'badge-warn">Pending' in page:
                    self.pending_badges += 1
                for error in ("Failed", "Dead letter", "Traceback"):
                    if error in page:
                        self.problems.append(f"{phase} {url}: shows {error!r}")

    def ratios(self) -> dict[str, float]:
        figures = {}
        for name in ("home", "quote", "client", "invoice", "tickets"):
            up = statistics.median(self.samples[f"up:{name}"])
            down = statistics.median(self.samples[f"down:{name}"])
            figures[f"{name}_up_ms"] = round(up, 1)
            figures[f"{name}_down_ms"] = round(down, 1)
            figures[f"{name}_ratio"] = round(down / up, 2)
            # Against the pages once the vendor is back, with the outage's rows in the database.
            after = statistics.median(self.samples[f"after:{name}"])
            figures[f"{name}_after_ms"] = round(after, 1)
            figures[f"{name}_ratio_vs_after"] = round(down / after, 2)
        return figures


def _sandbox(stack: Stack, *args: str) -> None:
    stack.manage("sandbox", *args)


def _drain_once() -> dict:
    counts = outbox.outbox_drain()
    circuit.probe_idle()
    return counts


def _settled() -> bool:
    return not OutboxItem.objects.filter(
        status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
    ).exists()


def run_drill(
    *,
    stack: Stack,
    settings,
    monkeypatch,
    agent,
    changes: int,
    seconds_per_minute: float,
    outage_vendor_hours: float = 24,
    page_rounds: int = 10,
) -> dict:
    """Run the drill on a started stack; returns its figures (and the checks' findings)."""
    if not settings.ZOHO_CLIENT_ID:  # outside tests/sync (the benchmark): the demo client
        settings.ZOHO_CLIENT_ID = settings.SANDBOX_DEMO_CLIENTS["ZOHO_CLIENT_ID"]
        settings.ZOHO_CLIENT_SECRET = settings.SANDBOX_DEMO_CLIENTS["ZOHO_CLIENT_SECRET"]
    zoho = stack.seed(
        skip_xero=True,
        client_id=settings.ZOHO_CLIENT_ID,
        client_secret=settings.ZOHO_CLIENT_SECRET,
    )["zoho"]
    org = zoho["organization_id"]
    stack.vendor_minute_set(vendor="zoho", account=org, seconds=seconds_per_minute)
    point_settings_at(settings, f"http://127.0.0.1:{stack.port}")
    # Tasks go to the broker as in production (quote e-mails, kicks): the loop below is the
    # only worker, and no PDF is rendered inside a change.
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.SYNC_CLOCK_SCALE = seconds_per_minute / 60
    # Production timings (30 s backoff doubling to 6 h, probes from 30 s to 15 min), scaled.
    settings.SYNC_OUTBOX_BACKOFF_BASE = 30.0
    settings.SYNC_OUTBOX_BACKOFF_CAP = 6 * 3600.0
    settings.SYNC_CIRCUIT_PROBE_BASE = 30.0
    settings.SYNC_CIRCUIT_PROBE_CAP = 900.0
    settings.ADMINS = [("Ops", "ops@example.com")]
    vendor_minute = seconds_per_minute
    sync(
        "connect",
        "zoho",
        "--refresh-token",
        zoho["refresh_token"],
        "--organization-id",
        org,
        "--name",
        "Books",
    )
    connection = Connection.objects.get()
    # Books' larger plan (10,000 calls a day): on a clock this fast, a day is seconds long, and
    # the default 1,000 would raise the budget alert, another incident than the outage's.
    connection.daily_limit = 10_000
    connection.save(update_fields=["daily_limit"])

    driver = Driver(agent=agent, service=DocServiceFactory())
    pages = Pages(agent)
    # Up: a few changes of every kind, sent, then the pages timed with the vendor answering.
    for number in range(len(MIX) * 2):
        driver.change(number)
        _drain_once()
    deadline = time.monotonic() + 120
    while not _settled() and time.monotonic() < deadline:
        _drain_once()
    for _ in range(page_rounds):
        pages.open_all(driver, "up")
    mail.outbox.clear()
    warm_changes = driver.made

    # Down: 503 to everything for the outage, the changes spread over it.
    _sandbox(stack, "fault", "zoho", org, "--error-share", "1.0", "--error-status", "503")
    outage_seconds = outage_vendor_hours * 60 * vendor_minute
    started = time.monotonic()
    next_alert = started
    page_every = max(1, changes // page_rounds)
    for number in range(changes):
        driver.change(warm_changes + number)
        _drain_once()  # what the commit's kick starts
        if number % page_every == page_every - 1:
            pages.open_all(driver, "down")
        now = time.monotonic()
        if now >= next_alert:
            sync_health_alert()
            next_alert = now + 5 * vendor_minute
        pause = started + outage_seconds * (number + 1) / (changes + 1) - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    while time.monotonic() < started + outage_seconds:
        _drain_once()
        if time.monotonic() >= next_alert:
            sync_health_alert()
            next_alert = time.monotonic() + 5 * vendor_minute
        time.sleep(min(vendor_minute, 0.2))
    outage_real = time.monotonic() - started
    during = {
        "circuit_open": ConnectionCircuit.objects.filter(
            pk=connection.pk, state=CircuitState.OPEN
        ).exists(),
        "queued": OutboxItem.objects.filter(status=OutboxStatus.PENDING).count(),
        "attempts_spent": sum(
            OutboxItem.objects.filter(status=OutboxStatus.PENDING).values_list(
                "attempts", flat=True
            )
        ),
        "dead_letters": OutboxItem.objects.filter(status=OutboxStatus.DEAD).count(),
        "probes": ConnectionCircuit.objects.get(pk=connection.pk).probes,
        "paused_label": sync_health()["connections"][0]["paused"],
    }

    # Back: the queue drains by itself (probe, close, send in order).
    _sandbox(stack, "fault", "zoho", org, "--clear")
    recovered_at = timezone.now()
    started = time.monotonic()
    deadline = started + max(600, changes * 3)
    while not _settled() and time.monotonic() < deadline:
        counts = _drain_once()
        if time.monotonic() >= next_alert:
            sync_health_alert()
            next_alert = time.monotonic() + 5 * vendor_minute
        if not counts:
            time.sleep(min(vendor_minute / 10, 0.05))
    recovery_seconds = time.monotonic() - started
    sync_health_alert()
    # Up again with all the outage's data: the same pages, for a like-for-like ratio.
    for _ in range(page_rounds):
        pages.open_all(driver, "after")

    calls = list(
        SyncLog.objects.filter(created_at__gte=recovered_at)
        .order_by("created_at")
        .values_list("created_at", "status_code")
    )
    moments = [moment.timestamp() for moment, _ in calls]
    busiest, start = 0, 0
    for end in range(len(moments)):
        while moments[end] - moments[start] >= vendor_minute:
            start += 1
        busiest = max(busiest, end - start + 1)

    figures = {
        "changes": changes,
        "warm_changes": warm_changes,
        "seconds_per_minute": seconds_per_minute,
        "outage_vendor_hours": outage_vendor_hours,
        "outage_seconds": round(outage_real, 1),
        "outage_vendor_hours_actual": round(outage_real / vendor_minute / 60, 1),
        **{f"during_{key}": value for key, value in during.items()},
        "recovery_seconds": round(recovery_seconds, 1),
        "recovery_vendor_minutes": round(recovery_seconds / vendor_minute, 1),
        "recovery_calls": len(calls),
        "r429": sum(1 for _, status in calls if status == 429),
        "busiest_vendor_minute_calls": busiest,
        "vendor_limit_per_minute": BOOKS_PER_MINUTE,
        "left_in_queue": OutboxItem.objects.filter(
            status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
        ).count(),
        "dead_letters": OutboxItem.objects.filter(status=OutboxStatus.DEAD).count(),
        "totals_differ": Binding.objects.filter(status=BindingStatus.TOTALS_DIFFER).count(),
        "admin_emails": [m.subject for m in mail.outbox],
        "admin_email_bodies": [m.body for m in mail.outbox],
        "page_problems": pages.problems,
        "pending_badges_seen": pages.pending_badges,
        **pages.ratios(),
        **compare_with_sandbox(stack, driver),
    }
    return figures


def _order_violations(remote: list[str], local: list[str]) -> int:
    """Remote documents out of the order they were made here (adjacent pairs reversed)."""
    position = {number: index for index, number in enumerate(local)}
    known = [position[number] for number in remote if number in position]
    return sum(1 for a, b in itertools.pairwise(known) if b < a)


def compare_with_sandbox(stack: Stack, driver: Driver) -> dict:
    """What the vendor has, read from its own database, against what was made here."""
    contacts = [row[0] for row in stack.query("SELECT email FROM sandbox_bookscontact")]
    phones = dict(stack.query("SELECT email, phone FROM sandbox_bookscontact"))
    estimates = [
        row[0]
        for row in stack.query("SELECT reference_number FROM sandbox_booksestimate ORDER BY id")
    ]
    invoices = [
        row[0]
        for row in stack.query("SELECT reference_number FROM sandbox_booksinvoice ORDER BY id")
    ]
    paid = stack.query("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM sandbox_bookspayment")[0]
    local_emails = [c.email.lower() for c in driver.clients]
    local_quotes = [q.number for q in driver.sent]
    local_invoices = [i.number for i in driver.invoices]
    lost = (
        len(set(local_emails) - {e.lower() for e in contacts})
        + len(set(local_quotes) - set(estimates))
        + len(set(local_invoices) - set(invoices))
        + max(0, len(driver.payments) - paid[0])
    )
    duplicates = (
        len(contacts)
        - len(set(contacts))
        + len(estimates)
        - len(set(estimates))
        + len(invoices)
        - len(set(invoices))
        + max(0, paid[0] - len(driver.payments))
    )
    emails = {c.pk: c.email for c in driver.clients}
    stale_updates = sum(
        1 for pk, phone in driver.updated.items() if phones.get(emails[pk]) != phone
    )
    return {
        "remote_contacts": len(contacts),
        "remote_estimates": len(estimates),
        "remote_invoices": len(invoices),
        "remote_payments": paid[0],
        "payments_amount_matches": Decimal(str(paid[1])) == sum(a for _, a in driver.payments),
        "lost": lost,
        "duplicates": duplicates,
        "stale_updates": stale_updates,
        "order_violations": _order_violations(estimates, local_quotes)
        + _order_violations(invoices, local_invoices),
    }
