"""Bindings: the one place that writes them (one row per connection, entity and local object,
holding the remote id and number, the remote modified time and the base snapshot).
engine/dependencies.py finds or makes a document's dependencies and binds them."""

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.sync.engine import registry
from apps.sync.engine.bulk import insert_rows, update_rows
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.records import RemoteRecord
from apps.sync.models import Binding, BindingStatus, Connection, Operation

BINDING_UPDATE_FIELDS = [
    "base_snapshot",
    "remote_modified_at",
    "remote_number",
    "status",
    "synced_at",
    "last_error",
]


def _content_type(entity: str) -> ContentType:
    return ContentType.objects.get_for_model(entity_spec(entity).model)


def bound_remote_id(connection: Connection, entity: str, object_id: int) -> str | None:
    return (
        Binding.objects.filter(
            connection=connection, entity=entity, object_id=object_id, remote_id__isnull=False
        )
        .values_list("remote_id", flat=True)
        .first()
    )


def bound_remote_ids(connection: Connection, entity: str, object_ids) -> dict[int, str]:
    """`bound_remote_id` for many objects in one query: object id -> remote id (bound only)."""
    return dict(
        Binding.objects.filter(
            connection=connection,
            entity=entity,
            object_id__in=list(object_ids),
            remote_id__isnull=False,
        ).values_list("object_id", "remote_id")
    )


def binding_bind(
    connection: Connection,
    entity: str,
    object_id: int,
    *,
    record: RemoteRecord,
    base: dict | None = None,
) -> None:
    """The local object is the vendor's `record`: synced, with `base` as the agreed snapshot."""
    Binding.objects.update_or_create(
        connection=connection,
        entity=entity,
        object_id=object_id,
        defaults={
            "content_type": _content_type(entity),
            "remote_id": record.remote_id,
            "remote_number": (record.number or "")[:100],
            "remote_modified_at": record.modified_at,
            "base_snapshot": base or {},
            "status": BindingStatus.SYNCED,
            "synced_at": timezone.now(),
            "last_error": "",
        },
    )


def binding_bind_found(
    connection: Connection, entity: str, object_id: int, record: RemoteRecord
) -> None:
    """Bind to a record found at the vendor (not made by our push: created there, or linked by
    hand), its agreed snapshot taken as the connector's create exporter takes one."""
    exporter = registry.connector(connection.provider).exporters.get((entity, Operation.CREATE))
    base = exporter.base(record) if exporter is not None and exporter.base else {}
    binding_bind(connection, entity, object_id, record=record, base=base)


def bindings_bind_many(connection: Connection, entity: str, rows) -> None:
    """`binding_bind` for many (object id, record, base) at once (a batch's answers): the
    existing bindings updated in one statement, the others inserted together."""
    rows = list(rows)
    if not rows:
        return
    now = timezone.now()
    existing = dict(
        Binding.objects.filter(
            connection=connection, entity=entity, object_id__in=[r[0] for r in rows]
        ).values_list("object_id", "pk")
    )
    changed, new = [], []
    for object_id, record, base in rows:
        values = {
            "remote_id": record.remote_id,
            "remote_number": (record.number or "")[:100],
            "remote_modified_at": record.modified_at,
            "base_snapshot": base or {},
            "status": BindingStatus.SYNCED,
            "synced_at": now,
            "last_error": "",
        }
        binding_id = existing.get(object_id)
        if binding_id is None:
            new.append({"object_id": object_id, **values})
            continue
        changed.append({"pk": binding_id, **values})
    update_rows(Binding, [name for name in changed[0] if name != "pk"] if changed else [], changed)
    content_type = _content_type(entity)
    insert_rows(
        Binding,
        [
            {"connection_id": connection.pk, "entity": entity, "content_type_id": content_type.pk}
            | row
            for row in new
        ],
    )


def binding_mark_pending(connection: Connection, entity: str, object_id: int) -> None:
    """A document waiting to be pushed shows as pending (a held conflict stays a conflict)."""
    Binding.objects.get_or_create(
        connection=connection,
        entity=entity,
        object_id=object_id,
        defaults={"content_type": _content_type(entity), "status": BindingStatus.PENDING},
    )
    # A document whose totals differ keeps saying so until a comparison finds them equal.
    Binding.objects.filter(
        connection=connection, entity=entity, object_id=object_id, remote_id__isnull=False
    ).exclude(status__in=[BindingStatus.CONFLICT, BindingStatus.TOTALS_DIFFER]).update(
        status=BindingStatus.PENDING, last_error=""
    )


def binding_mark_synced(connection: Connection, entity: str, object_id: int) -> None:
    """Sent; "totals differ" stays (only engine/totals.py, comparing again, clears it)."""
    rows = Binding.objects.filter(connection=connection, entity=entity, object_id=object_id)
    rows.filter(status=BindingStatus.TOTALS_DIFFER).update(synced_at=timezone.now())
    rows.exclude(status=BindingStatus.TOTALS_DIFFER).update(
        status=BindingStatus.SYNCED, last_error="", synced_at=timezone.now()
    )


def binding_mark_failed(connection_id: int, entity: str, object_id: int, *, error: str) -> None:
    Binding.objects.filter(connection_id=connection_id, entity=entity, object_id=object_id).update(
        status=BindingStatus.FAILED, last_error=error[:2000]
    )


def binding_mark_gone(
    *, connection: Connection, entity: str, remote_id: str, reason: str
) -> Binding | None:
    """The vendor no longer has `remote_id`: its binding is marked gone (the local record is
    kept, flagged for an Admin). Returns the binding, or None when nothing was bound to it."""
    binding = Binding.objects.filter(
        connection=connection, entity=entity, remote_id=remote_id
    ).first()
    if binding is None:
        return None
    if binding.status != BindingStatus.GONE:
        binding.status = BindingStatus.GONE
        binding.last_error = reason[:2000]
        binding.save(update_fields=["status", "last_error"])
    return binding


def binding_forget(binding: Binding) -> None:
    """The local object is gone: its binding goes, so the remote record binds afresh."""
    binding.delete()


def bindings_insert(connection: Connection, entity: str, rows) -> None:
    """Bind many new (object, record, base) triples at once (a pulled page)."""
    content_type = _content_type(entity)
    now = timezone.now()
    insert_rows(
        Binding,
        [
            {
                "connection_id": connection.pk,
                "entity": entity,
                "content_type_id": content_type.pk,
                "object_id": obj.pk,
                "remote_id": record.remote_id,
                "remote_number": record.number[:100],
                "remote_modified_at": record.modified_at,
                "base_snapshot": base,
                "status": BindingStatus.SYNCED,
                "last_error": "",
                "synced_at": now,
            }
            for obj, record, base in rows
        ],
    )


def bindings_update(bindings: list[Binding], fields: list[str] | None = None) -> None:
    """Write back bindings the caller changed (merged on a pull, released by a decision)."""
    if bindings:
        Binding.objects.bulk_update(bindings, fields or BINDING_UPDATE_FIELDS, batch_size=500)
