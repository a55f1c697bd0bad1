"""Reads of the conflict queue: the policies in force, record labels read with the queue's own
query, a record's conflicts for its history page and its badge."""

from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from apps.sync.conflicts.models import Conflict, ConflictPolicy, ConflictStatus
from apps.sync.engine.entities import ENTITIES

# Defaults in code: every client and catalogue field is remote-wins (the books are the source of
# truth); an admin overrides a field with a ConflictPolicy row, for all connections or one.
DEFAULT_POLICIES: dict[str, dict[str, str]] = {"clients": {}, "services": {}}
ENTITY_MODELS = {key: spec.model for key, spec in ENTITIES.items() if spec.merged}


def conflict_policies(*, connection, entity: str) -> dict[str, str]:
    """field -> policy for one connection and entity (one query); absent fields use the default."""
    policies = dict(DEFAULT_POLICIES.get(entity, {}))
    rows = ConflictPolicy.objects.filter(
        Q(connection__isnull=True) | Q(connection=connection), entity=entity
    )
    # Rows for every connection first, then this connection's, which override them.
    for row in sorted(rows, key=lambda r: r.connection_id is not None):
        policies[row.field] = row.policy
    return policies


def _label_of(model) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef("object_id")).values("name")[:1])


def with_record_labels(rows: QuerySet[Conflict]) -> QuerySet[Conflict]:
    """Each row carries its record's name as `record_label`, read in the page's own query."""
    return rows.annotate(
        record_label=Coalesce(
            Case(
                *(
                    When(entity=entity, then=_label_of(model))
                    for entity, model in ENTITY_MODELS.items()
                ),
                output_field=CharField(),
            ),
            Value("(deleted)"),
        )
    )


def record_conflicts(*, model, object_id: int) -> QuerySet[Conflict]:
    """Every conflict of one local record, newest first, for its history page."""
    entities = [e for e, m in ENTITY_MODELS.items() if m is model]
    return (
        Conflict.objects.filter(entity__in=entities, object_id=object_id)
        .select_related("connection", "resolved_by")
        .order_by("-created_at", "-id")
    )


def record_open_conflict_count(*, model, object_id: int) -> int:
    return (
        record_conflicts(model=model, object_id=object_id)
        .filter(status=ConflictStatus.OPEN)
        .count()
    )


def conflicts_list(*, status: str | None = ConflictStatus.OPEN) -> QuerySet[Conflict]:
    """The queue: conflicts (open ones by default), oldest first, each with its record's name
    (`record_label`) and its connection, in one query."""
    rows = Conflict.objects.select_related("connection", "resolved_by")
    if status:
        rows = rows.filter(status=status)
    return with_record_labels(rows).order_by("created_at", "id")
