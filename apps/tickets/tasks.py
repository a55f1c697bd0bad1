"""django-q2 entry points for tickets: each takes ids and calls one service."""

from apps.tickets import services


def ticket_reply_email_task(message_id: int) -> None:
    services.ticket_reply_email_send(message_id=message_id)
