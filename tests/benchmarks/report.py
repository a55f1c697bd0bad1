"""Helpers every benchmark shares: timing, and the one JSON line it prints."""

import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection


def emit(bench: str, **figures) -> None:
    """Print `{"bench": NAME, FIGURE: value, ...}` on a line of its own (DESIGN.md)."""
    print("\n" + json.dumps({"bench": bench, **figures}), flush=True)


def median_ms(action: Callable[[], object], *, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Count SQL statements, including those inside test-client requests.

    CaptureQueriesContext is emptied by the request_started signal, so it sees nothing of a
    request made through the test client; an execute wrapper sees everything.
    """
    statements: list[str] = []

    def wrapper(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield statements
