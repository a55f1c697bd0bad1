"""django-q2 entry points for the API: each calls one service."""

from apps.api import services


def prune_idempotency_keys_task() -> int:
    return services.idempotency_keys_prune()
