"""Health endpoint for load balancers and `make demo`: database, cache and task broker."""

import logging
import time
import uuid

from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def _check_database() -> dict:
    started = time.perf_counter()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_cache() -> dict:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=5)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)
    return {"backend": cache.__class__.__name__}


def _check_broker() -> dict:
    from django_q.brokers import get_broker

    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("broker did not answer")
    return {"broker": broker.__class__.__name__, "queued": broker.queue_size()}


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
@require_safe
def healthz(request):
    """200 when every dependency answers, 503 with the failing one named otherwise.

    Anyone (a load balancer) sees each dependency's state; only staff see the details
    (latency, queue depth, backends, the kind of error), and the log keeps the full story.
    """
    show_details = request.user.is_authenticated and request.user.is_staff
    results = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            details = check()
            results[name] = {"status": "ok", **(details if show_details else {})}
        except Exception as error:  # any failure means unhealthy; the log keeps the detail
            logger.exception("healthz: %s check failed", name)
            healthy = False
            results[name] = {"status": "error"}
            if show_details:
                results[name]["error"] = error.__class__.__name__
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": results},
        status=200 if healthy else 503,
    )
