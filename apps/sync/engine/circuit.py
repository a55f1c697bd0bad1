"""A circuit breaker per connection: a connection-level failure (the vendor unreachable, answering
5xx to everything, the credential refused) is not an item's failure. After
SYNC_CIRCUIT_FAILURES such failures in a row (at once for refused credentials) the circuit opens:
the connection's queue pauses (nothing claimed, no attempt spent, nothing dead-lettered) and one
probe (the next item, or a cheap read when none waits) goes now and then, with capped exponential
backoff on the vendor's scaled clock (settings.SYNC_CLOCK_SCALE); the first answer closes it.
Admins get one e-mail when it opens and one when it closes. Decided from the typed errors of
engine/records.py only: no vendor is named here."""

import logging
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.sync.engine import registry
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.leases import still_ours
from apps.sync.engine.records import AuthExpired, RateLimited, TransientError, VendorError
from apps.sync.models import (
    CircuitReason,
    CircuitState,
    Connection,
    ConnectionCircuit,
    ConnectionStatus,
    OutboxItem,
    OutboxStatus,
)

logger = logging.getLogger(__name__)

# Connections whose queue waits for an Admin to reconnect (no probe can help a refused token).
WAITING_FOR_ADMIN = (ConnectionStatus.NEEDS_REAUTH,)


# --- what a failure says about the connection ---------------------------------------------------
def classify(error: VendorError) -> str | None:
    """The connection-level reason an error shows, "" when it shows the vendor answered (a
    rejection, a missing record: the vendor is up), None when it says neither (a 429: the
    governor's business)."""
    if isinstance(error, AuthExpired):
        return CircuitReason.NEEDS_REAUTH
    if isinstance(error, RateLimited):
        return None
    if isinstance(error, TransientError):
        return CircuitReason.UNREACHABLE if error.status is None else CircuitReason.SERVER_ERRORS
    return ""


def probe_delay(probes: int) -> timedelta:
    """How long after `probes` failed probes the next one goes: exponential from the base, capped,
    with a little jitter so that workers and connections do not probe in step; vendor seconds
    scaled to ours like every other vendor duration."""
    ceiling = min(
        settings.SYNC_CIRCUIT_PROBE_CAP, settings.SYNC_CIRCUIT_PROBE_BASE * 2 ** max(0, probes)
    )
    seconds = ceiling * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not security
    return timedelta(seconds=seconds * settings.SYNC_CLOCK_SCALE)


def _lease() -> timedelta:
    return timedelta(seconds=settings.SYNC_OUTBOX_LEASE_SECONDS)


# --- the checks the outbox makes ----------------------------------------------------------------
def paused(now) -> Q:
    """Outbox items (a filter on OutboxItem) that must not be claimed now: their connection
    waits for an Admin to reconnect, or its circuit is open and its probe is not due (or is in
    flight with another worker)."""
    waiting = ConnectionCircuit.objects.filter(state=CircuitState.OPEN).filter(
        Q(next_probe_at__isnull=True) | Q(next_probe_at__gt=now) | Q(probe_until__gt=now)
    )
    return Q(connection__status__in=WAITING_FOR_ADMIN) | Q(
        connection_id__in=waiting.values("connection_id")
    )


def admits(item: OutboxItem) -> bool:
    """Whether a claimed item may go to the vendor now: always while its circuit is closed;
    while open, only as the one probe (whoever takes the probe's lease first)."""
    state = (
        ConnectionCircuit.objects.filter(pk=item.connection_id)
        .values_list("state", flat=True)
        .first()
    )
    if state is None or state == CircuitState.CLOSED:
        return item.connection.status not in WAITING_FOR_ADMIN
    return _take_probe(item.connection_id, item.lease_owner)


def closed(connection_id: int, status: str) -> bool:
    """Whether the connection's items go out freely (no probe, no re-authorisation wait)."""
    state = (
        ConnectionCircuit.objects.filter(pk=connection_id).values_list("state", flat=True).first()
    )
    return state in (None, CircuitState.CLOSED) and status not in WAITING_FOR_ADMIN


def _take_probe(connection_id: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        ConnectionCircuit.objects.filter(
            pk=connection_id, state=CircuitState.OPEN, next_probe_at__lte=now
        )
        .filter(Q(probe_until__isnull=True) | Q(probe_until__lte=now))
        .exclude(connection__status__in=WAITING_FOR_ADMIN)
        .update(probe_owner=owner, probe_until=now + _lease())
    )


def hold(item: OutboxItem) -> str:
    """Put a claimed item back, not counted as an attempt, while its connection is paused; it
    keeps its place in the queue (its due time is unchanged)."""
    circuit = ConnectionCircuit.objects.filter(pk=item.connection_id).first()
    with transaction.atomic():
        if not still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status
        item.status = OutboxStatus.PENDING
        item.lease_until = None
        item.attempts = max(0, item.attempts - 1)
        item.last_error = (
            pause_label(circuit, item.connection)
            or "Paused: the connection needs re-authorisation."
        )
        item.save(update_fields=["status", "lease_until", "attempts", "last_error"])
    return item.status


def admits_connection(connection: Connection, owner: str) -> bool:
    """Whether work other than an outbox item (a scheduled pull) may call the vendor now: while
    the circuit is closed; while open, only as the probe once it is due (taken as `owner`)."""
    if connection.status in WAITING_FOR_ADMIN:
        return False
    state = (
        ConnectionCircuit.objects.filter(pk=connection.pk).values_list("state", flat=True).first()
    )
    if state is None or state == CircuitState.CLOSED:
        return True
    return _take_probe(connection.pk, owner)


def connection_pause_label(connection: Connection) -> str:
    """ "paused: vendor unreachable since …" for the connection, "" when it is not paused."""
    return pause_label(ConnectionCircuit.objects.filter(pk=connection.pk).first(), connection)


@dataclass
class Watched:
    """What the circuit made of a call's outcome: `paused` when the call failed at the
    connection level and the circuit is open (the item is held, not retried)."""

    item: OutboxItem | None = None
    paused: bool = False


@contextmanager
def watch(item: OutboxItem) -> Iterator[Watched]:
    """Report the outcome of the vendor calls made inside the block to the item's circuit."""
    with watch_calls(item.connection_id, item.lease_owner) as watched:
        watched.item = item
        yield watched


@contextmanager
def watch_calls(connection_id: int, owner: str) -> Iterator[Watched]:
    """Report the outcome of the vendor calls made inside the block (for an outbox item, or a
    pull) to the connection's circuit; `owner` is who may hold its probe."""
    watched = Watched()
    try:
        yield watched
    except VendorError as error:
        reason = classify(error)
        if reason:
            watched.paused = report_failure(connection_id, reason, str(error), owner=owner)
        elif reason == "":
            report_answer(connection_id)
        else:
            _release_probe(connection_id, owner, retry_in=_retry_after(error))
        raise
    except BaseException:
        # Not the vendor's answer (a conflict hold, a lost lease): the probe, if it was ours,
        # goes again soon with the next item.
        _release_probe(connection_id, owner)
        raise
    else:
        report_answer(connection_id)


def _retry_after(error: VendorError) -> timedelta | None:
    retry_after = getattr(error, "retry_after", None)
    if retry_after is None:
        return None
    return timedelta(seconds=retry_after * settings.SYNC_CLOCK_SCALE)


def _release_probe(connection_id: int, owner: str, *, retry_in: timedelta | None = None) -> None:
    changes: dict = {"probe_owner": "", "probe_until": None}
    if retry_in is not None:
        changes["next_probe_at"] = timezone.now() + retry_in
    ConnectionCircuit.objects.filter(pk=connection_id, probe_owner=owner).update(**changes)


# --- state changes ------------------------------------------------------------------------------
def report_failure(connection_id: int, reason: str, error: str, *, owner: str = "") -> bool:
    """A connection-level failure: count it, open the circuit at the threshold (at once for
    refused credentials), or, open already, push the next probe back. True when open."""
    ConnectionCircuit.objects.get_or_create(connection_id=connection_id)
    now = timezone.now()
    with transaction.atomic():
        circuit = ConnectionCircuit.objects.select_for_update().get(pk=connection_id)
        circuit.last_error = error[:300]
        if circuit.state == CircuitState.OPEN:
            if circuit.probe_owner == owner or not circuit.probe_owner:
                circuit.probes += 1
                circuit.next_probe_at = _next_probe(connection_id, reason, circuit.probes, now)
                circuit.probe_owner, circuit.probe_until = "", None
            circuit.reason = reason
            circuit.save()
            return True
        circuit.failures += 1
        if reason != CircuitReason.NEEDS_REAUTH and circuit.failures < (
            settings.SYNC_CIRCUIT_FAILURES
        ):
            circuit.save(update_fields=["failures", "last_error"])
            return False
        circuit.state = CircuitState.OPEN
        circuit.reason = reason
        circuit.opened_at = now
        circuit.probes = 0
        circuit.next_probe_at = _next_probe(connection_id, reason, 0, now)
        circuit.probe_owner, circuit.probe_until = "", None
        circuit.save()
        logger.warning("circuit opened for connection %s: %s", connection_id, error)
        transaction.on_commit(lambda: _mail_opened(connection_id))
    return True


def _next_probe(connection_id: int, reason: str, probes: int, now):
    """When the next probe may go. A refused refresh token waits for an Admin (the claim skips
    the connection until it is reconnected), so the probe is due the moment they do."""
    if reason == CircuitReason.NEEDS_REAUTH and (
        Connection.objects.filter(pk=connection_id, status__in=WAITING_FOR_ADMIN).exists()
    ):
        return now
    return now + probe_delay(probes)


def report_answer(connection_id: int) -> None:
    """The vendor answered (a success, or a rejection of one record): the failures in a row
    end, and an open circuit closes."""
    found = ConnectionCircuit.objects.filter(pk=connection_id).filter(
        Q(failures__gt=0) | Q(state=CircuitState.OPEN)
    )
    if not found.exists():
        return
    with transaction.atomic():
        circuit = ConnectionCircuit.objects.select_for_update().get(pk=connection_id)
        was_open, opened_at = circuit.state == CircuitState.OPEN, circuit.opened_at
        circuit.failures = 0
        circuit.probes = 0
        circuit.probe_owner, circuit.probe_until = "", None
        if was_open:
            circuit.state = CircuitState.CLOSED
            circuit.closed_at = timezone.now()
            circuit.next_probe_at = None
            logger.info("circuit closed for connection %s", connection_id)
            transaction.on_commit(lambda: _mail_closed(connection_id, opened_at))
        circuit.save()


def probe_idle(*, owner: str = "") -> int:
    """Probe open circuits whose probe is due and whose queue has nothing to send (no item can
    be the probe) with a cheap read: the first page of the connector's first pull. Returns how
    many probes went."""
    owner = owner or f"probe:{uuid.uuid4().hex[:16]}"
    now = timezone.now()
    due = (
        ConnectionCircuit.objects.filter(state=CircuitState.OPEN, next_probe_at__lte=now)
        .filter(Q(probe_until__isnull=True) | Q(probe_until__lte=now))
        .exclude(connection__status__in=WAITING_FOR_ADMIN)
        .exclude(connection__outbox__status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])
        .select_related("connection__credential")
    )
    sent = 0
    for circuit in due:
        connection = circuit.connection
        resources = [s.resource for s in registry.connector(connection.provider).pulls.values()]
        resources = [resource for resource in resources if resource]
        if not resources or not _take_probe(connection.pk, owner):
            continue
        sent += 1
        try:
            adapter_for(connection).list_page(resources[0], page=1)
        except VendorError as error:
            reason = classify(error)
            if reason:
                report_failure(connection.pk, reason, str(error), owner=owner)
                continue
            if reason is None:
                _release_probe(connection.pk, owner, retry_in=_retry_after(error))
                continue
        report_answer(connection.pk)
    return sent


# --- what the admin, sync status and the pages show ---------------------------------------------
def pause_label(circuit: ConnectionCircuit | None, connection: Connection) -> str:
    """ "paused: vendor unreachable since 28 Nov 2026 08:40 UTC", or "" when not paused."""
    if connection.status in WAITING_FOR_ADMIN:
        since = circuit.opened_at if circuit and circuit.state == CircuitState.OPEN else None
        return "paused: needs re-authorisation" + (f" since {_when(since)}" if since else "")
    if circuit is None or circuit.state != CircuitState.OPEN:
        return ""
    return f"paused: {circuit.get_reason_display()} since {_when(circuit.opened_at)}"


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y %H:%M %Z") if moment else "—"


def circuit_states(connections) -> dict[int, dict]:
    """Per connection: {"state", "reason", "since", "next_probe_at", "closed_at", "failures"
    (connection-level, in a row), "paused" (the label, "" when sending)}, from one query."""
    circuits = ConnectionCircuit.objects.in_bulk([c.pk for c in connections])
    states = {}
    for connection in connections:
        circuit = circuits.get(connection.pk)
        open_ = circuit is not None and circuit.state == CircuitState.OPEN
        states[connection.pk] = {
            "state": circuit.state if circuit else CircuitState.CLOSED,
            "reason": circuit.reason if open_ else "",
            "since": circuit.opened_at if open_ else None,
            "next_probe_at": circuit.next_probe_at if open_ else None,
            "closed_at": circuit.closed_at if circuit else None,
            "failures": circuit.failures if circuit else 0,
            "paused": pause_label(circuit, connection),
        }
    return states


# --- the two e-mails of an incident -------------------------------------------------------------
def _waiting(connection_id: int) -> int:
    return OutboxItem.objects.filter(
        connection_id=connection_id, status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
    ).count()


def _mail_opened(connection_id: int) -> None:
    circuit = ConnectionCircuit.objects.select_related("connection").get(pk=connection_id)
    connection = circuit.connection
    what = circuit.get_reason_display()
    fix = (
        "An Admin reconnects it (Sync → Connections); the queue resumes by itself afterwards."
        if circuit.reason == CircuitReason.NEEDS_REAUTH
        else "Syncdesk probes the vendor now and then and resumes by itself when it answers."
    )
    mail_admins(
        f"Sync paused: {connection} ({what})",
        f"{connection} is {pause_label(circuit, connection)}.\n"
        f"Last error: {circuit.last_error}\n\n"
        f"Staff keep working: changes wait in the queue ({_waiting(connection_id)} now), none "
        f"is dead-lettered for this and none spends its attempts.\n{fix}\n"
        "You will get one more e-mail when it is over.",
        fail_silently=True,
    )


def _mail_closed(connection_id: int, opened_at) -> None:
    connection = Connection.objects.get(pk=connection_id)
    lasted = timezone.now() - opened_at if opened_at else None
    mail_admins(
        f"Sync resumed: {connection}",
        f"{connection} answers again (paused since {_when(opened_at)}"
        + (f", {_duration(lasted)}" if lasted else "")
        + f"). The queue is being sent in order: {_waiting(connection_id)} change(s) waiting.",
        fail_silently=True,
    )


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
