"""The whole-sync plan: what a sync of a connection would do now — records created, updated
(field: ours -> theirs), linked, conflicts, pushes — record by record. It runs the real pull in
its dry-run mode (each page applied by the importer, then rolled back) and reads the outbox, so
the plan cannot drift from the run; it writes nothing and sends only the pull's reads."""

from collections import Counter

from apps.sync.engine import registry
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.matching import hold_message, review_holding
from apps.sync.engine.merge import same
from apps.sync.engine.pull import pull
from apps.sync.engine.transport import unlogged_calls
from apps.sync.models import Binding, Connection, Direction, OutboxItem, OutboxStatus

PULL_COUNTS = ("records", "created", "updated", "linked", "unchanged", "conflicts", "errors")


def sync_plan(*, connection: Connection, entity: str = "all", direction: str = "both") -> dict:
    """The plan of one connection as a dict (the CLI prints it as JSON; the admin shows it)."""
    pulls = list(registry.connector(connection.provider).pulls)
    entities = pulls if entity == "all" else [e for e in pulls if e == entity]
    plan: dict = {"connection": connection.name, "pull": [], "push": [], "held": ""}
    review = review_holding(connection.pk)
    if review is not None:
        plan["held"] = hold_message(review)
    with unlogged_calls() as calls:
        if direction in (Direction.PULL, "both"):
            for name in entities:
                plan["pull"].append(_pull_plan(connection, name))
    if direction in (Direction.PUSH, "both"):
        plan["push"] = _push_plan(connection, None if entity == "all" else entity)
    plan["vendor_calls"] = dict(Counter(call["method"] for call in calls))
    return plan


def _pull_plan(connection: Connection, entity: str) -> dict:
    detail: list = []
    run = pull(connection=connection, entity=entity, dry_run=True, detail=detail)
    return {
        "entity": entity,
        "status": run.status,
        **{name: getattr(run, name) for name in PULL_COUNTS},
        # Pulls of the connector's own (documents) say what they count, not record by record.
        "per_record": registry.connector(connection.provider).pulls[entity].run is None,
        "actions": detail,
    }


def _push_plan(connection: Connection, entity: str | None) -> list[dict]:
    """Each queued push: what it sends, and for a bound record the fields that differ from
    what the vendor last agreed to (theirs -> ours)."""
    items = OutboxItem.objects.filter(
        connection=connection, status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
    ).order_by("priority", "next_attempt_at", "id")
    if entity:
        items = items.filter(entity=entity)
    items = list(items)
    bases = {
        (b.entity, b.object_id): b.base_snapshot
        for b in Binding.objects.filter(
            connection=connection, object_id__in=[i.object_id for i in items]
        )
    }
    planned = []
    for item in items:
        spec = entity_spec(item.entity)
        obj = spec.model.objects.filter(pk=item.object_id).first()
        entry = {
            "action": "push",
            "entity": item.entity,
            "operation": item.operation,
            "intent": item.intent,
            "object_id": item.object_id,
            "reference": item.reference,
            "label": str(obj) if obj is not None else "(deleted here: will be discarded)",
            "attempts": item.attempts,
            "last_error": item.last_error,
            "changes": {},
        }
        base = bases.get((item.entity, item.object_id))
        if obj is not None and spec.merged and base:
            ours = spec.snapshot(obj)
            entry["changes"] = {
                name: [base.get(name), value]
                for name, value in ours.items()
                if name in base and not same(name, base.get(name), value)
            }
        planned.append(entry)
    return planned
