"""Faults on demand: each vendor account can be told to fail, stall, throttle or misdeliver.

The plan is a `FaultPlan` row per (vendor, account); no row means a well-behaved vendor. Views
call the helpers below and render the answer in their own vendor's error shape.

Set a plan (any subset of fields; unknown names raise):

    fault_plan_set(vendor="zoho", account=org_id, error_share=0.5, error_status=503,
                   timeout_share=1.0, timeout_seconds=3, token_lifetime_seconds=5,
                   webhook_duplicate=True, webhook_out_of_order=True, slow_ms=200,
                   refuse_whole_batches=True)
    fault_storm(vendor=, account=, vendor_seconds=30)   # answer 429 to everything for 30 s
    fault_plan_clear(vendor=, account=)

In a view, before serving (counts the call; sleeps `slow_ms`):

    fault = call_fault(vendor, account, write=request.method != "GET")
    if fault: return <vendor error body>(status=fault.status, retry_after=fault.retry_after)

After a write has COMMITTED (outside the atomic block), before returning the answer:

    stall_after_commit(vendor, account)   # sleeps timeout_seconds when this write is picked

Elsewhere: `token_lifetime(vendor, account, default_seconds)` for minting access tokens, and
`webhook_behaviour(vendor, account) -> (duplicate, out_of_order)` (used by apps.sandbox.webhooks).

Shares are deterministic: with share s, call n (1-based) fails when floor(n*s) > floor((n-1)*s).
"""

import math
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from apps.sandbox import clock
from apps.sandbox.models import FaultPlan

PLAN_FIELDS = {
    "error_share",
    "error_status",
    "timeout_share",
    "timeout_seconds",
    "storm_until",
    "token_lifetime_seconds",
    "webhook_duplicate",
    "webhook_out_of_order",
    "slow_ms",
    "refuse_whole_batches",
}


@dataclass(frozen=True)
class Fault:
    status: int  # 429, 500 or 503
    kind: str  # "storm" or "error"
    retry_after: int | None = None  # vendor seconds, for 429


def fault_plan_get(vendor: str, account: str) -> FaultPlan | None:
    """The account's plan; read once per request inside `clock.request_scope()`."""
    return clock.remembered(
        ("faults", vendor, str(account)),
        lambda: FaultPlan.objects.filter(vendor=vendor, account=str(account)).first(),
    )


@transaction.atomic
def fault_plan_set(*, vendor: str, account: str, **changes) -> FaultPlan:
    unknown = set(changes) - PLAN_FIELDS
    if unknown:
        raise ValueError(f"Unknown fault settings: {', '.join(sorted(unknown))}")
    if changes.get("error_status", 503) not in (500, 503):
        raise ValueError("error_status must be 500 or 503")
    plan, _ = FaultPlan.objects.select_for_update().get_or_create(
        vendor=vendor, account=str(account)
    )
    for name, value in changes.items():
        setattr(plan, name, value)
    plan.full_clean(exclude=["calls_seen", "writes_seen"])
    plan.save()
    clock.forget(("faults", vendor, str(account)))
    return plan


def fault_storm(*, vendor: str, account: str, vendor_seconds: float) -> FaultPlan:
    until = clock.expires_at(vendor, account, vendor_seconds)
    return fault_plan_set(vendor=vendor, account=account, storm_until=until)


def fault_plan_clear(*, vendor: str, account: str) -> None:
    FaultPlan.objects.filter(vendor=vendor, account=str(account)).delete()
    clock.forget(("faults", vendor, str(account)))


def _picked(count: int, share: float) -> bool:
    """Whether call number `count` (1-based) falls in the share, spreading picks evenly."""
    if share <= 0:
        return False
    return math.floor(count * share + 1e-9) > math.floor((count - 1) * share + 1e-9)


def _count(plan: FaultPlan, field: str) -> int:
    FaultPlan.objects.filter(pk=plan.pk).update(**{field: F(field) + 1})
    return FaultPlan.objects.filter(pk=plan.pk).values_list(field, flat=True).get()


def call_fault(vendor: str, account: str, *, write: bool = False) -> Fault | None:
    """The fault this call must answer with instead of being served, or None to serve it.

    Sleeps for the plan's `slow_ms` first. Counting happens only when a share is set.
    """
    plan = fault_plan_get(vendor, account)
    if plan is None:
        return None
    if plan.slow_ms:
        time.sleep(plan.slow_ms / 1000)
    if write and plan.timeout_share:
        # Counted here so that stall_after_commit knows whether this write is picked.
        plan.writes_seen = _count(plan, "writes_seen")
    if plan.storm_until:
        left = (plan.storm_until - clock.now(vendor, account)).total_seconds()
        if left > 0:
            settings = clock.settings_for(vendor, account)
            return Fault(
                status=429, kind="storm", retry_after=max(1, math.ceil(left / settings.factor))
            )
    if plan.error_share and _picked(_count(plan, "calls_seen"), plan.error_share):
        return Fault(status=plan.error_status, kind="error")
    return None


def stall_after_commit(vendor: str, account: str) -> bool:
    """Sleep past the client's time-out when this write is one the plan picks; say if it did.

    Call it after the write committed: the record exists, the answer arrives too late.
    """
    plan = fault_plan_get(vendor, account)
    if plan is None or not plan.timeout_share:
        return False
    if not _picked(plan.writes_seen, plan.timeout_share):
        return False
    time.sleep(plan.timeout_seconds)
    return True


def token_lifetime(vendor: str, account: str, default_seconds: int) -> int:
    """Vendor seconds a newly minted access token lives (shorter when the plan says so)."""
    plan = fault_plan_get(vendor, account)
    if plan and plan.token_lifetime_seconds:
        return min(default_seconds, plan.token_lifetime_seconds)
    return default_seconds


def refuses_whole_batches(vendor: str, account: str) -> bool:
    """Whether a write of many elements with one refused is refused, and saved, as a whole."""
    plan = fault_plan_get(vendor, account)
    return bool(plan and plan.refuse_whole_batches)


def webhook_behaviour(vendor: str, account: str) -> tuple[bool, bool]:
    """(deliver each webhook twice, deliver a batch newest first)."""
    plan = fault_plan_get(vendor, account)
    if plan is None:
        return False, False
    return plan.webhook_duplicate, plan.webhook_out_of_order


__all__ = [
    "Fault",
    "call_fault",
    "fault_plan_clear",
    "fault_plan_get",
    "fault_plan_set",
    "fault_storm",
    "refuses_whole_batches",
    "stall_after_commit",
    "token_lifetime",
    "webhook_behaviour",
]
