"""The sync app's tables: connections and their encrypted credentials, bindings, runs, per-call
logs, the outbox, the shared rate budgets, and each account's taxes and currencies with the
mapping of local tax rates to them (the conflict and webhook tables live in their sub-packages
and are re-exported here)."""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from apps.catalog.models import TaxRate
from apps.core.models import TimeStampedModel
from apps.sync.engine import registry


class Entity(models.TextChoices):
    CLIENTS = "clients", "Clients"
    SERVICES = "services", "Services"
    QUOTES = "quotes", "Quotes"
    INVOICES = "invoices", "Invoices"
    PAYMENTS = "payments", "Payments"
    DEALS = "deals", "Deals"


class Credential(TimeStampedModel):
    """An OAuth token set, encrypted at rest; never shown, logged or passed to a task.

    `token_ciphertext` is a MultiFernet token of the JSON token set (see apps/sync/crypto.py);
    the other fields are not secret and exist so that expiry and age can be shown and queried.
    """

    # The issuer's key in the connector registry ("zoho", "xero"): no choices fixed here, so a
    # new vendor needs no migration of the engine.
    vendor = models.CharField(max_length=10)
    token_ciphertext = models.TextField(editable=False)
    # Zoho: the API host and accounts server the token answer named (per data centre).
    api_domain = models.URLField(blank=True)
    accounts_server = models.URLField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    last_refresh_error = models.CharField(max_length=300, blank=True)
    # Where row locks cannot span a vendor call (SQLite: the write lock would block a sandbox
    # served from the same file), a refresh is single-flight through this lease instead.
    refresh_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    refresh_lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    # The refresh token's last use (refreshed_at) an Admin was warned about: one e-mail before
    # a vendor whose refresh tokens die unused (Xero, 60 days) would expire it.
    disuse_warned_for = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"{self.vendor.title()} credential #{self.pk}"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
    DISABLED = "disabled", "Disabled"


class Connection(TimeStampedModel):
    """One vendor account we sync with: a Zoho organisation or a Xero tenant."""

    # A key registered by a connector (apps/sync/connectors/*/connector.py): "zoho_books",
    # "zoho_crm", "xero"; the registry, not a choices list, says which exist.
    provider = models.CharField(max_length=20)
    name = models.CharField(max_length=100, unique=True)
    # Zoho Books organization_id, Zoho CRM org id, or Xero tenantId.
    remote_account_id = models.CharField("organisation / tenant id", max_length=100)
    # Xero's connection id (for DELETE /connections/{id}); empty for Zoho.
    remote_connection_id = models.CharField(max_length=100, blank=True)
    region = models.CharField("data centre", max_length=10, blank=True)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED
    )
    credential = models.ForeignKey(Credential, on_delete=models.PROTECT, related_name="connections")
    # Overrides the built-in daily quota (plans differ: Zoho Books 1,000-10,000, Xero 1,000/5,000).
    daily_limit = models.PositiveIntegerField(null=True, blank=True)
    # Connector settings of this account (Xero: the bank account payments go to, the default
    # sales account of document lines); each connector names and checks its own keys.
    options = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "remote_account_id"], name="sync_connection_one_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_provider_display(self) -> str:
        return registry.provider_label(self.provider)


class BindingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    CONFLICT = "conflict", "Conflict"
    # Pushed, but the vendor's figures (tax, total, balance) are not ours: `totals` has both.
    TOTALS_DIFFER = "totals_differ", "Totals differ"
    # Deleted or archived at the vendor: never deleted here; an Admin relinks, re-pushes or
    # archives the record (engine/gone.py).
    GONE = "gone", "Gone from the vendor"


class Binding(models.Model):
    """Links one local object to one remote record, with the base snapshot both agreed on."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="bindings")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    remote_id = models.CharField(max_length=100, null=True, blank=True)
    remote_number = models.CharField(max_length=100, blank=True)
    remote_modified_at = models.DateTimeField(null=True, blank=True)
    base_snapshot = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=BindingStatus.choices, default=BindingStatus.PENDING
    )
    last_error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # A document's money as the vendor answered it beside ours, from the last comparison:
    # {"ours": {...}, "theirs": {...}, "differ": [field, ...], "checked_at": iso}.
    totals = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "object_id"], name="sync_binding_one_per_object"
            ),
            models.UniqueConstraint(
                fields=["connection", "entity", "remote_id"],
                condition=Q(remote_id__isnull=False),
                name="sync_binding_one_per_remote",
            ),
        ]
        indexes = [models.Index(fields=["connection", "status"], name="sync_binding_status")]

    def __str__(self) -> str:
        return f"{self.connection} {self.entity} #{self.object_id} ↔ {self.remote_id or '—'}"


class Direction(models.TextChoices):
    PULL = "pull", "Pull"
    PUSH = "push", "Push"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # Finished, but some records were quarantined (malformed at the vendor): see Quarantine.
    PARTIAL = "partial", "Partial (records quarantined)"
    RESUMED = "resumed", "Interrupted, resumed by a later run"


class SyncRun(models.Model):
    """One pull or push batch, with live progress and the checkpoint a killed run resumes from."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    dry_run = models.BooleanField(default=False)
    pages = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    # {"since": iso|None, "next_page": int, "page_token": str|None, "max_modified": iso|None}
    checkpoint = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["connection", "entity", "direction", "status"], name="sync_run_k")
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.entity} on {self.connection} ({self.status})"


class SyncCursor(models.Model):
    """How far a pull got: the remote modified time up to which every record was applied."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    modified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "entity"], name="sync_cursor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.entity} @ {self.modified_at}"


class SyncLog(models.Model):
    """One vendor call: what was asked, how it went, with every secret redacted."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, null=True, blank=True, related_name="logs"
    )
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True)
    method = models.CharField(max_length=10)
    url = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error_kind = models.CharField(max_length=40, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Ties the call to what it was for (the record's journal): the outbox item's or webhook's
    # correlation id, and the local record a push was for (empty for a pull's pages).
    correlation_id = models.UUIDField(null=True, blank=True, editable=False)
    entity = models.CharField(max_length=20, blank=True, editable=False)
    object_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["entity", "object_id"], name="sync_log_record"),
            models.Index(fields=["correlation_id"], name="sync_log_correlation"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.status_code or self.error_kind}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"
    DEAD = "dead", "Dead letter"
    DISCARDED = "discarded", "Discarded"


class Operation(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    # Anything else is a status action named in `intent`, e.g. {"action": "mark_sent"}.
    ACTION = "action", "Status action"


class Priority(models.IntegerChoices):
    USER = 10, "User"
    BULK = 50, "Bulk"


class OutboxItem(models.Model):
    """A local change waiting to reach a vendor: at-least-once delivery, exactly-once effect."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    operation = models.CharField(max_length=10, choices=Operation.choices)
    object_id = models.PositiveBigIntegerField()
    intent = models.JSONField(default=dict, blank=True)
    # Our stable reference (sent in the payload) and the key reused on every attempt; both are
    # committed before the first call, so an uncertain outcome can be looked up afterwards.
    reference = models.CharField(max_length=100)
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.USER)
    attempts = models.PositiveSmallIntegerField(default=0)
    # True once a call may have reached the vendor without our knowing the outcome.
    uncertain = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Shared with the vendor calls made for this item (SyncLog) and with whatever caused it (a
    # webhook's changes): the record's journal ties them by it. Null on items queued before it.
    correlation_id = models.UUIDField(null=True, blank=True, default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["priority", "next_attempt_at", "id"]
        indexes = [
            models.Index(fields=["status", "priority", "next_attempt_at"], name="sync_outbox_due"),
            models.Index(fields=["entity", "object_id"], name="sync_outbox_record"),
            # The claim's "another item of this record in flight" check, once per due row.
            models.Index(
                fields=["connection", "entity", "object_id"], name="sync_outbox_conn_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.entity} #{self.object_id} → {self.connection}"


class OutboxBatch(models.Model):
    """One vendor call that carried many outbox items (engine/batch.py): its Idempotency-Key and
    the exact elements sent under it, kept so a call can be told apart and replayed as it was."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="batches")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    operation = models.CharField(max_length=10, choices=Operation.choices)
    idempotency_key = models.UUIDField(unique=True, editable=False)
    body = models.JSONField(default=list)
    item_ids = models.JSONField(default=list)
    # The same items, to be found from an item (its journal shows the calls that carried it);
    # the call's SyncLog rows carry the Idempotency-Key as their correlation id.
    items = models.ManyToManyField("OutboxItem", related_name="batches", blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.operation} {len(self.item_ids)} {self.entity} → {self.connection_id}"


class RemoteTax(models.Model):
    """A tax the vendor account has (read at connect and daily): what a line's tax names."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="taxes")
    remote_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    # Gone from the vendor's list at the last read: kept so a mapping to it can say so.
    active = models.BooleanField(default=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["rate", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "remote_id"], name="sync_remote_tax_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate.normalize()}%)"


class RemoteCurrency(models.Model):
    """A currency the vendor account has; documents in it name it by the vendor's id."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="currencies")
    remote_id = models.CharField(max_length=100)
    code = models.CharField(max_length=3)
    is_base = models.BooleanField(default=False)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "code"], name="sync_remote_currency_once")
        ]

    def __str__(self) -> str:
        return self.code


class TaxMapping(models.Model):
    """Which vendor tax a local tax rate is sent as on one connection (matched by percentage
    and name when the taxes are read; an Admin may choose another of the same percentage)."""

    class Source(models.TextChoices):
        MATCHED = "matched", "Matched by percentage and name"
        ADMIN = "admin", "Chosen by an Admin"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="tax_mappings"
    )
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.CASCADE, related_name="+")
    remote_tax = models.ForeignKey(
        RemoteTax, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MATCHED)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tax_rate__name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "tax_rate"], name="sync_tax_mapping_once")
        ]

    def __str__(self) -> str:
        return f"{self.tax_rate} → {self.remote_tax or 'not mapped'}"


class RateBudget(models.Model):
    """The shared request budget of one vendor account, claimed under a row lock by every process.

    `recent` holds the start times of the calls in the current window (a sliding log, so no
    60-second span ever holds more than the limit), `leases` the calls in flight with the time
    their lease ends (a process killed mid-call frees its slot when the lease runs out).
    """

    key = models.CharField(max_length=150, unique=True)
    recent = models.JSONField(default=list)
    leases = models.JSONField(default=dict)
    day_started_at = models.DateTimeField(null=True, blank=True)
    day_count = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)
    throttled_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class QuarantineStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Applied on retry"


class QuarantinedRecord(models.Model):
    """A vendor record that failed the connector's schema (or its mapper): kept with its raw
    payload for an Admin to see and retry, while the rest of its page was applied and the
    cursor moved on (DESIGN.md: a quarantined record counts as handled)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="quarantined")
    entity = models.CharField(max_length=20, choices=Entity.choices)
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True)
    # Empty when the record came without its id (it cannot be fetched again).
    remote_id = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    payload = models.TextField(help_text="The record as the vendor sent it (secrets masked).")
    status = models.CharField(
        max_length=10, choices=QuarantineStatus.choices, default=QuarantineStatus.OPEN
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["connection", "status"], name="sync_quarantine_open"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.remote_id or '(no id)'} on {self.connection}"


# The conflict queue and the inbound webhooks live in their sub-packages; their models are
# imported here so that Django finds them in the sync app.
from apps.sync.conflicts.models import Conflict, ConflictPolicy  # noqa: E402,F401
from apps.sync.matching.models import MatchPlan, MatchRow  # noqa: E402,F401
from apps.sync.models.circuit import (  # noqa: E402,F401
    CircuitReason,
    CircuitState,
    ConnectionCircuit,
)
from apps.sync.reconcile.models import (  # noqa: E402,F401
    ReconcileDifference,
    ReconcileRun,
)
from apps.sync.webhooks.models import (  # noqa: E402,F401
    CrmWatchChannel,
    InboundWebhook,
    WebhookRefusal,
)
