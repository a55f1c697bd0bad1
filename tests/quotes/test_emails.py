"""A quote's e-mail goes out once: `emailed_at` is set after a successful send, and the hourly
sweep re-sends a quote whose send failed, while it is still open."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.utils import timezone

from apps.quotes import services
from apps.quotes.tasks import quote_email_task, resend_quote_emails_task
from tests.quotes.factories import make_quote
from tests.quotes.mail_backends import FAILING

pytestmark = pytest.mark.django_db

MEMORY = "django.core.mail.backends.locmem.EmailBackend"


def sweep() -> int:
    later = timezone.now() + datetime.timedelta(minutes=11)
    return services.quote_emails_resend_unsent(now=later)


def send_while_the_server_is_down(settings, quote, capture):
    settings.EMAIL_BACKEND = FAILING
    with capture() as queued:
        sent = services.quote_send(quote=quote)
    (task,) = queued
    with pytest.raises(smtplib.SMTPServerDisconnected):
        task()  # a worker records the failure; django-q2's sync mode raises it
    settings.EMAIL_BACKEND = MEMORY
    return sent


def test_a_failed_quote_email_is_sent_by_the_sweep_once(
    settings, django_capture_on_commit_callbacks
):
    quote = send_while_the_server_is_down(
        settings, make_quote(), django_capture_on_commit_callbacks
    )
    quote.refresh_from_db()
    assert (quote.status, quote.emailed_at) == ("sent", None)
    assert services.quote_emails_resend_unsent() == 0  # too soon: the queued task's turn
    assert sweep() == 1
    assert sweep() == 0
    assert resend_quote_emails_task() == 0
    quote_email_task(quote.pk)  # a late duplicate of the first task
    assert [message.subject for message in mail.outbox] == [f"Quote {quote.number}"]
    quote.refresh_from_db()
    assert quote.emailed_at is not None


def test_a_sent_quote_is_emailed_once_and_closed_ones_are_not_chased(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        emailed = services.quote_send(quote=make_quote())
    emailed.refresh_from_db()
    assert emailed.emailed_at is not None
    quote_email_task(emailed.pk)
    accepted = send_while_the_server_is_down(
        settings, make_quote(), django_capture_on_commit_callbacks
    )
    services.quote_accept(quote=accepted)  # the client answered without the e-mail
    revised = send_while_the_server_is_down(
        settings, make_quote(), django_capture_on_commit_callbacks
    )
    services.quote_revise(quote=revised)  # superseded: its revision is the one to send
    assert sweep() == 0
    assert [message.subject for message in mail.outbox] == [f"Quote {emailed.number}"]
