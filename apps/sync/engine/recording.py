"""Merge outcomes recorded: the conflicts a batch of merges found (logged once, refreshed while
open, closed when the sides agree), and the merge a push makes with the vendor's record before
it sends, so that a remote edit made since our last sync is never overwritten."""

from django.db import transaction
from django.utils import timezone

from apps.sync.conflicts.models import Conflict, ConflictStatus, MergePolicy, Resolution
from apps.sync.conflicts.selectors import conflict_policies
from apps.sync.engine.bindings import bindings_update
from apps.sync.engine.echo import applying_remote_changes
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.merge import MergeResult, merge
from apps.sync.models import Binding, BindingStatus


def json_value(value):
    """Canonical values are str/bool already; anything else (Decimal) is stored as text."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    return str(value)


# --- recording ----------------------------------------------------------------------------------
def conflicts_record(*, outcomes: list[tuple[Binding, MergeResult]]) -> int:
    """Store the conflicts of a batch of merges; returns how many new ones were logged.

    A held field already open on its binding is refreshed, not logged twice; an open field
    that no longer conflicts (the sides came to agree, or one went back to the base) is closed.
    Call inside the transaction that applies the merges.
    """
    now = timezone.now()
    bindings = [binding for binding, _ in outcomes]
    watched = [b.pk for b in bindings if b.pk and b.status == BindingStatus.CONFLICT]
    held = [b.pk for b, outcome in outcomes if b.pk and outcome.held]
    existing: dict[tuple[int, str], Conflict] = {}
    if watched or held:
        for row in Conflict.objects.filter(
            binding_id__in=set(watched) | set(held), status=ConflictStatus.OPEN
        ):
            existing[(row.binding_id, row.field)] = row
    # Local-wins keeps the old base until the push lands, so the push's own merge meets the same
    # conflict again: it is logged once.
    logged: set[tuple] = set()
    local_wins = [
        b.pk
        for b, outcome in outcomes
        if b.pk and any(c.policy == MergePolicy.LOCAL_WINS for c in outcome.conflicts)
    ]
    if local_wins:
        logged = set(
            Conflict.objects.filter(
                binding_id__in=local_wins,
                status=ConflictStatus.AUTO_RESOLVED,
                policy=MergePolicy.LOCAL_WINS,
            ).values_list("binding_id", "field", "local_value", "remote_value")
        )
    new_rows: list[Conflict] = []
    refreshed: list[Conflict] = []
    for binding, outcome in outcomes:
        still_open = set()
        for found in outcome.conflicts:
            values = {
                "base_value": json_value(found.base),
                "local_value": json_value(found.local),
                "remote_value": json_value(found.remote),
            }
            row = existing.get((binding.pk, found.field)) if found.held else None
            if row is not None:
                still_open.add(found.field)
                if any(getattr(row, k) != v for k, v in values.items()):
                    for name, value in values.items():
                        setattr(row, name, value)
                    refreshed.append(row)
                continue
            if found.held:
                still_open.add(found.field)
            elif (binding.pk, found.field, values["local_value"], values["remote_value"]) in logged:
                continue
            new_rows.append(
                Conflict(
                    binding_id=binding.pk,
                    connection_id=binding.connection_id,
                    entity=binding.entity,
                    object_id=binding.object_id,
                    field=found.field,
                    policy=found.policy,
                    status=ConflictStatus.OPEN if found.held else ConflictStatus.AUTO_RESOLVED,
                    resolution="" if found.held else Resolution.POLICY,
                    resolved_value=None if found.held else json_value(found.winner),
                    resolved_at=None if found.held else now,
                    **values,
                )
            )
        for (binding_id, name), row in list(existing.items()):
            if binding_id == binding.pk and name not in still_open:
                row.status = ConflictStatus.RESOLVED
                row.resolution = Resolution.CONVERGED
                row.resolved_at = now
                refreshed.append(row)
                del existing[(binding_id, name)]
    if new_rows:
        Conflict.objects.bulk_create(new_rows, batch_size=500)
    if refreshed:
        Conflict.objects.bulk_update(
            refreshed,
            ["base_value", "local_value", "remote_value", "status", "resolution", "resolved_at"],
            batch_size=500,
        )
    return len(new_rows)


# --- before a push ------------------------------------------------------------------------------
class RecordHeld(Exception):
    """The record has a conflict waiting for an admin: nothing is sent until it is decided."""


def merge_before_push(*, binding: Binding, obj, remote: dict, snapshot) -> bool:
    """Merge what the vendor has now (`remote`, canonical) into the local record before
    pushing it.

    Remote-only changes are applied here (no echo), conflicts are logged; a held record raises
    RecordHeld. Returns True when there is something to push, False when the vendor already
    has every merged value (the merged base is recorded here, without a call).
    """
    held = ""
    with transaction.atomic():
        # Read the local row again, locked: an edit committed while the vendor was being read
        # is merged, not overwritten (the caller's `obj` is refreshed in place for its payload).
        # The record is locked before its binding, in the order conflict_resolve takes them.
        obj.refresh_from_db(from_queryset=type(obj).objects.select_for_update())
        binding = Binding.objects.select_for_update().get(pk=binding.pk)
        outcome = merge(
            base=binding.base_snapshot or {},
            local=snapshot(obj),
            remote=remote,
            policies=conflict_policies(connection=binding.connection, entity=binding.entity),
        )
        if outcome.conflicts or binding.status == BindingStatus.CONFLICT:
            conflicts_record(outcomes=[(binding, outcome)])
        if outcome.held:
            # Committed with the conflicts: the hold outlives the push, which is parked.
            binding.status = BindingStatus.CONFLICT
            bindings_update([binding], ["status"])
            fields = ", ".join(c.field for c in outcome.conflicts if c.held)
            held = f"Held by a conflict on {fields}: an admin decides in the queue."
        else:
            if outcome.to_local:
                spec = entity_spec(binding.entity)
                for name, value in outcome.to_local.items():
                    setattr(obj, name, spec.to_model_value(name, value))
                obj._change_reason = "sync merge before push"
                concrete = {f.name for f in obj._meta.concrete_fields}
                applied = [n for n in outcome.to_local if n in concrete]
                if "updated_at" in concrete:
                    applied.append("updated_at")
                with applying_remote_changes():
                    obj.save(update_fields=applied)
            binding.base_snapshot = outcome.new_base
            binding.status = BindingStatus.SYNCED
            bindings_update([binding], ["base_snapshot", "status"])
    if held:
        raise RecordHeld(held)
    return bool(outcome.to_remote)
