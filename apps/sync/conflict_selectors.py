"""Reads of the conflict queue: the policies in force, the queue with record labels in one query,
a record's conflicts for its history page and its badge."""

from datetime import timedelta

from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.sync.conflict_models import Conflict, ConflictPolicy, ConflictStatus
from apps.sync.merge import DEFAULT_POLICY

# Defaults in code: every client and catalogue field is remote-wins (the books are the source of
# truth); an admin overrides a field with a ConflictPolicy row, for all connections or one.
DEFAULT_POLICIES: dict[str, dict[str, str]] = {"clients": {}, "services": {}}
ENTITY_MODELS = {"clients": Client, "services": Service}


def conflict_policies(*, connection, entity: str) -> dict[str, str]:
    """field -> policy for one connection and entity (one query); absent fields use the default."""
    policies = dict(DEFAULT_POLICIES.get(entity, {}))
    rows = ConflictPolicy.objects.filter(entity=entity).filter(
        connection__isnull=True
    ) | ConflictPolicy.objects.filter(entity=entity, connection=connection)
    # Rows for every connection first, then this connection's, which override them.
    for row in sorted(rows, key=lambda r: r.connection_id is not None):
        policies[row.field] = row.policy
    return policies


def conflict_policy_for(*, connection, entity: str, field: str) -> str:
    return conflict_policies(connection=connection, entity=entity).get(field, DEFAULT_POLICY)


def _label_of(entity: str, model) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef("object_id")).values("name")[:1])


def conflict_queue(
    *,
    status: str | None = ConflictStatus.OPEN,
    connection_id: int | None = None,
    entity: str | None = None,
    older_than: timedelta | None = None,
) -> QuerySet[Conflict]:
    """Conflicts grouped by record (connection, entity, record, field), each row carrying its
    record's name as `record_label`: one query for a page, however many rows."""
    rows = Conflict.objects.select_related("connection", "resolved_by")
    if status:
        rows = rows.filter(status=status)
    if connection_id:
        rows = rows.filter(connection_id=connection_id)
    if entity:
        rows = rows.filter(entity=entity)
    if older_than is not None:
        rows = rows.filter(created_at__lte=timezone.now() - older_than)
    return with_record_labels(rows).order_by("connection_id", "entity", "object_id", "field", "id")


def with_record_labels(rows: QuerySet[Conflict]) -> QuerySet[Conflict]:
    from django.db.models import Case, When

    return rows.annotate(
        record_label=Coalesce(
            Case(
                *(
                    When(entity=entity, then=_label_of(entity, model))
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
