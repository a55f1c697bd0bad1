"""The echo guard: saves made while applying a vendor's change are not pushed back to it."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_applying_remote: ContextVar[bool] = ContextVar("sync_applying_remote", default=False)


@contextmanager
def applying_remote_changes() -> Iterator[None]:
    """Saves inside this block came from a vendor: they must not be pushed back (no echo)."""
    token = _applying_remote.set(True)
    try:
        yield
    finally:
        _applying_remote.reset(token)


def applying_remote() -> bool:
    return _applying_remote.get()
