"""Connection-level failures against the sandbox over real HTTP: Books answers 503 to everything,
then recovers; its refresh token is refused; the connection is disconnected and reconnected. The
queue pauses instead of spending attempts and dead-lettering, and resumes in order."""

import time

import pytest
from django.core import mail

from apps.quotes import services as quote_services
from apps.sandbox import faults
from apps.sandbox.zoho import accounts as sandbox_accounts
from apps.sandbox.zoho.models import BooksContact, BooksEstimate, ZohoRefreshToken
from apps.sync import services
from apps.sync.engine import outbox
from apps.sync.models import (
    Binding,
    BindingStatus,
    CircuitReason,
    CircuitState,
    Connection,
    ConnectionCircuit,
    ConnectionStatus,
    OutboxItem,
    OutboxStatus,
    SyncLog,
)
from apps.sync.selectors import sync_health
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.factories import expire
from tests.sync.sandbox import books_connect, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, settings, monkeypatch):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.SYNC_CIRCUIT_FAILURES = 5
    # The test drains itself, as a worker would; nothing is sent inline after each commit.
    monkeypatch.setattr(outbox, "_kick", lambda: None)
    return books_connect(settings, live_server.url)


def send_quotes(agent, count: int) -> list:
    client, service = DocClientFactory(), DocServiceFactory()
    quotes = []
    for _ in range(count):
        quote = quote_services.quote_create(created_by=agent, client=client)
        quote_services.quote_line_add(quote=quote, service=service, quantity="2")
        quotes.append(quote_services.quote_send(quote=quote))
    return quotes


def drain_until_settled(seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outbox.outbox_drain()
        if not OutboxItem.objects.filter(status__in=["pending", "in_flight"]).exists():
            return
        time.sleep(0.05)  # the backoff and the probe delay (tens of ms in tests) run out
    raise AssertionError(list(OutboxItem.objects.values("id", "status", "last_error")))


def sync_mail() -> list[str]:
    """The subjects of the circuit's e-mails to Admins (the quotes' own e-mails left out)."""
    return [m.subject for m in mail.outbox if m.subject.startswith("[Django] Sync")]


def attempts() -> int:
    return sum(OutboxItem.objects.values_list("attempts", flat=True))


def reconnect(books_seed: dict) -> None:
    """A new refresh token for the same organisation (an Admin's consent), and connect with it."""
    old = ZohoRefreshToken.objects.get(token=books_seed["refresh_token"])
    new = sandbox_accounts.refresh_token_issue(
        client=old.client, organization=old.organization, scope=old.scope
    )
    sync(
        "connect",
        "zoho",
        "--refresh-token",
        new.token,
        "--organization-id",
        books_seed["organization_id"],
        "--name",
        "Books",
    )


def test_503_to_everything_pauses_then_everything_goes_in_order(books, agent_user):
    org = books["organization_id"]
    faults.fault_plan_set(vendor="zoho", account=org, error_share=1.0, error_status=503)
    quotes = send_quotes(agent_user, 12)
    connection = Connection.objects.get()

    # Documents go one at a time, in order: the first quote's estimate fails, is retried after
    # its backoff, fails again… until the fifth failure in a row opens the circuit.
    for _ in range(40):
        outbox.outbox_drain()
        if ConnectionCircuit.objects.filter(pk=connection.pk, state=CircuitState.OPEN).exists():
            break
        time.sleep(0.06)
    circuit = ConnectionCircuit.objects.get(pk=connection.pk)
    assert (circuit.state, circuit.reason) == (CircuitState.OPEN, CircuitReason.SERVER_ERRORS)
    # The four failures before the fifth opened it were each an attempt; no more.
    spent, calls, probes = attempts(), SyncLog.objects.count(), circuit.probes
    assert spent == 4
    for _ in range(10):  # the vendor stays down; workers keep draining; probes go
        time.sleep(0.06)
        outbox.outbox_drain()
    circuit.refresh_from_db()
    assert circuit.state == CircuitState.OPEN and circuit.probes >= probes + 3
    assert attempts() == spent  # no attempt spent while open
    assert SyncLog.objects.count() - calls == circuit.probes - probes  # a call per probe
    assert not OutboxItem.objects.filter(status__in=["dead", "discarded"]).exists()
    assert Binding.objects.filter(entity="quotes", status=BindingStatus.PENDING).count() == 12
    health = sync_health()["connections"][0]
    assert health["paused"].startswith("paused: vendor failing (5xx) since ")
    assert sync_mail() == ["[Django] Sync paused: Books (vendor failing (5xx))"]

    faults.fault_plan_clear(vendor="zoho", account=org)
    drain_until_settled()
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}
    estimates = list(
        BooksEstimate.objects.order_by("id").values_list("reference_number", flat=True)
    )
    assert estimates == [quote.number for quote in quotes]  # all pushed, in order, once
    assert ConnectionCircuit.objects.get(pk=connection.pk).state == CircuitState.CLOSED
    assert sync_health()["connections"][0]["paused"] == ""
    assert sync_mail() == [
        "[Django] Sync paused: Books (vendor failing (5xx))",
        "[Django] Sync resumed: Books",
    ]


def test_refused_refresh_token_pauses_until_reconnected(books, agent_user):
    connection = Connection.objects.get()
    sandbox_accounts.token_revoke(token=books["refresh_token"])  # e.g. revoked in Zoho's console
    expire(connection)
    quotes = send_quotes(agent_user, 3)

    for _ in range(3):
        outbox.outbox_drain()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    circuit = ConnectionCircuit.objects.get(pk=connection.pk)
    assert (circuit.state, circuit.reason) == (CircuitState.OPEN, CircuitReason.NEEDS_REAUTH)
    assert attempts() == 0  # the refusal opened it at once; nothing was spent
    assert not OutboxItem.objects.exclude(status=OutboxStatus.PENDING).exists()
    health = sync_health()["connections"][0]
    assert health["paused"].startswith("paused: needs re-authorisation since ")
    assert sync_mail() == ["[Django] Sync paused: Books (needs re-authorisation)"]

    reconnect(books)
    assert Connection.objects.get().pk == connection.pk  # the same organisation: resumed
    drain_until_settled()
    estimates = list(
        BooksEstimate.objects.order_by("id").values_list("reference_number", flat=True)
    )
    assert estimates == [quote.number for quote in quotes]
    assert sync_mail() == [
        "[Django] Sync paused: Books (needs re-authorisation)",
        "[Django] Sync resumed: Books",
    ]


def test_disconnect_keeps_bindings_and_queue_and_reconnecting_resumes(books, agent_user):
    first = send_quotes(agent_user, 2)
    drain_until_settled()
    queued = send_quotes(agent_user, 3)
    connection = Connection.objects.get()
    bound = Binding.objects.filter(connection=connection, remote_id__isnull=False).count()
    waiting = OutboxItem.objects.filter(status=OutboxStatus.PENDING).count()
    spent = attempts()
    services.connection_disconnect(connection=connection)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED

    outbox.outbox_drain()
    assert bound >= 3 and waiting >= 3  # the client and two estimates; three quotes queued
    assert Binding.objects.filter(connection=connection, remote_id__isnull=False).count() == bound
    assert OutboxItem.objects.filter(status=OutboxStatus.PENDING).count() == waiting
    assert attempts() == spent
    assert BooksEstimate.objects.count() == 2

    reconnect(books)
    assert Connection.objects.get().status == ConnectionStatus.CONNECTED
    drain_until_settled()
    estimates = list(
        BooksEstimate.objects.order_by("id").values_list("reference_number", flat=True)
    )
    assert estimates == [quote.number for quote in first + queued]
    # Nothing bound before the disconnect was made again.
    assert BooksContact.objects.count() == 2
    assert Binding.objects.filter(connection=connection, entity="clients").count() == 2
    assert not OutboxItem.objects.exclude(status=OutboxStatus.DONE).exists()
