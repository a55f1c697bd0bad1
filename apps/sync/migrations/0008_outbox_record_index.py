from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0007_taxes_and_totals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outboxitem",
            index=models.Index(
                fields=["connection", "entity", "object_id"], name="sync_outbox_record"
            ),
        ),
    ]
