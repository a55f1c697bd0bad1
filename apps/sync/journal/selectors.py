"""A record's journal: one timeline of everything sync did to a client, quote or invoice, built
from what is already stored — its history rows (who and why, and whether a change came by a pull
or a webhook), its outbox items with the vendor calls made for each (SyncLog, tied by correlation
id and record, or by the key of a batch call that carried the item), its conflicts and their
decisions, and the replays an Admin made (admin log). A fixed number of queries whatever the
record's age; bodies only for those who may read logs."""

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.text import capfirst

from apps.clients.models import Client
from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote
from apps.sync.conflicts.models import Conflict, ConflictStatus, Resolution
from apps.sync.engine import registry, trace
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.models import (
    Binding,
    Entity,
    InboundWebhook,
    Operation,
    OutboxBatch,
    OutboxItem,
    OutboxStatus,
    SyncLog,
    SyncRun,
)

# Entries per page of the journal (newest first; "Older entries" pages back), and the most
# vendor calls read for one page.
PAGE = 50
CALLS_PER_PAGE = 1_000
# The admin log row of a replay: REPLAY_MESSAGE + FAILED_WITH + the error it had died of.
REPLAY_MESSAGE = "Replayed from the journal"
FAILED_WITH = ". It had failed: "
# Fields every save touches: not a change anyone made.
QUIET_FIELDS = {"updated_at", "created_at", "modified_at"}
_RUN = re.compile(r"^sync pull · run (\d+)")
_WEBHOOK = re.compile(r"^sync webhook · #(\d+)")
_VERSION = re.compile(r"^v?\d+(\.\d+)?$", re.IGNORECASE)  # "v3", "2.0": an API's version

ITEM_STATES = {
    OutboxStatus.PENDING: ("pending", "Waiting to be sent"),
    OutboxStatus.IN_FLIGHT: ("pending", "Sending"),
    OutboxStatus.DONE: ("synced", "Sent"),
    OutboxStatus.DEAD: ("failed", "Failed"),
    OutboxStatus.DISCARDED: ("neutral", "Discarded"),
}
OPERATION_WORDS = {Operation.CREATE: "create", Operation.UPDATE: "update"}


@dataclass
class Call:
    """One vendor call as the journal shows it."""

    when: datetime
    summary: str  # "Create estimates: refused (HTTP 400)"
    ok: bool
    latency_ms: int
    # Admins only (empty otherwise): the full URL and the redacted bodies, JSON indented.
    url: str = ""
    request_body: str = ""
    response_body: str = ""
    log_url: str = ""


@dataclass
class Entry:
    when: datetime
    kind: str  # inbound | outbound | conflict | change | replay | call
    title: str
    who: str = ""
    detail: str = ""
    status: str = ""  # a badge tone key: synced, pending, failed, conflict, neutral
    status_label: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    # A dead-lettered push an Admin may replay: {"item_id": 5, "token": "<when it died>"}.
    replay: dict | None = None
    # Which calls belong under this entry: those of this correlation id (an item's, a
    # webhook's), for a push only those of its entity made after / until these times.
    correlation_id: object = None
    calls_entity: str = ""
    calls_after: datetime | None = None
    calls_until: datetime | None = None
    failed_with: str = ""  # a replay: the error the push had died of
    # A push sent in batches: the Idempotency-Keys of the calls that carried it, which those
    # calls' SyncLog rows carry as their correlation id.
    batch_keys: list = field(default_factory=list)


@dataclass
class Journal:
    entries: list[Entry]
    show_bodies: bool
    can_replay: bool
    dead: int  # dead-lettered pushes of the record
    page: int = 0
    has_older: bool = False

    @property
    def older_page(self) -> int | None:
        return self.page + 1 if self.has_older else None

    @property
    def newer_page(self) -> int | None:
        return self.page - 1 if self.page else None


# --- what belongs to a record -------------------------------------------------------------------
def _targets(obj) -> list[tuple[str, list[int]]]:
    """(entity, object ids) whose sync work is this record's: a quote's estimate and deal, an
    invoice's payments."""
    if isinstance(obj, Client):
        return [(Entity.CLIENTS, [obj.pk])]
    if isinstance(obj, Quote):
        return [(Entity.QUOTES, [obj.pk]), (Entity.DEALS, [obj.pk])]
    if isinstance(obj, Invoice):
        payments = list(Payment.objects.filter(invoice=obj).values_list("pk", flat=True))
        return [(Entity.INVOICES, [obj.pk]), (Entity.PAYMENTS, payments)]
    raise TypeError(f"No journal for {type(obj).__name__}")


def _record_filter(targets, entity_field="entity", id_field="object_id") -> Q:
    query = Q(pk__in=[])
    for entity, ids in targets:
        if ids:
            query |= Q(**{entity_field: entity, f"{id_field}__in": ids})
    return query


# --- presenting ---------------------------------------------------------------------------------
def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _plain(value) -> str:
    """A value as office staff read it: 2,438.00, 28/11/2026 09:14, yes/no, "—" for empty."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        places = max(2, -value.normalize().as_tuple().exponent)
        return f"{value:,.{places}f}"
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _path_words(url: str) -> str:
    """ "https://…/books/v3/estimates/4600012/status/sent?organization_id=1" ->
    "estimates/…/status/sent": the resource, without the host, the API's prefix and ids."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    versions = [i for i, p in enumerate(parts) if _VERSION.match(p)]
    if versions:
        parts = parts[versions[0] + 1 :]
    words = ["…" if any(ch.isdigit() for ch in p) else p for p in parts]
    return "/".join(words) or "/"


CALL_VERBS = {
    "GET": "Read",
    "POST": "Create",
    "PUT": "Update",
    "PATCH": "Update",
    "DELETE": "Delete",
}


def _outcome(log: SyncLog) -> tuple[bool, str]:
    code = log.status_code
    if code is None:
        return False, f"no answer ({log.error_kind or 'failed'})"
    if code < 300:
        return True, f"done (HTTP {code})"
    if code == 404:
        return False, "not found (HTTP 404)"
    if code == 429:
        return False, "throttled (HTTP 429)"
    if code >= 500:
        return False, f"vendor error (HTTP {code})"
    return False, f"refused (HTTP {code})"


def _pretty(body: str) -> str:
    if not body:
        return ""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body  # cut at the log limit, or not JSON: shown as stored


def _reverse(name: str, *args) -> str:
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return ""


@functools.cache
def _admin_url_for(name: str):
    """A maker of admin links by id, reversed once (a reverse() per call cost a third of a
    long journal's time)."""
    template = _reverse(name, 0)
    if not template:
        return lambda pk: ""
    head, _, tail = template.rpartition("/0/")
    return lambda pk: f"{head}/{pk}/{tail}"


def _call(log: SyncLog, *, show_bodies: bool, log_url=None) -> Call:
    ok, outcome = _outcome(log)
    call = Call(
        when=log.created_at,
        summary=f"{CALL_VERBS.get(log.method, log.method)} {_path_words(log.url)}: {outcome}",
        ok=ok,
        latency_ms=log.latency_ms,
    )
    if show_bodies:
        call.url = f"{log.method} {log.url}"
        call.request_body = _pretty(log.request_body)
        call.response_body = _pretty(log.response_body)
        call.log_url = log_url(log.pk) if log_url else ""
    return call


# --- the sources --------------------------------------------------------------------------------
def _history_entries(obj, *, admin_links: bool, limit: int) -> list[Entry]:
    model = type(obj)
    rows = list(
        model.history.filter(id=obj.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    rows.reverse()  # oldest first, to diff each against the one before
    # By attname: a foreign key is compared by its id, never loaded (one query per row).
    tracked = [
        (f.attname, capfirst(str(f.verbose_name)))
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in QUIET_FIELDS
    ]
    runs_ids, webhook_ids = set(), set()
    for row in rows:
        reason = row.history_change_reason or ""
        if found := _RUN.match(reason):
            runs_ids.add(int(found.group(1)))
        if found := _WEBHOOK.match(reason):
            webhook_ids.add(int(found.group(1)))
    runs = SyncRun.objects.select_related("connection").in_bulk(runs_ids) if runs_ids else {}
    webhooks = (
        InboundWebhook.objects.select_related("connection").in_bulk(webhook_ids)
        if webhook_ids
        else {}
    )
    entries: list[Entry] = []
    previous = None
    for index, row in enumerate(rows):
        changes = []
        if previous is not None:
            for attname, label in tracked:
                old, new = getattr(previous, attname, None), getattr(row, attname, None)
                if old != new:
                    changes.append((label, _plain(old), _plain(new)))
        previous = row
        if index == 0 and len(rows) > limit:
            continue  # read only as the base of the next row's changes
        if row.history_type == "~" and not changes:
            continue  # a save that changed nothing tracked
        entries.append(_history_entry(row, changes, runs, webhooks, admin_links=admin_links))
    return entries


def _history_entry(row, changes, runs, webhooks, *, admin_links: bool) -> Entry:
    reason = row.history_change_reason or ""
    made = {"+": "Created", "~": "Changed", "-": "Deleted"}.get(row.history_type, "Changed")
    entry = Entry(when=row.history_date, kind="change", title=made, changes=changes)
    entry.who = _person(row.history_user)
    if found := _RUN.match(reason):
        run = runs.get(int(found.group(1)))
        where = run.connection.name if run else "the vendor"
        entry.kind, entry.who = "inbound", f"Pull from {where}"
        entry.title = f"{made} by a pull from {where}"
        if run and admin_links:
            entry.links.append((f"Run #{run.pk}", _admin_url_for("sync_syncrun_change")(run.pk)))
    elif found := _WEBHOOK.match(reason):
        webhook = webhooks.get(int(found.group(1)))
        where = webhook.connection.name if webhook and webhook.connection else "the vendor"
        entry.kind, entry.who = "inbound", f"Webhook from {where}"
        entry.title = f"{made} by a webhook from {where}"
        entry.correlation_id = trace.webhook_correlation_id(int(found.group(1)))
        if webhook and admin_links:
            entry.links.append(
                (f"Webhook #{webhook.pk}", _admin_url_for("sync_inboundwebhook_change")(webhook.pk))
            )
    elif reason.startswith("sync pull"):
        entry.kind, entry.who, entry.title = "inbound", "Sync", f"{made} by a pull"
    elif reason == "sync merge before push":
        entry.kind, entry.who = "inbound", "Sync"
        entry.title = "The vendor's newer values taken before our push"
    elif reason.startswith(("conflict", "conflict queue")):
        # The decision's own write to the record (the decision itself is the conflict's row).
        entry.kind = "conflict"
        entry.title = f"{made} by a conflict decision"
        entry.detail = reason
    else:
        entry.who = entry.who or "Syncdesk"
        entry.detail = reason
    return entry


def _conflict_entries(targets, *, admin_links: bool, limit: int) -> list[Entry]:
    rows = (
        Conflict.objects.filter(_record_filter(targets))
        .select_related("connection", "resolved_by")
        .order_by("-created_at", "-id")[:limit]
    )
    entries = []
    for conflict in rows:
        entry = Entry(
            when=conflict.created_at,
            kind="conflict",
            title=f"Conflict on {conflict.field} with {conflict.connection.name}",
            who=conflict.connection.name,
            detail=f"Ours {_plain(conflict.local_value)}, theirs {_plain(conflict.remote_value)} "
            f"(both were {_plain(conflict.base_value)}). Policy: {conflict.get_policy_display()}.",
            status="conflict" if conflict.status == ConflictStatus.OPEN else "resolved",
            status_label=conflict.get_status_display(),
        )
        if admin_links:
            url = _admin_url_for("sync_conflict_record")(conflict.binding_id)
            if url:
                entry.links.append(("The decision", url))
        entries.append(entry)
        if conflict.resolved_at and conflict.resolution not in ("", Resolution.POLICY):
            entries.append(
                Entry(
                    when=conflict.resolved_at,
                    kind="conflict",
                    title=f"Conflict on {conflict.field} decided: "
                    f"{conflict.get_resolution_display()}",
                    who=_person(conflict.resolved_by) or "Sync",
                    detail=f"Value kept: {_plain(conflict.resolved_value)}.",
                    status="resolved",
                    status_label=conflict.get_status_display(),
                )
            )
    return entries


def _item_entry(item: OutboxItem, bindings, *, admin_links: bool, can_replay: bool) -> Entry:
    spec = entity_spec(item.entity)
    label = registry.provider_label(item.connection.provider)
    doing = OPERATION_WORDS.get(item.operation) or (
        f"mark {item.intent.get('status')}" if item.intent.get("status") else "status action"
    )
    tone, state = ITEM_STATES.get(item.status, ("neutral", item.get_status_display()))
    entry = Entry(
        # Where it stands in the story: when it was sent (or died), else when it was queued.
        when=item.finished_at or item.created_at,
        kind="outbound",
        title=f"Push to {label}: {doing} the {spec.label}",
        who=item.connection.name,
        status=tone,
        status_label=state,
    )
    entry.correlation_id, entry.calls_entity = item.correlation_id, item.entity
    if item.entity == Entity.PAYMENTS:
        entry.title += f" #{item.object_id}"
    if item.status == OutboxStatus.DEAD:
        entry.detail = item.last_error
        if can_replay and item.finished_at:
            entry.replay = {"item_id": item.pk, "token": item.finished_at.isoformat()}
    elif item.status == OutboxStatus.PENDING and item.last_error:
        entry.detail = f"Will try again: {item.last_error}"
    binding = bindings.get((item.connection_id, item.entity, item.object_id))
    if item.status == OutboxStatus.DONE and binding is not None and binding.remote_id:
        made = binding.remote_number or binding.remote_id
        url = _admin_url_for("sync_binding_change")(binding.pk) if admin_links else ""
        entry.links.append((f"{made} in {label}", url))
    if admin_links:
        entry.links.append(
            (f"Outbox item #{item.pk}", _admin_url_for("sync_outboxitem_change")(item.pk))
        )
    return entry


def _replays(items: dict[int, OutboxItem], *, limit: int) -> dict[int, list[Entry]]:
    """Each item's replays (admin log rows), oldest first."""
    if not items:
        return {}
    rows = (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(OutboxItem),
            object_id__in=[str(pk) for pk in items],
            change_message__startswith=REPLAY_MESSAGE,
        )
        .select_related("user")
        .order_by("-action_time")[:limit]
    )
    found: dict[int, list[Entry]] = {}
    for row in reversed(list(rows)):
        _, _, error = row.change_message.partition(FAILED_WITH)
        entry = Entry(
            when=row.action_time,
            kind="replay",
            title="Failed push replayed",
            who=_person(row.user),
            detail=f"Queued again through the outbox (item #{row.object_id}).",
        )
        entry.failed_with = error
        found.setdefault(int(row.object_id), []).append(entry)
    return found


def _split_at_replays(entry: Entry, replays: list[Entry]) -> list[Entry]:
    """An item replayed after dying is one row that was tried again: each death before a replay
    becomes its own failed entry (the calls made before that replay go under it), so the
    timeline reads failed, replayed, then whatever came of it."""
    earlier: list[Entry] = []
    after = None
    for replay in replays:
        earlier.append(
            Entry(
                when=replay.when - timedelta(microseconds=1),
                kind="outbound",
                title=entry.title,
                who=entry.who,
                detail=replay.failed_with,
                status="failed",
                status_label="Failed",
                correlation_id=entry.correlation_id,
                calls_entity=entry.calls_entity,
                batch_keys=entry.batch_keys,
                calls_after=after,
                calls_until=replay.when,
            )
        )
        after = replay.when
    entry.calls_after = after
    return earlier


def _attach_calls(shown: list[Entry], *, show_bodies: bool) -> None:
    """The vendor calls of the entries on the page, by correlation id: a push's under its item
    (the attempt whose time window holds it), a webhook's own read under the webhook."""
    by_correlation: dict[object, list[Entry]] = {}
    for entry in shown:
        if entry.correlation_id is not None:
            by_correlation.setdefault(entry.correlation_id, []).append(entry)
        for key in entry.batch_keys:
            by_correlation.setdefault(key, []).append(entry)
    if not by_correlation:
        return
    fields = ["pk", "created_at", "method", "url", "status_code", "latency_ms", "error_kind"]
    fields += ["correlation_id", "entity"]
    if show_bodies:
        fields += ["request_body", "response_body"]
    logs = (
        SyncLog.objects.filter(correlation_id__in=list(by_correlation))
        .only(*fields)
        .order_by("created_at", "id")[:CALLS_PER_PAGE]
    )
    log_url = _admin_url_for("sync_synclog_change") if show_bodies else None
    for log in logs:
        for entry in by_correlation[log.correlation_id]:
            if entry.kind == "outbound":
                if log.entity and log.entity != entry.calls_entity:
                    continue
                if entry.calls_after and log.created_at <= entry.calls_after:
                    continue
                if entry.calls_until and log.created_at > entry.calls_until:
                    continue
            elif log.entity:
                continue  # a push queued by the webhook: its calls are under its own entry
            entry.calls.append(_call(log, show_bodies=show_bodies, log_url=log_url))
            break


# --- the journal --------------------------------------------------------------------------------
def record_journal(*, obj, user, page: int = 0) -> Journal:
    """One page of the timeline of `obj` (a Client, Quote or Invoice), newest first, as `user`
    may see it: request and answer bodies, links into the sync admin and the replay button only
    for those whose role holds the sync permissions (Admins). Each source is read only as far
    as the page needs, and calls only for the entries shown."""
    page = max(0, int(page))
    show_bodies = user.has_perm("sync.view_synclog")
    admin_links = user.has_perm("sync.view_outboxitem")
    can_replay = user.has_perm("sync.change_outboxitem")
    targets = _targets(obj)
    limit = (page + 1) * PAGE
    # Saves that changed nothing tracked are skipped: read history further than the page.
    entries = _history_entries(obj, admin_links=admin_links, limit=2 * limit)
    entries += _conflict_entries(targets, admin_links=admin_links, limit=limit)

    items = {
        item.pk: item
        for item in OutboxItem.objects.filter(_record_filter(targets))
        .select_related("connection")
        .order_by("-created_at", "-id")[:limit]
    }
    bindings = {
        (b.connection_id, b.entity, b.object_id): b
        for b in Binding.objects.filter(_record_filter(targets))
    }
    by_item = {
        item.pk: _item_entry(item, bindings, admin_links=admin_links, can_replay=can_replay)
        for item in items.values()
    }
    entries += by_item.values()
    carried = OutboxBatch.items.through.objects.filter(outboxitem_id__in=list(items))
    for item_id, key in carried.values_list("outboxitem_id", "outboxbatch__idempotency_key"):
        by_item[item_id].batch_keys.append(key)
    for item_id, found in _replays(items, limit=limit).items():
        entries += found
        entries += _split_at_replays(by_item[item_id], found)
    entries.sort(key=lambda e: e.when, reverse=True)
    shown = entries[page * PAGE : limit]
    _attach_calls(shown, show_bodies=show_bodies)
    dead = OutboxItem.objects.filter(_record_filter(targets), status=OutboxStatus.DEAD).count()
    return Journal(
        entries=shown,
        show_bodies=show_bodies,
        can_replay=can_replay,
        dead=dead,
        page=page,
        has_older=len(entries) > limit,
    )
