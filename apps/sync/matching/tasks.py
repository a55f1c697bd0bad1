"""django-q2 entry point of matching reviews: read the account into a plan (ids only)."""

from .services import match_plan_build


def match_plan_build_task(plan_id: int) -> str:
    return match_plan_build(plan_id=plan_id).status
