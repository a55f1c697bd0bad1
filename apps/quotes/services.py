"""Every write to a quote: create, lines, send, accept, reject, expire, revise.

Each service is atomic and keyword-only; a refusal raises ValidationError naming the field and
changes nothing; e-mails leave only after commit, through a task that takes the quote's id.
"""

import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.core.money import ZERO
from apps.quotes.documents import (
    LINE_EDITABLE_FIELDS,
    apply_totals,
    check_currency,
    check_discount,
    line_apply_changes,
    line_changes_check,
    line_figures,
    line_values_from,
    line_values_new,
    set_document_totals,
    totals_for,
)
from apps.quotes.models import DiscountType, Quote, QuoteLine
from apps.quotes.numbering import QUOTE, sequence_next
from apps.tickets.models import Ticket

logger = logging.getLogger(__name__)

DEFAULT_VALIDITY_DAYS = 30
# Header fields a draft may change through quote_update.
QUOTE_EDITABLE_FIELDS = (
    "client",
    "issue_date",
    "valid_until",
    "currency",
    "discount_type",
    "discount_value",
    "notes",
    "terms",
)
# --- quotes ---------------------------------------------------------------------------------


def refuse_superseded(quote: Quote, action: str, field: str = "status") -> None:
    """A superseded quote is refused by name, pointing at the revision that replaced it."""
    if quote.status != Quote.Status.SUPERSEDED:
        return
    revision = (
        Quote.objects.filter(revision_of=quote).order_by("pk").values_list("number", flat=True)
    ).first()
    raise ValidationError(
        {
            field: f"Quote {quote.number} was superseded by its revision {revision}; "
            f"it can no longer be {action} (use {revision} instead)."
        }
    )


def _require_status(quote: Quote, allowed: tuple[str, ...], action: str) -> None:
    refuse_superseded(quote, action)
    if quote.status not in allowed:
        wanted = " or ".join(Quote.Status(status).label.lower() for status in allowed)
        raise ValidationError(
            {
                "status": f"Quote {quote.number} is {quote.get_status_display().lower()}; "
                f"only a {wanted} quote can be {action}."
            }
        )


def _lock(quote: Quote) -> Quote:
    """Re-read the quote under a row lock so two transitions never interleave."""
    return Quote.objects.select_for_update(of=("self",)).select_related("client").get(pk=quote.pk)


def _recalculate(quote: Quote) -> None:
    before = (quote.subtotal, quote.discount_total, quote.tax_total, quote.total)
    apply_totals(quote, list(quote.lines.order_by("position", "id")))
    if (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) != before:
        quote.save(update_fields=["subtotal", "discount_total", "tax_total", "total", "updated_at"])


@transaction.atomic
def quote_create(
    *,
    created_by,
    client: Client | None = None,
    ticket: Ticket | None = None,
    issue_date: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    currency: str | None = None,
    discount_type: str = DiscountType.AMOUNT,
    discount_value: object = ZERO,
    notes: str = "",
    terms: str = "",
    lines: list[dict] | None = None,
) -> Quote:
    """A draft quote with a new number; from a ticket, the client is the ticket's."""
    if ticket is not None:
        if client is None:
            client = ticket.client
        elif ticket.client_id != client.pk:
            raise ValidationError({"ticket": f"Ticket #{ticket.pk} belongs to another client."})
    if client is None:
        raise ValidationError({"client": "A quote needs a client."})
    if not client.active:
        raise ValidationError({"client": f"The client '{client}' is inactive."})
    issue_date = issue_date or timezone.localdate()
    if valid_until is None:
        valid_until = issue_date + datetime.timedelta(days=DEFAULT_VALIDITY_DAYS)
    if valid_until < issue_date:
        raise ValidationError({"valid_until": "Valid until cannot be before the issue date."})
    quote = Quote(
        client=client,
        issue_date=issue_date,
        valid_until=valid_until,
        currency=check_currency(currency or settings.DEFAULT_CURRENCY),
        discount_type=discount_type,
        discount_value=check_discount(discount_type, discount_value),
        notes=notes,
        terms=terms,
        ticket=ticket,
        created_by=created_by,
    )
    checked = []
    for position, line in enumerate(lines or [], start=1):
        checked.append(line_values_from(line) | {"position": line.get("position") or position})
    # Refuse a discount the lines cannot carry before a number is taken.
    totals = totals_for(quote, [QuoteLine(**values) for values in checked])
    set_document_totals(quote, totals)
    quote.number = sequence_next(kind=QUOTE)
    quote.save()
    for values, figures in zip(checked, totals.lines, strict=True):
        QuoteLine.objects.create(quote=quote, **values, **line_figures(figures))
    return quote


@transaction.atomic
def quote_update(*, quote: Quote, **changes) -> Quote:
    """Change a draft's header (client, dates, currency, discount, notes, terms)."""
    unknown = set(changes) - set(QUOTE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.DRAFT,), "changed")
    for field, value in changes.items():
        setattr(quote, field, value)
    quote.currency = check_currency(quote.currency)
    quote.discount_value = check_discount(quote.discount_type, quote.discount_value)
    if not quote.client.active:
        raise ValidationError({"client": f"The client '{quote.client}' is inactive."})
    if quote.valid_until and quote.valid_until < quote.issue_date:
        raise ValidationError({"valid_until": "Valid until cannot be before the issue date."})
    apply_totals(quote, list(quote.lines.order_by("position", "id")))
    quote.save()
    return quote


@transaction.atomic
def quote_line_add(
    *,
    quote: Quote,
    service: Service | None = None,
    name: str | None = None,
    description: str | None = None,
    quantity: object = Decimal("1"),
    rate: object = None,
    tax_rate: object = None,
    position: int | None = None,
) -> QuoteLine:
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.DRAFT,), "edited")
    values = line_values_new(
        document=quote,
        service=service,
        name=name,
        description=description,
        quantity=quantity,
        rate=rate,
        tax_rate=tax_rate,
        position=position,
    )
    line = QuoteLine.objects.create(quote=quote, **values)
    _recalculate(quote)
    line.refresh_from_db()
    return line


@transaction.atomic
def quote_line_update(*, line: QuoteLine, **changes) -> QuoteLine:
    line_changes_check(changes)
    quote = _lock(line.quote)
    _require_status(quote, (Quote.Status.DRAFT,), "edited")
    line = QuoteLine.objects.get(pk=line.pk, quote=quote)
    line_apply_changes(line, changes, retired_service_given_is_refused=True)
    _recalculate(quote)
    line.refresh_from_db()
    return line


@transaction.atomic
def quote_line_remove(*, line: QuoteLine) -> None:
    quote = _lock(line.quote)
    _require_status(quote, (Quote.Status.DRAFT,), "edited")
    QuoteLine.objects.filter(pk=line.pk, quote=quote).get().delete()
    _recalculate(quote)


@transaction.atomic
def quote_send(*, quote: Quote, sent_by=None) -> Quote:
    """Draft -> sent; e-mails the client the quote after commit."""
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.DRAFT,), "sent")
    if not quote.client.email:
        raise ValidationError(
            {"client": f"The client '{quote.client}' has no e-mail address to send the quote to."}
        )
    if not quote.lines.exists():
        raise ValidationError({"lines": f"Quote {quote.number} has no lines; add one first."})
    today = timezone.localdate()
    if quote.valid_until and quote.valid_until < today:
        raise ValidationError(
            {"valid_until": f"Valid until ({quote.valid_until:%Y-%m-%d}) is in the past."}
        )
    quote.status = Quote.Status.SENT
    quote.sent_at = timezone.now()
    quote.save(update_fields=["status", "sent_at", "updated_at"])
    quote_id = quote.pk
    transaction.on_commit(lambda: _enqueue("apps.quotes.tasks.quote_email_task", quote_id))
    return quote


def _enqueue(func: str, *args) -> None:
    from django_q.tasks import async_task

    async_task(func, *args)


@transaction.atomic
def quote_accept(*, quote: Quote) -> Quote:
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.SENT,), "accepted")
    if quote.valid_until and quote.valid_until < timezone.localdate():
        raise ValidationError(
            {"valid_until": f"Quote {quote.number} expired on {quote.valid_until:%Y-%m-%d}."}
        )
    quote.status = Quote.Status.ACCEPTED
    quote.save(update_fields=["status", "updated_at"])
    return quote


@transaction.atomic
def quote_reject(*, quote: Quote) -> Quote:
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.SENT,), "rejected")
    quote.status = Quote.Status.REJECTED
    quote.save(update_fields=["status", "updated_at"])
    return quote


@transaction.atomic
def quote_expire(*, quote: Quote, today: datetime.date | None = None) -> Quote:
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.SENT,), "expired")
    today = today or timezone.localdate()
    if not quote.valid_until or quote.valid_until >= today:
        raise ValidationError(
            {"valid_until": f"Quote {quote.number} is valid until {quote.valid_until}; not yet."}
        )
    quote.status = Quote.Status.EXPIRED
    quote.save(update_fields=["status", "updated_at"])
    return quote


def quote_expire_due(*, today: datetime.date | None = None) -> int:
    """Expire every sent quote whose validity ended before `today`; safe to run twice."""
    today = today or timezone.localdate()
    due = Quote.objects.filter(status=Quote.Status.SENT, valid_until__lt=today)
    expired = 0
    for quote_id in due.values_list("pk", flat=True).iterator():
        try:
            quote_expire(quote=Quote(pk=quote_id), today=today)
            expired += 1
        except ValidationError:
            continue  # changed since it was listed (accepted, say): not ours to expire
    return expired


@transaction.atomic
def quote_revise(*, quote: Quote, created_by=None) -> Quote:
    """A sent quote becomes a new draft revision with the same lines, and is superseded by it:
    from then on only the revision can be sent, accepted, rejected or invoiced."""
    quote = _lock(quote)
    _require_status(quote, (Quote.Status.SENT,), "revised")
    base_number = quote.number.partition("-R")[0]
    revision = quote.revision + 1
    today = timezone.localdate()
    validity = (
        (quote.valid_until - quote.issue_date)
        if quote.valid_until
        else datetime.timedelta(days=DEFAULT_VALIDITY_DAYS)
    )
    copy = Quote(
        number=f"{base_number}-R{revision}",
        client=quote.client,
        issue_date=today,
        valid_until=today + validity,
        currency=quote.currency,
        discount_type=quote.discount_type,
        discount_value=quote.discount_value,
        notes=quote.notes,
        terms=quote.terms,
        ticket_id=quote.ticket_id,
        revision_of=quote,
        revision=revision,
        created_by=created_by or quote.created_by,
    )
    copy.save()
    for line in quote.lines.order_by("position", "id"):
        QuoteLine.objects.create(
            quote=copy,
            **{field: getattr(line, field) for field in LINE_EDITABLE_FIELDS},
        )
    _recalculate(copy)
    quote.status = Quote.Status.SUPERSEDED
    quote.save(update_fields=["status", "updated_at"])
    return copy


# --- e-mail: sent after commit, recorded once delivered, retried until then ---------------------

# A send still owed this long after it was due is the retry sweep's: by then the task queued after
# commit has run (or failed), so the two seldom meet, and the row lock settles it when they do.
EMAIL_RETRY_AFTER = datetime.timedelta(minutes=10)
# Without EMAIL_TIMEOUT an SMTP server that stops answering would hold the row lock for ever.
EMAIL_TIMEOUT_SECONDS = 30


def document_attachments(*, kind: str, document) -> list[tuple[str, bytes, str]]:
    """The document's PDF for its "sent" e-mail, from the renderer settings name.

    The PDFs are made by the staff pages' app, above the domain; naming the renderer in a
    setting (DOCUMENT_PDF_RENDERER, called with kind= and document=) keeps every import
    pointing down. No renderer, or one that answers None, means an e-mail without it.
    """
    path = getattr(settings, "DOCUMENT_PDF_RENDERER", "")
    if not path:
        return []
    attachment = import_string(path)(kind=kind, document=document)
    return [attachment] if attachment else []


def email_send(
    *,
    subject: str,
    to: str,
    template: str,
    context: dict,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> None:
    """One plain-text and HTML e-mail from templates/emails/<template>.{txt,html}; raises on a
    failed send (the caller leaves the row unmarked so the retry sweep sends it again)."""
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT or EMAIL_TIMEOUT_SECONDS)
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
        connection=connection,
        attachments=attachments or None,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()


def quote_email_send(*, quote_id: int) -> bool:
    """E-mail the client a sent quote (plain text and HTML) unless it already went out.

    Called by the task after commit and by the retry sweep. The quote's row is locked across the
    send and the `emailed_at` that records it, so the two never both send; a failed send raises
    and leaves `emailed_at` empty for the sweep. Delivery is at least once: a crash after the
    mail server accepted the message but before the commit would send it again. True when sent.
    """
    with transaction.atomic():
        quote = _lock(Quote(pk=quote_id))
        if quote.emailed_at is not None:
            return False
        if quote.status != Quote.Status.SENT or not quote.client.email:
            logger.info("quote %s: not e-mailed (status %s)", quote.number, quote.status)
            return False
        email_send(
            subject=f"Quote {quote.number}",
            to=quote.client.email,
            template="quote_sent",
            context={"quote": quote, "lines": list(quote.lines.all()), "client": quote.client},
            attachments=document_attachments(kind="quote", document=quote),
        )
        quote.emailed_at = timezone.now()
        quote.save(update_fields=["emailed_at", "updated_at"])
    return True


def resend_each(ids, send, what: str) -> int:
    """Call `send(id)` for each id; one failure is logged and does not stop the others."""
    sent = 0
    for object_id in ids:
        try:
            sent += bool(send(object_id))
        except Exception:  # the mail server's errors are many (SMTP, OSError, ...): log, go on
            logger.exception(
                "%s %s: e-mail failed again; the next sweep retries it", what, object_id
            )
    return sent


def quote_emails_resend_unsent(*, now: datetime.datetime | None = None) -> int:
    """Re-send the e-mail of every quote still sent (so still open) whose e-mail never went out."""
    now = now or timezone.now()
    owed = Quote.objects.filter(
        status=Quote.Status.SENT, emailed_at__isnull=True, sent_at__lte=now - EMAIL_RETRY_AFTER
    ).order_by("pk")
    return resend_each(
        list(owed.values_list("pk", flat=True)),
        lambda quote_id: quote_email_send(quote_id=quote_id),
        "quote",
    )
