"""Matching reviews, the writes: start one when a connection first meets an account (holding the
connection), read the account into a plan, let an Admin change decisions (one or many at once),
then apply: the ordinary sync runs with those decisions (engine/importer.py reads them)."""

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from apps.core.errors import ApplicationError
from apps.sync.engine import importer, registry
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.matching import RULES, label, local_rows, propose, review_holding
from apps.sync.engine.outbox import outbox_enqueue_many
from apps.sync.engine.pull import check_paging
from apps.sync.engine.records import VendorError
from apps.sync.models import Binding, Connection, OutboxItem, OutboxStatus, SyncRun

from .models import Decision, MatchPlan, MatchRow, PlanStatus, Side

REMOTE_DECISIONS = (Decision.LINK, Decision.CREATE)
LOCAL_DECISIONS = (Decision.PUSH, Decision.LEAVE)


def review_entities(connection: Connection) -> list[str]:
    """The entities a review covers: those the connector pulls record by record and matches."""
    pulls = registry.connector(connection.provider).pulls
    return [e for e, spec in pulls.items() if e in RULES and spec.mapper is not None]


# --- start and build ----------------------------------------------------------------------------
def match_plan_start(*, connection: Connection, source: str = "admin", now: bool = False):
    """Hold `connection` for a review and read its account: in a task (the admin's Connect), or
    `now` (the CLI). An open review of the connection is returned as it is."""
    existing = review_holding(connection.pk)
    if existing is not None:
        return existing
    plan = MatchPlan.objects.create(connection=connection, source=source)
    if now:
        return match_plan_build(plan_id=plan.pk)
    transaction.on_commit(
        lambda: async_task("apps.sync.matching.tasks.match_plan_build_task", plan.pk)
    )
    return plan


def _read_account(connection: Connection, entity: str) -> list[tuple[str, dict]]:
    """Every record of `entity` the account holds that is not bound yet, as (remote id, mapped
    values with the connector's match keys). Reads only; a record the mapper cannot read is
    left for the pull, which quarantines it."""
    spec = registry.connector(connection.provider).pulls[entity]
    adapter = adapter_for(connection)
    run, paging = SyncRun(connection=connection, entity=entity), {}
    found: list = []
    page_number, token = 1, None
    while page_number is not None or token:
        kwargs = {"page": page_number or 1}
        if token:
            kwargs["page_token"] = token
        page = adapter.list_page(spec.resource, **kwargs)
        check_paging(run, page, paging)
        run.pages += 1
        for record in page.records:
            try:
                values = spec.mapper(record)
            except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError):
                continue
            if spec.match_keys is not None:
                values = {**values, **spec.match_keys(record)}
            found.append((record, values))
        page_number, token = page.next_page, page.next_token
    found = importer.keep_pulled(connection=connection, entity=entity, mapped=found)
    bound = set(
        Binding.objects.filter(connection=connection, entity=entity).values_list(
            "remote_id", flat=True
        )
    )
    return [(r.remote_id, values) for r, values in found if r.remote_id not in bound]


def match_plan_build(*, plan_id: int) -> MatchPlan:
    """Read the account and propose a decision for every record; the plan waits for an Admin
    (or, when the account holds nothing to match, is applied at once: there is nothing to
    decide). A vendor failure leaves the plan failed and the connection held: read again."""
    plan = MatchPlan.objects.select_related("connection__credential").get(pk=plan_id)
    if plan.status not in (PlanStatus.BUILDING, PlanStatus.FAILED):
        return plan
    connection = plan.connection
    try:
        remote = {e: _read_account(connection, e) for e in review_entities(connection)}
    except (VendorError, ApplicationError) as error:
        plan.status = PlanStatus.FAILED
        plan.last_error = f"The account could not be read: {error}"[:2000]
        plan.save(update_fields=["status", "last_error"])
        return plan
    rows = []
    for entity, records in remote.items():
        local = local_rows(connection, entity)
        proposals, unmatched = propose(entity=entity, remote=records, local=local)
        for p in proposals:
            chosen = p.chosen
            rows.append(
                MatchRow(
                    plan=plan,
                    entity=entity,
                    side=Side.REMOTE,
                    remote_id=p.remote_id,
                    label=p.label,
                    object_id=chosen.object_id if chosen else None,
                    rule=p.rule,
                    score=chosen.score if chosen else None,
                    candidates=[c.as_json() for c in p.candidates],
                    proposed=p.decision,
                    decision=p.decision,
                )
            )
        if records:  # local rows only matter when the account holds records to compare
            values = dict(local)
            rows += [
                MatchRow(
                    plan=plan,
                    entity=entity,
                    side=Side.LOCAL,
                    object_id=pk,
                    label=label(values[pk]),
                    proposed=Decision.LEAVE,
                    decision=Decision.LEAVE,
                )
                for pk in unmatched
            ]
    with transaction.atomic():
        MatchRow.objects.filter(plan=plan).delete()  # a failed read tried again
        MatchRow.objects.bulk_create(rows, batch_size=1000)
        plan.last_error = ""
        if any(row.side == Side.REMOTE for row in rows):
            plan.status = PlanStatus.OPEN
            plan.save(update_fields=["status", "last_error"])
        else:
            plan.status, plan.applied_at = PlanStatus.APPLIED, timezone.now()
            plan.save(update_fields=["status", "last_error", "applied_at"])
    return plan


# --- decide -------------------------------------------------------------------------------------
def _open(plan: MatchPlan) -> None:
    if plan.status != PlanStatus.OPEN:
        raise ApplicationError(
            f"Review #{plan.pk} is {plan.get_status_display().lower()}: it can no longer change.",
            extra={"plan": ["not open"]},
        )


def match_rows_decide(
    *, plan: MatchPlan, row_ids: list[int], decision: str, object_id: int | None = None
) -> int:
    """Set `decision` on these rows of `plan` (one or many at once). `link` takes `object_id`
    when one row is given, else each row's best candidate. A decision that does not fit a row
    (push for a record in the books, link without a candidate) changes nothing and says which."""
    _open(plan)
    rows = list(MatchRow.objects.filter(plan=plan, pk__in=row_ids).order_by("pk"))
    if not rows:
        raise ApplicationError("No rows chosen.", extra={"rows": ["choose at least one"]})
    allowed = {Side.REMOTE: REMOTE_DECISIONS, Side.LOCAL: LOCAL_DECISIONS}
    wrong = [row.label for row in rows if decision not in allowed[row.side]]
    if wrong:
        raise ApplicationError(
            f"“{Decision(decision).label}” does not apply to: {', '.join(wrong[:5])}"
            + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
            + ".",
            extra={"decision": [decision]},
        )
    if decision == Decision.LINK:
        if object_id is not None and len(rows) > 1:
            raise ApplicationError(
                "Link one record at a time to a chosen client.", extra={"object_id": ["one row"]}
            )
        for row in rows:
            target = object_id if object_id is not None else _best(row)
            if target is None:
                raise ApplicationError(
                    f"“{row.label}” matched nobody here: choose Create, or link it to a record "
                    "by its number.",
                    extra={"object_id": ["no candidate"]},
                )
            _check_target(plan, row, target)
            row.object_id = target
            row.score = _score(row, target)
    for row in rows:
        if decision != Decision.LINK and row.side == Side.REMOTE:
            row.object_id, row.score = None, None
        row.decision = decision
        row.changed_by_admin = row.decision != row.proposed
    MatchRow.objects.bulk_update(rows, ["decision", "object_id", "score", "changed_by_admin"])
    return len(rows)


def _best(row: MatchRow) -> int | None:
    return row.candidates[0]["id"] if row.candidates else None


def _score(row: MatchRow, target: int):
    for candidate in row.candidates:
        if candidate["id"] == target:
            return candidate["score"]
    return None


def _check_target(plan: MatchPlan, row: MatchRow, target: int) -> None:
    spec = entity_spec(row.entity)
    if not spec.model.objects.filter(pk=target).exists():
        raise ApplicationError(
            f"There is no {spec.label} #{target}.", extra={"object_id": ["not found"]}
        )
    if Binding.objects.filter(
        connection=plan.connection, entity=row.entity, object_id=target
    ).exists():
        raise ApplicationError(
            f"{spec.label.capitalize()} #{target} is already linked to another record.",
            extra={"object_id": ["already linked"]},
        )


# --- apply and discard --------------------------------------------------------------------------
def match_plan_apply(*, plan: MatchPlan, user=None, choose_best: bool = False) -> MatchPlan:
    """Approve: the connection is released and its ordinary sync runs with these decisions
    (the first pull links and creates as decided; only the records chosen are sent).
    `choose_best` (the demo's automatic approval) settles each open choice on its best match."""
    with transaction.atomic():
        plan = MatchPlan.objects.select_for_update().select_related("connection").get(pk=plan.pk)
        _open(plan)
        undecided = MatchRow.objects.filter(plan=plan, decision=Decision.CHOOSE)
        if choose_best:
            for row in undecided:
                row.decision, row.object_id = Decision.LINK, _best(row)
                row.score = _score(row, row.object_id)
                row.save(update_fields=["decision", "object_id", "score"])
        elif undecided.exists():
            names = list(undecided.values_list("label", flat=True)[:5])
            raise ApplicationError(
                f"{undecided.count()} record(s) match more than one here and need a choice: "
                f"{', '.join(names)}.",
                extra={"rows": ["choose link or create for each"]},
            )
        _refuse_double_links(plan)
        plan.status, plan.applied_at, plan.decided_by = PlanStatus.APPLIED, timezone.now(), user
        plan.save(update_fields=["status", "applied_at", "decided_by"])
        for entity in review_entities(plan.connection):
            ids = MatchRow.objects.filter(
                plan=plan, entity=entity, side=Side.LOCAL, decision=Decision.PUSH
            ).values_list("object_id", flat=True)
            objs = list(entity_spec(entity).model.objects.filter(pk__in=list(ids)))
            outbox_enqueue_many(connection=plan.connection, entity=entity, objs=objs)
        # What waited behind the review (a client edited, a quote sent meanwhile) goes now.
        OutboxItem.objects.filter(connection=plan.connection, status=OutboxStatus.PENDING).update(
            next_attempt_at=timezone.now()
        )
        connection_id = plan.connection_id
        entities = review_entities(plan.connection)
        transaction.on_commit(
            lambda: [
                async_task("apps.sync.tasks.sync_now_task", connection_id, entity)
                for entity in entities
            ]
        )
    return plan


def _refuse_double_links(plan: MatchPlan) -> None:
    seen: dict[tuple[str, int], str] = {}
    for entity, object_id, name in MatchRow.objects.filter(
        plan=plan, decision=Decision.LINK
    ).values_list("entity", "object_id", "label"):
        if (entity, object_id) in seen:
            raise ApplicationError(
                f"“{seen[(entity, object_id)]}” and “{name}” are both linked to the same "
                f"{entity_spec(entity).label} #{object_id}: link one elsewhere or create it.",
                extra={"rows": ["one link per record here"]},
            )
        seen[(entity, object_id)] = name


def match_plan_discard(*, plan: MatchPlan, user=None) -> MatchPlan:
    """No review: the connection syncs by the ordinary rules (e-mail, SKU) from now on."""
    if plan.status not in (PlanStatus.BUILDING, PlanStatus.OPEN, PlanStatus.FAILED):
        raise ApplicationError(f"Review #{plan.pk} is already {plan.get_status_display()}.")
    plan.status, plan.decided_by = PlanStatus.DISCARDED, user
    plan.save(update_fields=["status", "decided_by"])
    return plan


def match_plan_retry(*, plan: MatchPlan) -> MatchPlan:
    """Read the account again after a failed read."""
    if plan.status != PlanStatus.FAILED:
        raise ApplicationError(f"Review #{plan.pk} did not fail.")
    transaction.on_commit(
        lambda: async_task("apps.sync.matching.tasks.match_plan_build_task", plan.pk)
    )
    return plan
