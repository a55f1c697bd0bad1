"""The importer: applies a page of remote records to local rows in bulk, matching unbound records
by remote id, then the natural key (e-mail for clients, SKU for services; a row whose vendor
record is gone is matched again), then creating; bound records go through the three-way
merge."""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from apps.sync.conflicts.selectors import conflict_policies
from apps.sync.engine import trace
from apps.sync.engine.bindings import binding_forget, bindings_insert, bindings_update
from apps.sync.engine.bulk import history_rows, insert_rows
from apps.sync.engine.entities import EntitySpec
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.matching import hold_message, planned_decisions, review_holding
from apps.sync.engine.merge import MergeResult, merge, same
from apps.sync.engine.outbox import outbox_enqueue
from apps.sync.engine.recording import conflicts_record
from apps.sync.engine.records import RemoteRecord, VendorError
from apps.sync.models import Binding, BindingStatus, Connection, OutboxItem, OutboxStatus, Priority

CHANGE_REASON = "sync pull"


@dataclass
class PageResult:
    created: int = 0
    updated: int = 0
    linked: int = 0
    unchanged: int = 0
    conflicts: int = 0
    errors: int = 0
    max_modified: object = None  # the latest change among the records applied
    min_refused: object = None  # the earliest change among the records refused
    error_messages: list[str] = field(default_factory=list)


def apply_page(
    *,
    connection: Connection,
    entity: str,
    mapped: list[tuple[RemoteRecord, dict]],
    detail: list | None = None,
    reason: str = CHANGE_REASON,
) -> PageResult:
    """Apply one page inside the caller's transaction. Bound records go through the three-way
    merge (engine/merge.py): remote-only changes are applied here (never echoed), local-only
    changes are queued for the vendor, fields changed on both sides are settled by policy and
    logged as conflicts; a `manual` conflict holds the record. `reason` is the history rows'
    why ("sync pull · run 12"): the record's journal reads where a change came from in it.
    `detail`, when given, gets one entry per record that changes anything (what `sync plan`
    shows, from this same code)."""
    spec = entity_spec(entity)
    result = PageResult()
    now = timezone.now()

    by_remote: dict[str, tuple[RemoteRecord, dict]] = {}
    for record, values in mapped:
        by_remote[record.remote_id] = (record, values)
    refused: list[RemoteRecord] = []

    # Locked for the page's transaction, the local rows before their bindings (the order a
    # push's merge and a conflict decision take them), so no edit lands between read and write.
    bound_ids = Binding.objects.filter(
        connection=connection, entity=entity, remote_id__in=list(by_remote)
    ).values_list("object_id", flat=True)
    bound_objects = {
        obj.pk: obj
        for obj in spec.model.objects.select_for_update()
        .filter(pk__in=list(bound_ids))
        .order_by("pk")
    }
    bindings = {
        b.remote_id: b
        for b in Binding.objects.select_for_update()
        .filter(connection=connection, entity=entity, remote_id__in=list(by_remote))
        .order_by("pk")
    }

    changed_objects: dict[int, object] = {}
    changed_fields: dict[int, set[str]] = {}  # each object's own changed fields
    changed_bindings: list[Binding] = []
    unbound: list[tuple[RemoteRecord, dict]] = []
    merged: list[tuple[Binding, MergeResult]] = []
    to_push: list[object] = []
    policies = conflict_policies(connection=connection, entity=entity) if bindings else {}

    for remote_id, (record, values) in by_remote.items():
        binding = bindings.get(remote_id)
        local = bound_objects.get(binding.object_id) if binding else None
        if binding is None or local is None:
            if binding is not None:  # the local row was deleted: bind afresh below
                binding_forget(binding)
            unbound.append((record, values))
            continue
        base = binding.base_snapshot or {}
        outcome = merge(base=base, local=spec.snapshot(local), remote=values, policies=policies)
        was_held = binding.status == BindingStatus.CONFLICT
        if (
            not (outcome.to_local or outcome.to_remote or outcome.conflicts or was_held)
            and outcome.new_base == base
            and binding.remote_modified_at == record.modified_at
        ):
            result.unchanged += 1
            continue
        if detail is not None:
            _merge_actions(detail, entity, record, values, local, outcome)
        for name, value in outcome.to_local.items():
            setattr(local, name, spec.to_model_value(name, value))
            changed_fields.setdefault(local.pk, set()).add(name)
        if outcome.to_local:
            changed_objects[local.pk] = local
            result.updated += 1
        else:
            result.unchanged += 1
        if outcome.to_remote:
            to_push.append(local)
        if outcome.conflicts or was_held:
            merged.append((binding, outcome))
        binding.base_snapshot = outcome.new_base
        binding.remote_modified_at = record.modified_at
        binding.remote_number = record.number[:100]
        binding.status = BindingStatus.CONFLICT if outcome.held else BindingStatus.SYNCED
        binding.synced_at = now
        binding.last_error = ""
        changed_bindings.append(binding)

    new_objects: list[tuple[object, RemoteRecord, dict]] = []
    linked: list[tuple[object, RemoteRecord, dict]] = []
    if unbound:
        # An Admin's matching review decided these (link to that one, or create): the rules
        # below apply only to records it did not see, or whose chosen record has gone.
        planned = planned_decisions(connection, entity, [r.remote_id for r, _ in unbound])
        chosen = _chosen_objects(connection, spec, planned)
        candidates = _match_candidates(
            connection,
            spec,
            [v for r, v in unbound if r.remote_id not in planned],
            exclude=set(chosen),
        )
        for record, values in unbound:
            object_id = planned.get(record.remote_id, 0)
            if object_id:
                local = chosen.pop(object_id, None)
            elif object_id is None:
                local = None  # the review said: a new record here
            else:
                key = (values.get(spec.match_field) or "").lower()
                local = candidates.pop(key, None) if key else None
            if local is not None:
                before = spec.snapshot(local)
                for name, value in values.items():
                    if before.get(name) != value and (value or name == "active"):
                        setattr(local, name, spec.to_model_value(name, value))
                        changed_fields.setdefault(local.pk, set()).add(name)
                changed_objects[local.pk] = local
                linked.append((local, record, values))
                if detail is not None:
                    detail.append(
                        _action(
                            "link",
                            entity,
                            record,
                            values,
                            object_id=local.pk,
                            rule="review" if object_id else spec.match_field,
                            changes=_changes(before, spec.snapshot(local)),
                        )
                    )
                continue
            key = (values.get(spec.match_field) or "").lower()
            if spec.unique_match and key and _taken(spec, key):
                result.errors += 1
                refused.append(record)
                result.error_messages.append(
                    f"{record.remote_id}: {spec.match_field} {key!r} already belongs to "
                    "another bound record"
                )
                if detail is not None:
                    detail.append(
                        _action("refused", entity, record, values, error=result.error_messages[-1])
                    )
                continue
            obj = spec.model(**{k: spec.to_model_value(k, v) for k, v in values.items()})
            new_objects.append((obj, record, values))
            if detail is not None:
                detail.append(_action("create", entity, record, values, fields=values))

    if new_objects:
        created = spec.model.objects.bulk_create([obj for obj, _, _ in new_objects], batch_size=500)
        history_model = spec.model.history.model
        insert_rows(
            history_model,
            history_rows(created, history_type="+", reason=reason, when=now),
        )
    if changed_objects:
        # Each object writes only its own changed fields: one bulk update per set of fields.
        groups: dict[tuple[str, ...], list] = {}
        for obj in changed_objects.values():
            obj.updated_at = now  # bulk_update does not touch auto_now fields
            names = tuple(sorted(changed_fields.get(obj.pk, set()) | {"updated_at"}))
            groups.setdefault(names, []).append(obj)
        for names, objs in groups.items():
            bulk_update_with_history(
                objs,
                spec.model,
                list(names),
                batch_size=500,
                default_change_reason=reason,
            )
    if linked:
        Binding.objects.filter(
            connection=connection,
            entity=entity,
            object_id__in=[obj.pk for obj, _, _ in linked],
            status=BindingStatus.GONE,
        ).delete()
    bindings_insert(
        connection,
        entity,
        [(obj, record, values) for obj, record, values in new_objects + linked],
    )
    bindings_update(changed_bindings)
    if merged:
        result.conflicts += conflicts_record(outcomes=merged)
    if to_push:
        for obj in to_push:
            outbox_enqueue(connection=connection, entity=entity, obj=obj, priority=Priority.BULK)
    result.created = len(new_objects)
    result.linked = len(linked)
    # The cursor may only pass what was applied: a refused record holds it below itself.
    refused_ids = {record.remote_id for record in refused}
    for record, _ in by_remote.values():
        if record.modified_at is None:
            continue
        if record.remote_id in refused_ids:
            if result.min_refused is None or record.modified_at < result.min_refused:
                result.min_refused = record.modified_at
        elif result.max_modified is None or record.modified_at > result.max_modified:
            result.max_modified = record.modified_at
    return result


def _chosen_objects(connection, spec: EntitySpec, planned: dict) -> dict[int, object]:
    """The local rows a review chose to link, locked; one bound meanwhile is left out."""
    ids = [object_id for object_id in planned.values() if object_id]
    if not ids:
        return {}
    bound = Binding.objects.filter(connection=connection, entity=spec.key, object_id__in=ids)
    rows = (
        spec.model.objects.select_for_update()
        .filter(pk__in=ids)
        .exclude(pk__in=bound.values("object_id"))
        .order_by("pk")
    )
    return {row.pk: row for row in rows}


def _match_candidates(
    connection, spec: EntitySpec, values: list[dict], exclude: set[int] = frozenset()
) -> dict[str, object]:
    """Local rows not yet bound on this connection whose natural key matches in any letter
    case, lowest id first (`exclude`: rows a review gave to other records)."""
    keys = {(v.get(spec.match_field) or "").lower() for v in values}
    keys.discard("")
    if not keys:
        return {}
    rows = spec.model.objects.annotate(_key=Lower(spec.match_field)).filter(_key__in=keys)
    rows = rows.exclude(pk__in=list(exclude))
    rows = list(rows.select_for_update().order_by("id"))  # written below from this read
    # A row whose vendor record was deleted (binding gone) is matched again: the vendor's new
    # record of it (same natural key) is linked instead of making a duplicate here.
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=spec.key, object_id__in=[r.pk for r in rows]
        )
        .exclude(status=BindingStatus.GONE)
        .values_list("object_id", flat=True)
    )
    found: dict[str, object] = {}
    for row in rows:
        if row.pk in bound:
            continue
        found.setdefault((getattr(row, spec.match_field) or "").lower(), row)
    return found


def _changes(ours: dict, theirs: dict) -> dict:
    """{field: [ours, theirs]} for the fields that differ."""
    return {
        name: [ours.get(name), value]
        for name, value in theirs.items()
        if name in ours and not same(name, ours.get(name), value)
    }


def _action(kind: str, entity: str, record: RemoteRecord, values: dict, **more) -> dict:
    return {
        "action": kind,
        "entity": entity,
        "remote_id": record.remote_id,
        "label": str(values.get("name") or record.number or record.remote_id)[:200],
        **more,
    }


def _merge_actions(detail, entity, record, values, local, outcome: MergeResult) -> None:
    """What the merge of one bound record will do: fields taken (ours -> theirs), fields to
    push (theirs -> ours), conflicts and how their policy settles them."""
    ours = entity_spec(entity).snapshot(local)
    if outcome.to_local:
        detail.append(
            _action(
                "update",
                entity,
                record,
                values,
                object_id=local.pk,
                changes={name: [ours.get(name), value] for name, value in outcome.to_local.items()},
            )
        )
    if outcome.to_remote:
        detail.append(
            _action(
                "push",
                entity,
                record,
                values,
                object_id=local.pk,
                changes={name: [values.get(name), v] for name, v in outcome.to_remote.items()},
            )
        )
    for conflict in outcome.conflicts:
        detail.append(
            _action(
                "conflict",
                entity,
                record,
                values,
                object_id=local.pk,
                field=conflict.field,
                base=conflict.base,
                ours=conflict.local,
                theirs=conflict.remote,
                policy=conflict.policy,
                held=conflict.held,
            )
        )


def _taken(spec: EntitySpec, key: str) -> bool:
    return spec.model.objects.filter(**{f"{spec.match_field}__iexact": key}).exists()


def keep_pulled(*, connection: Connection, entity: str, mapped: list) -> list:
    """For entities pulled only while active (services): an inactive remote record is applied
    only when already bound (so its local row is deactivated), never created or linked."""
    if not entity_spec(entity).active_only:
        return mapped
    inactive = [record.remote_id for record, values in mapped if values.get("active") is False]
    if not inactive:
        return mapped
    bound = set(
        Binding.objects.filter(
            connection=connection, entity=entity, remote_id__in=inactive
        ).values_list("remote_id", flat=True)
    )
    return [
        (record, values)
        for record, values in mapped
        if values.get("active") is not False or record.remote_id in bound
    ]


def _our_push_in_flight(connection: Connection, entity: str, record: RemoteRecord) -> bool:
    """An unbound record while one of our pushes to this account is in flight is most likely
    the record that push is creating (its notification outran our binding): applying it could
    create a second local row, so it is left to the scheduled pull, which sees it bound."""
    if Binding.objects.filter(
        connection=connection, entity=entity, remote_id=record.remote_id
    ).exists():
        return False
    return OutboxItem.objects.filter(
        connection__remote_account_id=connection.remote_account_id,
        status=OutboxStatus.IN_FLIGHT,
    ).exists()


def apply_one(*, connection: Connection, entity: str, record: RemoteRecord, mapper) -> str:
    """Apply one record a webhook pointed at, through the pull's own code; returns what it did."""
    if _our_push_in_flight(connection, entity, record):
        return f"{entity} {record.remote_id}: new while our push is in flight; left to the pull"
    plan = review_holding(connection.pk)
    if (
        plan is not None
        and not Binding.objects.filter(
            connection=connection, entity=entity, remote_id=record.remote_id
        ).exists()
    ):
        # The first pull after the review applies it (its cursor starts before this change).
        return f"{entity} {record.remote_id}: left to the pull. {hold_message(plan)}"
    current = trace.current()  # a webhook's delivery names itself as the changes' source
    with transaction.atomic():
        result = apply_page(
            connection=connection,
            entity=entity,
            mapped=[(record, mapper(record))],
            reason=current.source if current and current.source else CHANGE_REASON,
        )
    if result.errors:
        raise VendorError("; ".join(result.error_messages))
    for name in ("created", "linked", "updated"):
        if getattr(result, name):
            return f"{entity} {record.remote_id}: {name}"
    return f"{entity} {record.remote_id}: unchanged"
