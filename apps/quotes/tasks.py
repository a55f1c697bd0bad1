"""django-q2 entry points for quotes: each takes ids (or nothing) and calls one service."""

from apps.quotes import services


def quote_email_task(quote_id: int) -> None:
    services.quote_email_send(quote_id=quote_id)


def expire_quotes_task() -> int:
    """Daily: expire sent quotes past their validity date."""
    return services.quote_expire_due()


def resend_quote_emails_task() -> int:
    """Hourly: quote e-mails that failed are sent again until they go out."""
    return services.quote_emails_resend_unsent()
