"""A connection's circuit breaker (engine/circuit.py keeps it): closed while the vendor answers,
open (the queue paused, probed now and then) while it is unreachable, fails everything or the
connection needs re-authorisation."""

from django.db import models


class CircuitState(models.TextChoices):
    CLOSED = "closed", "Closed (sending)"
    OPEN = "open", "Open (paused)"


class CircuitReason(models.TextChoices):
    UNREACHABLE = "unreachable", "vendor unreachable"
    SERVER_ERRORS = "server_errors", "vendor failing (5xx)"
    NEEDS_REAUTH = "needs_reauth", "needs re-authorisation"


class ConnectionCircuit(models.Model):
    """One row per connection that has ever failed at the connection level."""

    connection = models.OneToOneField(
        "sync.Connection", on_delete=models.CASCADE, primary_key=True, related_name="circuit"
    )
    state = models.CharField(
        max_length=10, choices=CircuitState.choices, default=CircuitState.CLOSED
    )
    reason = models.CharField(max_length=20, choices=CircuitReason.choices, blank=True)
    # Connection-level failures in a row (reset by any answer that shows the vendor is up).
    failures = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Failed probes since it opened: the next probe waits longer (capped).
    probes = models.PositiveIntegerField(default=0)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    # The one probe in flight (any worker's): its lease, so a killed prober frees it.
    probe_owner = models.CharField(max_length=64, blank=True)
    probe_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.connection} circuit {self.state}"
