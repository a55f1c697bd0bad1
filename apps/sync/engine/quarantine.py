"""Quarantine: vendor records that failed their connector's schema are stored with their raw
payload (secrets masked) instead of stopping the pull; an Admin sees them and retries them, which
fetches the record again and applies it through the importer."""

from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.sync.engine import importer, registry
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.records import BadRecord, VendorError
from apps.sync.engine.schema import payload_text
from apps.sync.engine.transport import redact, secret_values
from apps.sync.models import Connection, Priority, QuarantinedRecord, QuarantineStatus


def quarantine_store(
    *, connection: Connection, entity: str, bad: list[BadRecord], run_id: int | None = None
) -> int:
    """Store each bad record (inside the caller's transaction: with the page it came on)."""
    fields = registry.connector(connection.provider).secret_fields
    rows = []
    for record in bad:
        text = payload_text(record.payload)
        rows.append(
            QuarantinedRecord(
                connection=connection,
                entity=entity,
                run_id=run_id,
                remote_id=record.remote_id,
                reason=record.reason,
                payload=redact(text, secret_values(record.payload, fields)),
            )
        )
    QuarantinedRecord.objects.bulk_create(rows)
    return len(rows)


def quarantine_retry(*, record: QuarantinedRecord) -> str:
    """Fetch the record from the vendor again and apply it; a record that still fails keeps its
    place with the new reason. Returns what happened."""
    if record.status != QuarantineStatus.OPEN:
        raise ApplicationError("This record was already applied.")
    if not record.remote_id:
        raise ApplicationError(
            "The vendor sent this record without its id: it cannot be fetched again. Correct "
            "it at the vendor; the next pull reads it."
        )
    connection = record.connection
    spec = registry.connector(connection.provider).pulls.get(record.entity)
    if spec is None or spec.mapper is None:
        raise ApplicationError(f"{record.entity} records are not retried one by one here.")
    record.attempts += 1
    try:
        adapter = adapter_for(connection, priority=Priority.USER)
        remote = adapter.get(spec.resource, record.remote_id)
        outcome = importer.apply_one(
            connection=connection, entity=record.entity, record=remote, mapper=spec.mapper
        )
    except (VendorError, TypeError, ValueError, KeyError, AttributeError) as error:
        record.reason = f"Retry {record.attempts}: {getattr(error, 'message', error)}"[:2000]
        record.save(update_fields=["attempts", "reason"])
        raise ApplicationError(record.reason) from error
    with transaction.atomic():
        record.status = QuarantineStatus.RESOLVED
        record.resolved_at = timezone.now()
        record.save(update_fields=["attempts", "status", "resolved_at"])
    return outcome
