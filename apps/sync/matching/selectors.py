"""Matching reviews, the reads: a plan's counts, its rows for the review page."""

from .models import Decision, MatchPlan, MatchRow


def review_summary(plan: MatchPlan) -> dict:
    """{"entity": {"link": n, "create": n, "choose": n, "push": n, "leave": n}} and totals."""
    counts: dict = {}
    for entity, decision in MatchRow.objects.filter(plan=plan).values_list("entity", "decision"):
        counts.setdefault(entity, dict.fromkeys(Decision.values, 0))[decision] += 1
    return {
        "plan": plan.pk,
        "connection": plan.connection.name,
        "status": plan.status,
        "entities": counts,
    }
