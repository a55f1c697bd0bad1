"""Schedules the API declares; `manage.py schedules_apply` writes them to django-q2."""

from apps.core.schedules import HOURLY, ScheduleSpec

SCHEDULES = [
    # Idempotency keys answer for 24 hours; past that their rows are only weight.
    ScheduleSpec(
        name="syncdesk:api.prune_idempotency_keys",
        func="apps.api.tasks.prune_idempotency_keys_task",
        schedule_type=HOURLY,
    ),
]
