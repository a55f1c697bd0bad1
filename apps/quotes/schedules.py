"""Schedules the quotes app declares; `manage.py schedules_apply` writes them to django-q2."""

from apps.core.schedules import DAILY, HOURLY, ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="syncdesk:quotes.expire",
        func="apps.quotes.tasks.expire_quotes_task",
        schedule_type=DAILY,
        hour=0,
        minute=15,
    ),
    ScheduleSpec(
        name="syncdesk:quotes.resend_emails",
        func="apps.quotes.tasks.resend_quote_emails_task",
        schedule_type=HOURLY,
    ),
]
