"""Schedules the quotes app declares; `manage.py schedules_apply` writes them to django-q2."""

from apps.core.schedules import DAILY, ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="syncdesk:quotes.expire",
        func="apps.quotes.tasks.expire_quotes_task",
        schedule_type=DAILY,
        hour=0,
        minute=15,
    ),
]
