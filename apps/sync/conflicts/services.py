"""Writes of the conflict queue: resolving a held field (keep local, take remote, a typed value),
reverting an auto-resolved one, many at once. A decision is applied here and reaches the vendor
through the outbox; the push's own merge then lands it as the new base. Recording what a merge
found is the engine's (apps/sync/engine/recording.py)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from apps.core.errors import ApplicationError
from apps.sync.conflicts.models import Conflict, ConflictStatus, MergePolicy, Resolution
from apps.sync.engine.bindings import bindings_update
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.merge import normalize
from apps.sync.engine.outbox import outbox_enqueue, outbox_enqueue_many
from apps.sync.engine.recording import json_value
from apps.sync.models import Binding, BindingStatus, Connection, ConnectionStatus, Priority


# --- applying a decision ------------------------------------------------------------------------
def _model_value(entity: str, name: str, value):
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
        return entity_spec(entity).to_model_value(name, value)
    except Exception as error:  # Decimal("abc") and friends
        raise ValidationError({name: f"“{value}” is not a valid {name}."}) from error


def _set_local_field(*, conflict: Conflict, value, actor, reason: str):
    """Write one field of the local record as `actor`, validated; the save queues the push."""
    model = entity_spec(conflict.entity).model
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
    conflict.resolved_value = json_value(getattr(obj, conflict.field))
    conflict.resolved_by = actor
    conflict.resolved_at = timezone.now()
    conflict.save(
        update_fields=["status", "resolution", "resolved_value", "resolved_by", "resolved_at"]
    )
    if not Conflict.objects.filter(binding_id=binding.pk, status=ConflictStatus.OPEN).exists():
        binding.status = BindingStatus.SYNCED
    bindings_update([binding], ["base_snapshot", "status"])
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
    conflict.resolved_value = json_value(getattr(obj, conflict.field))
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
            model = entity_spec(entity).model
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
                entity_spec(entity).model,
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
        bindings_update(list(bindings.values()), ["base_snapshot", "status"])
        for entity in fields:
            objs = {
                r.object_id: touched[entity][r.object_id] for r in accepted if r.entity == entity
            }
            _enqueue_many(entity, list(objs.values()))
    return len(accepted), refused


def _enqueue_many(entity: str, objs: list) -> None:
    """What the post_save receiver does for each saved record, for many at once."""
    for connection in Connection.objects.filter(status=ConnectionStatus.CONNECTED):
        outbox_enqueue_many(connection=connection, entity=entity, objs=objs, priority=Priority.USER)
