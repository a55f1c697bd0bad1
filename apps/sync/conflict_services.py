"""Writes of the conflict queue: recording what a merge found, resolving a held field (keep
local, take remote, a typed value), reverting an auto-resolved one. A decision is applied here
and reaches the vendor through the outbox; the push's own merge then lands it as the new base."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.sync.conflict_models import Conflict, ConflictStatus, MergePolicy, Resolution
from apps.sync.merge import MergeResult, normalize
from apps.sync.models import Binding, BindingStatus


def _json(value):
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
                "base_value": _json(found.base),
                "local_value": _json(found.local),
                "remote_value": _json(found.remote),
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
                    resolved_value=None if found.held else _json(found.winner),
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


# --- applying a decision ------------------------------------------------------------------------
def _model_value(entity: str, name: str, value):
    from apps.sync.binder import LOCAL_SPECS

    if name == "active":
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on", "active")
        return bool(value)
    value = "" if value is None else value
    if isinstance(value, str):
        value = value.strip()
    if name == "email":
        value = normalize("email", value)
    try:
        return LOCAL_SPECS[entity].to_model_value(name, value)
    except Exception as error:  # Decimal("abc") and friends
        raise ValidationError({name: f"“{value}” is not a valid {name}."}) from error


def _set_local_field(*, conflict: Conflict, value, actor, reason: str):
    """Write one field of the local record as `actor`, validated; the save queues the push."""
    from apps.sync.binder import LOCAL_SPECS

    model = LOCAL_SPECS[conflict.entity].model
    obj = model.objects.select_for_update().filter(pk=conflict.object_id).first()
    if obj is None:
        raise ApplicationError(f"The {conflict.entity} record #{conflict.object_id} is gone.")
    setattr(obj, conflict.field, _model_value(conflict.entity, conflict.field, value))
    obj.full_clean()
    obj._history_user = actor
    obj._change_reason = reason[:100]
    obj.save()
    return obj


def _enqueue(conflict: Conflict, obj) -> None:
    from apps.sync.outbox import outbox_enqueue

    # The post_save receiver queues it too (for every connection); this one is explicit, for
    # the connection the conflict is on, and is not queued twice.
    outbox_enqueue(connection=conflict.connection, entity=conflict.entity, obj=obj)


def _lock_open(conflict_id: int, statuses: Iterable[str]) -> Conflict:
    conflict = (
        Conflict.objects.select_for_update(of=("self",))
        .select_related("connection")
        .filter(pk=conflict_id)
        .first()
    )
    if conflict is None:
        raise ApplicationError("This conflict no longer exists.")
    if conflict.status not in statuses:
        raise ApplicationError(
            f"Conflict #{conflict.pk} on {conflict.field} is {conflict.get_status_display()}; "
            "it cannot be decided again."
        )
    return conflict


@transaction.atomic
def conflict_resolve(*, conflict: Conflict, resolution: str, actor, value=None) -> Conflict:
    """Decide a held field: keep the local value, take the remote one, or a typed value.

    The chosen value is written here and queued for the vendor. The remote value the admin saw
    becomes this field's base, so the push's merge reads the decision as a local change; when
    the vendor has it, the outbox records the vendor's answer as the new base.
    """
    conflict = _lock_open(conflict.pk, [ConflictStatus.OPEN])
    if resolution == Resolution.KEEP_LOCAL:
        chosen = conflict.local_value
    elif resolution == Resolution.TAKE_REMOTE:
        chosen = conflict.remote_value
    elif resolution == Resolution.TYPED:
        if value is None:
            raise ValidationError({"value": "Type the value to keep on both sides."})
        chosen = value
    else:
        raise ValidationError({"resolution": f"“{resolution}” is not a resolution."})
    obj = _set_local_field(
        conflict=conflict,
        value=chosen,
        actor=actor,
        reason=f"conflict #{conflict.pk} on {conflict.field}: {Resolution(resolution).label}",
    )
    binding = Binding.objects.select_for_update().get(pk=conflict.binding_id)
    binding.base_snapshot = {**binding.base_snapshot, conflict.field: conflict.remote_value}
    conflict.status = ConflictStatus.RESOLVED
    conflict.resolution = resolution
    conflict.resolved_value = _json(getattr(obj, conflict.field))
    conflict.resolved_by = actor
    conflict.resolved_at = timezone.now()
    conflict.save(
        update_fields=["status", "resolution", "resolved_value", "resolved_by", "resolved_at"]
    )
    if not Conflict.objects.filter(binding_id=binding.pk, status=ConflictStatus.OPEN).exists():
        binding.status = BindingStatus.SYNCED
    binding.save(update_fields=["base_snapshot", "status"])
    _enqueue(conflict, obj)
    return conflict


@transaction.atomic
def conflict_revert(*, conflict: Conflict, actor) -> Conflict:
    """Undo what a policy decided: the losing value comes back here and goes to the vendor.

    The base already holds the winner both sides agreed on, so the push sees a local change.
    """
    conflict = _lock_open(conflict.pk, [ConflictStatus.AUTO_RESOLVED])
    losing = (
        conflict.local_value
        if conflict.policy == MergePolicy.REMOTE_WINS
        else conflict.remote_value
    )
    obj = _set_local_field(
        conflict=conflict,
        value=losing,
        actor=actor,
        reason=f"conflict #{conflict.pk} on {conflict.field}: reverted",
    )
    conflict.status = ConflictStatus.REVERTED
    conflict.resolved_value = _json(getattr(obj, conflict.field))
    conflict.resolved_by = actor
    conflict.resolved_at = timezone.now()
    conflict.save(update_fields=["status", "resolved_value", "resolved_by", "resolved_at"])
    _enqueue(conflict, obj)
    return conflict


def conflicts_resolve_bulk(*, conflicts, resolution: str, actor, chunk: int = 500) -> dict:
    """Keep local or take remote for many open conflicts at once, in chunks of `chunk` rows
    (one transaction each, so a refusal costs its chunk's row, not the whole selection).

    The same effects as conflict_resolve, written in bulk: the local rows (with history), the
    bases, the bindings released, one outbox item per record and connection. Returns
    {"resolved": n, "refused": [(id, reason), ...]}.
    """
    if resolution not in (Resolution.KEEP_LOCAL, Resolution.TAKE_REMOTE):
        raise ValidationError({"resolution": "Bulk resolution keeps local or takes remote."})
    ids = [c if isinstance(c, int) else c.pk for c in conflicts]
    resolved, refused = 0, []
    for start in range(0, len(ids), chunk):
        done, refusals = _resolve_chunk(ids[start : start + chunk], resolution, actor)
        resolved += done
        refused += refusals
    return {"resolved": resolved, "refused": refused}


def _resolve_chunk(ids: list[int], resolution: str, actor) -> tuple[int, list]:
    from simple_history.utils import bulk_update_with_history

    from apps.sync.binder import LOCAL_SPECS

    refused: list[tuple[int, str]] = []
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Conflict.objects.select_for_update(of=("self",))
            .select_related("connection")
            .filter(pk__in=ids, status=ConflictStatus.OPEN)
            .order_by("id")
        )
        refused += [(pk, "It is no longer open.") for pk in set(ids) - {r.pk for r in rows}]
        accepted: list[Conflict] = []
        touched: dict[str, dict[int, object]] = {}
        fields: dict[str, set[str]] = {}
        for entity in {r.entity for r in rows}:
            model = LOCAL_SPECS[entity].model
            touched[entity] = model.objects.in_bulk(
                [r.object_id for r in rows if r.entity == entity]
            )
        for row in rows:
            obj = touched[row.entity].get(row.object_id)
            if obj is None:
                refused.append((row.pk, f"The {row.entity} record #{row.object_id} is gone."))
                continue
            chosen = row.local_value if resolution == Resolution.KEEP_LOCAL else row.remote_value
            previous = getattr(obj, row.field)
            try:
                setattr(obj, row.field, _model_value(row.entity, row.field, chosen))
                obj.full_clean()
            except ValidationError as error:
                setattr(obj, row.field, previous)
                refused.append((row.pk, " ".join(error.messages)))
                continue
            fields.setdefault(row.entity, set()).add(row.field)
            accepted.append(row)
        if not accepted:
            return 0, refused
        reason = f"conflict queue: {Resolution(resolution).label} (bulk)"
        for entity, names in fields.items():
            objs = [touched[entity][r.object_id] for r in accepted if r.entity == entity]
            objs = list({o.pk: o for o in objs}.values())
            for obj in objs:
                obj.updated_at = now  # bulk updates do not touch auto_now fields
            bulk_update_with_history(
                objs,
                LOCAL_SPECS[entity].model,
                sorted(names | {"updated_at"}),
                batch_size=500,
                default_user=actor,
                default_change_reason=reason,
            )
        # One UPDATE for the chunk: the kept value is the column the decision names.
        Conflict.objects.filter(pk__in=[r.pk for r in accepted]).update(
            status=ConflictStatus.RESOLVED,
            resolution=resolution,
            resolved_value=F(
                "local_value" if resolution == Resolution.KEEP_LOCAL else "remote_value"
            ),
            resolved_by=actor,
            resolved_at=now,
        )
        bindings = Binding.objects.select_for_update().in_bulk({r.binding_id for r in accepted})
        for row in accepted:
            binding = bindings[row.binding_id]
            binding.base_snapshot = {**binding.base_snapshot, row.field: row.remote_value}
        still_held = set(
            Conflict.objects.filter(
                binding_id__in=list(bindings), status=ConflictStatus.OPEN
            ).values_list("binding_id", flat=True)
        )
        for binding in bindings.values():
            if binding.pk not in still_held:
                binding.status = BindingStatus.SYNCED
        Binding.objects.bulk_update(list(bindings.values()), ["base_snapshot", "status"])
        for entity in fields:
            objs = {
                r.object_id: touched[entity][r.object_id] for r in accepted if r.entity == entity
            }
            _enqueue_many(entity, list(objs.values()))
    return len(accepted), refused


def _enqueue_many(entity: str, objs: list) -> None:
    """What the post_save receiver does for each saved record, for many at once: one push per
    record and pushing connection, unless an update is already waiting."""
    from apps.sync.models import Connection, ConnectionStatus, Operation, OutboxItem, OutboxStatus
    from apps.sync.outbox import PUSH_SPECS, REFERENCES, _kick
    from apps.sync.receivers import PUSHING_PROVIDERS

    pks = [o.pk for o in objs]
    items = []
    for connection in Connection.objects.filter(
        status=ConnectionStatus.CONNECTED, provider__in=PUSHING_PROVIDERS
    ):
        if (connection.provider, entity) not in PUSH_SPECS:
            continue
        bound = set(
            Binding.objects.filter(
                connection=connection, entity=entity, object_id__in=pks, remote_id__isnull=False
            ).values_list("object_id", flat=True)
        )
        waiting = set(
            OutboxItem.objects.filter(
                connection=connection,
                entity=entity,
                object_id__in=pks,
                operation__in=[Operation.CREATE, Operation.UPDATE],
                status=OutboxStatus.PENDING,
            ).values_list("object_id", flat=True)
        )
        # A create in flight will bind the record: the change is an update that runs after it.
        bound |= set(
            OutboxItem.objects.filter(
                connection=connection,
                entity=entity,
                object_id__in=pks,
                operation=Operation.CREATE,
                status=OutboxStatus.IN_FLIGHT,
            ).values_list("object_id", flat=True)
        )
        items += [
            OutboxItem(
                connection=connection,
                entity=entity,
                operation=Operation.UPDATE if obj.pk in bound else Operation.CREATE,
                object_id=obj.pk,
                reference=REFERENCES[entity](obj),
                next_attempt_at=timezone.now(),
            )
            for obj in objs
            if obj.pk not in waiting
        ]
    if items:
        OutboxItem.objects.bulk_create(items, batch_size=500)
        transaction.on_commit(_kick)


# --- before a push ------------------------------------------------------------------------------
MERGED_ENTITIES = frozenset({"clients", "services"})


class RecordHeld(Exception):
    """The record has a conflict waiting for an admin: nothing is sent until it is decided."""


def merge_before_push(*, binding: Binding, obj, remote_record, snapshot, from_remote) -> bool:
    """Merge what the vendor has now into the local record before pushing it.

    Remote-only changes are applied here (no echo), conflicts are logged; a held record raises
    RecordHeld. Returns True when there is something to push, False when the vendor already
    has every merged value (the caller then records its answer as the base, without a call).
    """
    from apps.sync.conflict_selectors import conflict_policies
    from apps.sync.merge import merge
    from apps.sync.receivers import applying_remote_changes

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
            remote=from_remote(remote_record),
            policies=conflict_policies(connection=binding.connection, entity=binding.entity),
        )
        if outcome.conflicts or binding.status == BindingStatus.CONFLICT:
            conflicts_record(outcomes=[(binding, outcome)])
        if outcome.held:
            # Committed with the conflicts: the hold outlives the push, which is parked.
            binding.status = BindingStatus.CONFLICT
            binding.save(update_fields=["status"])
            fields = ", ".join(c.field for c in outcome.conflicts if c.held)
            held = f"Held by a conflict on {fields}: an admin decides in the queue."
        else:
            if outcome.to_local:
                from apps.sync.binder import LOCAL_SPECS

                spec = LOCAL_SPECS[binding.entity]
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
            binding.save(update_fields=["base_snapshot", "status"])
    if held:
        raise RecordHeld(held)
    return bool(outcome.to_remote)
