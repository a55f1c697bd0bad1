"""What a piece of sync work is for, carried to everything it writes: a correlation id (shared
by an outbox item, the vendor calls made for it and the items it queues) and the source a change
came from ("sync webhook · #12"), read by the transport's call log, the outbox's enqueue and the
importer's history rows. The record's journal ties them together by these."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# Namespace of the correlation ids derived from a webhook row's id (uuid5), so the journal can
# find the calls a webhook made from its id alone.
WEBHOOK_NAMESPACE = uuid.UUID("6c1f3f8e-9a57-4d0e-8f0c-4b7f0d2a9e11")


@dataclass(frozen=True)
class Trace:
    correlation_id: uuid.UUID
    # The history reason of what this work changes locally; empty: the caller's own.
    source: str = ""


_current: ContextVar[Trace | None] = ContextVar("sync_trace", default=None)


def current() -> Trace | None:
    return _current.get()


def current_correlation_id() -> uuid.UUID | None:
    trace = _current.get()
    return trace.correlation_id if trace else None


@contextmanager
def tracing(*, correlation_id: uuid.UUID | None = None, source: str = "") -> Iterator[Trace]:
    """Everything done inside (calls logged, items queued, rows changed) carries this trace."""
    trace = Trace(correlation_id=correlation_id or uuid.uuid4(), source=source)
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


def webhook_correlation_id(webhook_id: int) -> uuid.UUID:
    return uuid.uuid5(WEBHOOK_NAMESPACE, f"webhook:{webhook_id}")


def webhook_source(webhook_id: int) -> str:
    return f"sync webhook · #{webhook_id}"


def pull_source(run_id: int) -> str:
    return f"sync pull · run {run_id}"
