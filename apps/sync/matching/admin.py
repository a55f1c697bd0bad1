"""Admin for matching reviews: the list, and the review page of one plan (what each record in
the books will become here, changed one at a time or many at once, then approved)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.errors import ApplicationError
from apps.sync.engine.entities import entity as entity_spec

from . import services
from .models import Decision, MatchPlan, MatchRow, PlanStatus, Side

PAGE_SIZE = 100
# The review's tabs: what an office worker looks for, in the order they should look.
TABS = [
    ("choose", "Needs your choice", Q(decision=Decision.CHOOSE)),
    ("link", "Already yours: will be linked", Q(decision=Decision.LINK)),
    ("create", "New: will be added here", Q(side=Side.REMOTE, decision=Decision.CREATE)),
    ("local", "Only here: not in the books", Q(side=Side.LOCAL)),
]
RULE_WORDS = {
    "reference": "Our reference",
    "email": "Same e-mail",
    "tax_number": "Same tax number",
    "sku": "Same SKU",
    "name": "Similar name",
}
BULK = {
    "link": Decision.LINK,
    "create": Decision.CREATE,
    "push": Decision.PUSH,
    "leave": Decision.LEAVE,
}


@admin.register(MatchPlan)
class MatchPlanAdmin(admin.ModelAdmin):
    list_display = ["__str__", "connection", "status", "source", "created_at", "applied_at"]
    list_filter = ["status", "connection"]
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        review = path(
            "<int:plan_id>/change/",
            self.admin_site.admin_view(self.review_view),
            name="sync_matchplan_change",
        )
        return [review, *super().get_urls()]

    # --- the review page ------------------------------------------------------------------------
    def review_view(self, request, plan_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(MatchPlan.objects.select_related("connection"), pk=plan_id)
        can_decide = self.has_change_permission(request) and request.user.has_perm(
            "sync.change_connection"
        )
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            self._post(request, plan)
            return redirect(request.get_full_path())
        filters = {key: q for key, _, q in TABS}
        tab = request.GET.get("tab", "")
        tab = tab if tab in filters else self._first_tab(plan)
        entity = request.GET.get("entity", "")
        rows = MatchRow.objects.filter(plan=plan).filter(filters[tab])
        if entity:
            rows = rows.filter(entity=entity)
        page = Paginator(rows.order_by("entity", "label", "id"), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        counts = MatchRow.objects.filter(plan=plan).aggregate(
            **{key: Count("id", filter=q) for key, _, q in TABS}
        )
        entities = sorted(set(MatchRow.objects.filter(plan=plan).values_list("entity", flat=True)))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Check the matches: {plan.connection}",
            "plan": plan,
            "can_decide": can_decide and plan.status == PlanStatus.OPEN,
            "tabs": [
                {"key": key, "label": text, "count": counts[key], "current": key == tab}
                for key, text, _ in TABS
            ],
            "tab": tab,
            "entity": entity,
            "entities": [(e, entity_spec(e).label) for e in entities],
            "rows": [self._row(row) for row in page],
            "page": page,
            "counts": counts,
            "pushes": MatchRow.objects.filter(plan=plan, decision=Decision.PUSH).count(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "sync/match_review.html", context)

    @staticmethod
    def _first_tab(plan: MatchPlan) -> str:
        if MatchRow.objects.filter(plan=plan, decision=Decision.CHOOSE).exists():
            return "choose"
        return "link"

    @staticmethod
    def _row(row: MatchRow) -> dict:
        spec = entity_spec(row.entity)
        candidates = [
            {
                **c,
                "why": RULE_WORDS.get(c["rule"], ""),
                "percent": int(float(c["score"]) * 100),
                "chosen": c["id"] == row.object_id,
            }
            for c in row.candidates
        ]
        chosen = next((c for c in candidates if c["chosen"]), None)
        return {
            "row": row,
            "kind": spec.label,
            "candidates": candidates,
            "chosen": chosen,
            "why": RULE_WORDS.get(row.rule, ""),
            "local_url": reverse(
                f"admin:{spec.model._meta.app_label}_{spec.model._meta.model_name}_change",
                args=[row.object_id],
            )
            if row.object_id
            else "",
        }

    def _post(self, request, plan: MatchPlan) -> None:
        action = request.POST.get("action", "")
        try:
            if action == "approve":
                services.match_plan_apply(plan=plan, user=request.user)
                messages.success(
                    request,
                    f"Approved. The first sync of {plan.connection} has started with your "
                    "decisions; its progress is under Sync → Runs.",
                )
            elif action == "discard":
                services.match_plan_discard(plan=plan, user=request.user)
                messages.warning(
                    request,
                    f"Review discarded: {plan.connection} now syncs by e-mail and SKU alone.",
                )
            elif action == "retry":
                services.match_plan_retry(plan=plan)
                messages.info(request, "Reading the account again.")
            elif action == "save":
                changed = self._save_rows(request, plan)
                messages.success(request, f"{changed} change(s) saved.")
            elif action in BULK:
                ids = [int(i) for i in request.POST.getlist("rows") if i.isdigit()]
                changed = services.match_rows_decide(plan=plan, row_ids=ids, decision=BULK[action])
                messages.success(
                    request, f"{changed} record(s) set to “{Decision(BULK[action]).label}”."
                )
            else:
                messages.error(request, "Nothing to do: choose an action.")
        except (ApplicationError, ValueError) as error:
            messages.error(request, getattr(error, "message", str(error)))

    @staticmethod
    def _save_rows(request, plan: MatchPlan) -> int:
        """Each row's own choice ("row-<id>": create, push, leave or link-<local id>), where it
        differs from the row's decision."""
        wanted = {}
        for key, value in request.POST.items():
            if key.startswith("row-") and key[4:].isdigit() and value:
                wanted[int(key[4:])] = value
        rows = MatchRow.objects.filter(plan=plan, pk__in=list(wanted))
        changed = 0
        for row in rows:
            value = wanted[row.pk]
            decision, object_id = value, None
            if value.startswith("link-"):
                decision, object_id = Decision.LINK, int(value[5:])
            if decision == row.decision and (object_id is None or object_id == row.object_id):
                continue
            services.match_rows_decide(
                plan=plan, row_ids=[row.pk], decision=decision, object_id=object_id
            )
            changed += 1
        return changed
