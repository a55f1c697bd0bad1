"""Reads of the sync engine: health figures for `sync status` and the admin, alert decisions, and
the public reads the apps above sync use (a record's sync state, dead letters, runs)."""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.mail import mail_admins
from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from apps.sync.conflicts.selectors import (  # noqa: F401 - part of the public surface
    conflicts_list,
    record_conflicts,
    record_open_conflict_count,
)
from apps.sync.engine import governor
from apps.sync.engine.circuit import circuit_states
from apps.sync.engine.connections import budget_key
from apps.sync.models import (
    Binding,
    BindingStatus,
    Connection,
    OutboxItem,
    OutboxStatus,
    QuarantinedRecord,
    QuarantineStatus,
    RunStatus,
    SyncLog,
    SyncRun,
)
from apps.sync.webhooks.services import webhook_health

HEALTH_WINDOW = timedelta(hours=24)
FAILURE_ALERT_RATE = 0.10


def connection_health(connection: Connection, *, since, circuit: dict | None = None) -> dict:
    calls = SyncLog.objects.filter(connection=connection, created_at__gte=since).aggregate(
        total=Count("id"),
        failed=Count("id", filter=Q(status_code__gte=400) | Q(status_code__isnull=True)),
        latency=Avg("latency_ms"),
    )
    total = calls["total"] or 0
    credential = connection.credential
    now = timezone.now()
    limits = governor.limits_for(connection.provider, daily_limit=connection.daily_limit)
    return {
        "name": connection.name,
        "provider": connection.provider,
        "status": connection.status,
        "calls_24h": total,
        "success_rate": round(1 - (calls["failed"] or 0) / total, 4) if total else None,
        "latency_ms_avg": round(calls["latency"], 1) if calls["latency"] is not None else None,
        "queue_depth": OutboxItem.objects.filter(
            connection=connection, status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
        ).count(),
        "dead_letters": OutboxItem.objects.filter(
            connection=connection, status=OutboxStatus.DEAD
        ).count(),
        # Documents whose vendor totals are not ours (engine/totals.py): never silent.
        "totals_differ": Binding.objects.filter(
            connection=connection, status=BindingStatus.TOTALS_DIFFER
        ).count(),
        "budget": governor.budget_snapshot(budget_key(connection), limits),
        "token_age_s": int((now - credential.refreshed_at).total_seconds())
        if credential.refreshed_at
        else None,
        "token_expires_in_s": int((credential.access_expires_at - now).total_seconds())
        if credential.access_expires_at
        else None,
        "last_refresh_error": credential.last_refresh_error or None,
        "quarantined": QuarantinedRecord.objects.filter(
            connection=connection, status=QuarantineStatus.OPEN
        ).count(),
        "failed_runs_24h": SyncRun.objects.filter(
            connection=connection,
            started_at__gte=since,
            status__in=[RunStatus.FAILED, RunStatus.PARTIAL],
        ).count(),
        # The circuit breaker (engine/circuit.py): "paused" is the label the admin and the pages
        # show ("paused: vendor unreachable since …"), "" while the queue is being sent.
        "circuit": circuit or circuit_states([connection])[connection.pk],
    }


def sync_health() -> dict:
    since = timezone.now() - HEALTH_WINDOW
    rows = list(Connection.objects.select_related("credential").order_by("name"))
    circuits = circuit_states(rows)
    connections = [connection_health(c, since=since, circuit=circuits[c.pk]) for c in rows]
    for health in connections:
        health["paused"] = health["circuit"]["paused"]
    total = sum(c["calls_24h"] for c in connections)
    failed = sum(
        round(c["calls_24h"] * (1 - c["success_rate"]))
        for c in connections
        if c["success_rate"] is not None
    )
    totals_differ = sum(c["totals_differ"] for c in connections)
    return {
        "ok": all(c["status"] == "connected" and not c["paused"] for c in connections)
        and (not total or failed / total <= FAILURE_ALERT_RATE)
        and not totals_differ
        # A quarantined record waits for an Admin: the sync is not "ok" until it is handled.
        and not any(c["quarantined"] for c in connections),
        "success_rate": round(1 - failed / total, 4) if total else None,
        "queue_depth": sum(c["queue_depth"] for c in connections),
        "paused": [f"{c['name']}: {c['paused']}" for c in connections if c["paused"]],
        "dead_letters": sum(c["dead_letters"] for c in connections),
        "totals_differ": totals_differ,
        "connections": connections,
        "webhooks": webhook_health(since=since),
    }


def _incidents(health: dict) -> dict[str, str]:
    found = {}
    for c in health["connections"]:
        paused = bool(c["circuit"]["paused"])
        # A run of connection-level failures is the breaker's to judge (it opens, or an answer
        # ends the run): the failure rate it raises is not mailed as an incident of its own.
        breaker_counting = paused or c["circuit"]["failures"] > 0
        # An outage is the circuit breaker's incident, with its own two e-mails (opened, over):
        # its failed calls and refused token are not mailed again, during it or after it.
        calls, success_rate = _calls_since_recovery(c)
        if (
            not breaker_counting
            and success_rate is not None
            and calls >= 10
            and (1 - success_rate > FAILURE_ALERT_RATE)
        ):
            found[f"failures:{c['name']}"] = (
                f"{c['name']}: {100 * (1 - success_rate):.0f}% of vendor calls failed (24 h)"
            )
        if c["quarantined"]:
            found[f"quarantine:{c['name']}"] = (
                f"{c['name']}: {c['quarantined']} vendor record(s) quarantined; see Sync → "
                "Quarantined records"
            )
        if not paused and (c["last_refresh_error"] or c["status"] == "needs_reauth"):
            found[f"token:{c['name']}"] = f"{c['name']}: the token refresh failed; reconnect it"
        if c["totals_differ"]:
            found[f"totals:{c['name']}"] = (
                f"{c['name']}: {c['totals_differ']} document(s) whose totals differ from ours"
            )
        day_left, day_used = c["budget"].get("day_left", 1), c["budget"].get("day_used", 0)
        if day_used and day_left <= 0.1 * (day_left + day_used):
            found[f"budget:{c['name']}"] = f"{c['name']}: under 10% of today's API budget left"
    failed_webhooks = health.get("webhooks", {}).get("failed_24h", 0)
    if failed_webhooks:
        found["webhooks:failed"] = (
            f"{failed_webhooks} inbound webhook(s) failed to process (24 h); see Inbound webhooks"
        )
    return found


def _calls_since_recovery(health: dict) -> tuple[int, float | None]:
    """The connection's calls and success rate in the window, counting only calls after its
    circuit last closed when that was within it (the outage's failures were its own incident)."""
    closed_at = health["circuit"]["closed_at"]
    if closed_at is None or closed_at < timezone.now() - HEALTH_WINDOW:
        return health["calls_24h"], health["success_rate"]
    calls = SyncLog.objects.filter(
        connection__name=health["name"], created_at__gte=closed_at
    ).aggregate(
        total=Count("id"),
        failed=Count("id", filter=Q(status_code__gte=400) | Q(status_code__isnull=True)),
    )
    if not calls["total"]:
        return 0, None
    return calls["total"], 1 - calls["failed"] / calls["total"]


def sync_health_alert() -> bool:
    """E-mail admins once per incident (not per failure): an incident is remembered until it
    clears. Returns True when a mail went out."""
    incidents = _incidents(sync_health())
    known = cache.get("sync:incidents") or {}
    new = {key: text for key, text in incidents.items() if key not in known}
    cache.set("sync:incidents", incidents, timeout=None)
    if not new:
        return False
    mail_admins("Sync needs attention", "\n".join(new.values()), fail_silently=True)
    return True


# --- the public surface for the apps above sync (api, workspace) --------------------------------
def record_sync_states(*, model, object_ids) -> dict[int, list[dict]]:
    """Each record's sync state per connection, in one query: {object_id: [state, …]}.

    A state is {"connection_id", "connection", "provider", "status", "status_label",
    "remote_id", "remote_number", "last_error", "synced_at"}; a record never pushed has none.
    """
    content_type = ContentType.objects.get_for_model(model)
    states: dict[int, list[dict]] = {int(pk): [] for pk in object_ids}
    bindings = (
        Binding.objects.filter(content_type=content_type, object_id__in=list(states))
        .select_related("connection")
        .order_by("connection__name")
    )
    for binding in bindings:
        states[binding.object_id].append(
            {
                "connection_id": binding.connection_id,
                "connection": binding.connection.name,
                "provider": binding.connection.provider,
                "status": binding.status,
                "status_label": binding.get_status_display(),
                "remote_id": binding.remote_id or "",
                "remote_number": binding.remote_number,
                "last_error": binding.last_error,
                "synced_at": binding.synced_at,
            }
        )
    return states


def connections_list() -> QuerySet[Connection]:
    return Connection.objects.select_related("credential").order_by("name")


def dead_letters_list() -> QuerySet[OutboxItem]:
    """Outbox items that used up their attempts, newest first, for an Admin to requeue."""
    return (
        OutboxItem.objects.filter(status=OutboxStatus.DEAD)
        .select_related("connection")
        .order_by("-finished_at", "-id")
    )


def sync_runs_list() -> QuerySet[SyncRun]:
    return SyncRun.objects.select_related("connection").order_by("-started_at", "-id")
