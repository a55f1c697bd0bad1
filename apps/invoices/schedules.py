"""Schedules the invoices app declares; `manage.py schedules_apply` writes them to django-q2."""

from apps.core.schedules import DAILY, HOURLY, ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="syncdesk:invoices.mark_overdue",
        func="apps.invoices.tasks.mark_overdue_invoices_task",
        schedule_type=DAILY,
        hour=0,
        minute=30,
    ),
    # After the overdue pass, so an invoice that became overdue today is considered.
    ScheduleSpec(
        name="syncdesk:invoices.reminders",
        func="apps.invoices.tasks.send_reminders_task",
        schedule_type=DAILY,
        hour=7,
        minute=0,
    ),
    # A reminder or invoice e-mail whose send failed goes out on a later pass.
    ScheduleSpec(
        name="syncdesk:invoices.resend_emails",
        func="apps.invoices.tasks.resend_invoice_emails_task",
        schedule_type=HOURLY,
    ),
]
