"""E-mail backends for tests: one whose server is down, one that holds a send open on request."""

import smtplib
import threading

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend

FAILING = "tests.quotes.mail_backends.FailingBackend"
HELD = "tests.quotes.mail_backends.HeldBackend"


class FailingBackend(BaseEmailBackend):
    """Every send fails the way an unreachable SMTP server does; counts the attempts."""

    attempts = 0

    def send_messages(self, email_messages):
        type(self).attempts += len(email_messages)
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class HeldBackend(MemoryBackend):
    """Delivers to mail.outbox, but first says it is sending and waits to be released."""

    sending = threading.Event()
    release = threading.Event()

    def send_messages(self, email_messages):
        type(self).sending.set()
        if not type(self).release.wait(timeout=30):
            raise TimeoutError("the test never released the send")
        return super().send_messages(email_messages)
