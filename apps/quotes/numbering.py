"""Gap-free document numbers: a locked counter row, taken inside the caller's transaction.

The counter row is locked with SELECT ... FOR UPDATE and incremented in the same transaction as
the document insert, so concurrent writers queue on the row, and a rollback also rolls back the
number (no gaps, no duplicates). On SQLite the IMMEDIATE transaction mode serialises writers.
"""

from django.db import IntegrityError, transaction

from apps.quotes.models import DocumentSequence

QUOTE = "quote"
INVOICE = "invoice"
PREFIXES = {QUOTE: "Q", INVOICE: "INV"}
WIDTH = 6


def format_number(kind: str, value: int) -> str:
    return f"{PREFIXES[kind]}-{value:0{WIDTH}d}"


def _ensure_row(kind: str, year: int) -> None:
    if DocumentSequence.objects.filter(kind=kind, year=year).exists():
        return
    try:
        with transaction.atomic():
            DocumentSequence.objects.create(kind=kind, year=year)
    except IntegrityError:
        pass  # another transaction created it first; the lock below waits for it


def sequence_next(*, kind: str, year: int = 0) -> str:
    """Take the next number of `kind`; must run inside the transaction that stores the document."""
    if kind not in PREFIXES:
        raise ValueError(f"kind: unknown document kind {kind!r}.")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_next must run inside the document's transaction.")
    _ensure_row(kind, year)
    sequence = DocumentSequence.objects.select_for_update().get(kind=kind, year=year)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return format_number(kind, sequence.last_value)
