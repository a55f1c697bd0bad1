"""The record's journal: a correlation id and the record (entity, object id) on each vendor call
log row, a correlation id on each outbox item, indexed for the per-record lookup."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0008_connection_circuit_and_token_disuse"),
    ]

    operations = [
        # Added without a default first, so the items already queued keep null (one uuid4 for
        # every existing row would tie unrelated items together), then new rows get their own.
        migrations.AddField(
            model_name="outboxitem",
            name="correlation_id",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="outboxitem",
            name="correlation_id",
            field=models.UUIDField(blank=True, default=uuid.uuid4, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="synclog",
            name="correlation_id",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="synclog",
            name="entity",
            field=models.CharField(blank=True, editable=False, max_length=20),
        ),
        migrations.AddField(
            model_name="synclog",
            name="object_id",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="outboxitem",
            index=models.Index(fields=["entity", "object_id"], name="sync_outbox_record"),
        ),
        migrations.AddIndex(
            model_name="synclog",
            index=models.Index(fields=["entity", "object_id"], name="sync_log_record"),
        ),
        migrations.AddIndex(
            model_name="synclog",
            index=models.Index(fields=["correlation_id"], name="sync_log_correlation"),
        ),
    ]
