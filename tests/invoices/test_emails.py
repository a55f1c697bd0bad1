"""Invoice and reminder e-mails go out at least once and, short of a crash between the mail
server's answer and our commit, exactly once: `emailed_at` is set under a row lock after a
successful send, and the hourly sweep re-sends what a failed send left owed."""

import datetime
import smtplib
import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from apps.invoices import services
from apps.invoices.models import Invoice, InvoiceReminder
from apps.invoices.tasks import reminder_email_task, resend_invoice_emails_task
from tests.quotes.factories import DocClientFactory, today
from tests.quotes.mail_backends import FAILING, HELD, FailingBackend, HeldBackend

pytestmark = pytest.mark.django_db

LATER = datetime.timedelta(minutes=11)  # past the sweep's EMAIL_RETRY_AFTER


def make_overdue_invoice(days: int = 8) -> Invoice:
    due = today() - datetime.timedelta(days=days)
    invoice = services.invoice_create(
        client=DocClientFactory(),
        issue_date=due - datetime.timedelta(days=30),
        due_date=due,
        lines=[{"name": "Police clearance", "quantity": "1", "rate": "200", "tax_rate": "15"}],
    )
    invoice = services.invoice_send(invoice=invoice)
    invoice = services.invoice_mark_overdue(invoice=invoice)
    # Its "sent" e-mail went out (the task queued by invoice_send never runs in these tests).
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
    return invoice


def run_as_the_worker(callbacks) -> int:
    """Run the tasks queued after commit as a worker does: a failed one is recorded, not raised
    (Q_CLUSTER's sync mode, used in tests, raises it). Returns how many failed."""
    failed = 0
    for callback in callbacks:
        try:
            callback()
        except smtplib.SMTPException:
            failed += 1
    return failed


def sweep() -> int:
    return services.invoice_emails_resend_unsent(now=timezone.now() + LATER)


def test_a_failed_reminder_is_sent_by_the_sweep_exactly_once(
    settings, django_capture_on_commit_callbacks
):
    first, second = make_overdue_invoice(days=8), make_overdue_invoice(days=15)
    settings.EMAIL_BACKEND = FAILING
    FailingBackend.attempts = 0
    with django_capture_on_commit_callbacks() as queued:
        assert services.invoice_reminders_send_due() == 2  # recorded; the sends fail
    assert run_as_the_worker(queued) == 2
    assert FailingBackend.attempts == 2
    assert mail.outbox == []
    assert list(InvoiceReminder.objects.values_list("emailed_at", flat=True)) == [None, None]
    assert sweep() == 0  # the server is still down: still owed, nothing marked
    assert FailingBackend.attempts == 4

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.invoice_emails_resend_unsent() == 0  # too soon: the queued task's turn
    assert sweep() == 2
    assert sorted(message.subject for message in mail.outbox) == [
        f"Reminder: invoice {first.number} is 7 days overdue",
        f"Reminder: invoice {second.number} is 14 days overdue",
    ]
    assert InvoiceReminder.objects.filter(emailed_at__isnull=True).count() == 0
    # Every later pass (the sweep, the hourly task, a late duplicate of the task) is a no-op.
    assert sweep() == 0
    assert resend_invoice_emails_task() == 0
    for reminder in InvoiceReminder.objects.all():
        reminder_email_task(reminder.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.invoice_reminders_send_due() == 0
    assert len(mail.outbox) == 2


def test_a_reminder_that_went_out_is_not_sent_again(django_capture_on_commit_callbacks):
    make_overdue_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_reminders_send_due()
    reminder = InvoiceReminder.objects.get()
    assert reminder.emailed_at is not None
    assert [message.subject for message in mail.outbox][-1].startswith("Reminder: invoice")
    sent = len(mail.outbox)
    assert sweep() == 0
    reminder_email_task(reminder.pk)
    assert len(mail.outbox) == sent


def test_the_sweep_skips_paid_invoices_and_stale_stages(
    settings, django_capture_on_commit_callbacks
):
    paid, moved_on = make_overdue_invoice(), make_overdue_invoice(days=8)
    settings.EMAIL_BACKEND = FAILING
    with django_capture_on_commit_callbacks() as queued:
        services.invoice_reminders_send_due()
    assert run_as_the_worker(queued) == 2
    services.payment_record(invoice=paid, amount=paid.balance)
    # A week later the 14-day stage is due too; the unsent 7-day reminder is not worth sending.
    with django_capture_on_commit_callbacks() as queued:
        services.invoice_reminders_send_due(today=today() + datetime.timedelta(days=7))
    assert run_as_the_worker(queued) == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    assert sweep() == 1
    assert [message.subject for message in mail.outbox] == [
        f"Reminder: invoice {moved_on.number} is 14 days overdue"
    ]
    unsent = InvoiceReminder.objects.filter(emailed_at__isnull=True)
    assert set(unsent.values_list("invoice__number", "days_overdue")) == {
        (moved_on.number, 7),
        (paid.number, 7),
    }


def test_a_failed_invoice_email_is_sent_by_the_sweep_once(
    settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    invoice = services.invoice_create(
        client=DocClientFactory(),
        lines=[{"name": "Apostille", "quantity": "1", "rate": "100", "tax_rate": "0"}],
    )
    with django_capture_on_commit_callbacks() as queued:
        services.invoice_send(invoice=invoice)
    assert run_as_the_worker(queued) == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.emailed_at) == ("sent", None)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sweep() == 1
    assert sweep() == 0
    assert [message.subject for message in mail.outbox] == [f"Invoice {invoice.number}"]
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None
    assert invoice.history.first().emailed_at == invoice.emailed_at  # the change is recorded


def wait_for_a_lock_wait(timeout: float = 10.0) -> None:
    """Until another session of this database waits on a row lock (polls pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("no session waited on the reminder's row lock")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_task_and_the_sweep_at_once_send_one_email(settings):
    invoice = make_overdue_invoice()
    reminder = InvoiceReminder.objects.create(
        invoice=invoice, days_overdue=7, sent_on=today(), email=invoice.client.email
    )
    mail.outbox.clear()  # without a test transaction, the invoice's own e-mail went out
    settings.EMAIL_BACKEND = HELD
    HeldBackend.sending.clear()
    HeldBackend.release.clear()
    results: dict[str, object] = {}

    def run(name, call):
        try:
            results[name] = call()
        except BaseException as error:  # reported by the main thread
            results[name] = error
        finally:
            connection.close()

    task = threading.Thread(
        target=run, args=("task", lambda: services.reminder_email_send(reminder_id=reminder.pk))
    )
    task.start()
    assert HeldBackend.sending.wait(timeout=10)  # the task holds the lock, mid-send
    swept = threading.Thread(target=run, args=("sweep", sweep))
    swept.start()
    wait_for_a_lock_wait()  # the sweep is queued behind the task's row lock
    HeldBackend.release.set()
    task.join(timeout=30)
    swept.join(timeout=30)
    assert results == {"task": True, "sweep": 0}
    assert [message.subject for message in mail.outbox] == [
        f"Reminder: invoice {invoice.number} is 7 days overdue"
    ]
    reminder.refresh_from_db()
    assert reminder.emailed_at is not None
