from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0012_matching_reviews"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outboxitem",
            index=models.Index(
                fields=["connection", "entity", "object_id"], name="sync_outbox_conn_record"
            ),
        ),
    ]
