"""django-q2 entry points for invoices: each takes ids (or nothing) and calls one service."""

from apps.invoices import services


def invoice_email_task(invoice_id: int) -> None:
    services.invoice_email_send(invoice_id=invoice_id)


def reminder_email_task(reminder_id: int) -> None:
    services.reminder_email_send(reminder_id=reminder_id)


def mark_overdue_invoices_task() -> int:
    """Daily: open invoices past their due date become overdue."""
    return services.invoice_mark_overdue_due()


def send_reminders_task() -> int:
    """Daily: overdue invoices get their 7, 14 and 30-day reminders, each once."""
    return services.invoice_reminders_send_due()


def resend_invoice_emails_task() -> int:
    """Hourly: invoice and reminder e-mails that failed are sent again until they go out."""
    return services.invoice_emails_resend_unsent()
