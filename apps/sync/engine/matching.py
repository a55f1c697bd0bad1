"""First-connection matching, vendor-free: which local record each remote record is (by our
reference, e-mail in any case, tax number, SKU, or a name equal once punctuation and case are
set aside, with a score), which remote records are new and which local ones nothing matched;
and the hold a connection is under while an Admin reviews that plan."""

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.leases import still_ours
from apps.sync.matching.models import HOLDING, Decision, MatchPlan, MatchRow, PlanStatus, Side
from apps.sync.models import Binding, Entity, OutboxItem, OutboxStatus

# The rules in the order they are tried: the first that finds anyone decides.
RULES = {
    Entity.CLIENTS: ("reference", "email", "tax_number", "name"),
    Entity.SERVICES: ("reference", "sku", "name"),
}
# The local fields each rule reads ("reference" is computed: the entity's own reference).
LOCAL_FIELDS = {
    Entity.CLIENTS: ("name", "email", "tax_number"),
    Entity.SERVICES: ("name", "sku"),
}
ONE = Decimal("1.00")
REVIEW_WAIT_SECONDS = 60


def normalise(rule: str, value) -> str:
    """The comparable form of a value under `rule`: "" when there is nothing to match on."""
    text = str(value or "").strip()
    if not text:
        return ""
    if rule == "email":
        return text.lower()
    if rule in ("tax_number", "sku", "reference"):
        return re.sub(r"[^0-9A-Za-z]", "", text).upper()
    # A name: accents, case, "&" and every punctuation mark set aside, so that
    # "Acme (Pty) Ltd." and "ACME Pty Ltd" are the same.
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[0-9a-z]+", text.replace("&", " and ")))


def name_score(ours: str, theirs: str) -> Decimal:
    """How alike two names are as written (1.00 the same), for the Admin to judge a name match."""
    ratio = difflib.SequenceMatcher(None, ours.strip().lower(), theirs.strip().lower()).ratio()
    return Decimal(str(round(ratio, 2))).quantize(Decimal("0.01"))


def label(values: dict) -> str:
    """What an office worker recognises a record by: its name, then its e-mail or SKU."""
    name = str(values.get("name") or "").strip() or "(no name)"
    extra = str(values.get("email") or values.get("sku") or "").strip()
    return f"{name} ({extra})"[:300] if extra else name[:300]


@dataclass
class Candidate:
    object_id: int
    label: str
    rule: str
    score: Decimal

    def as_json(self) -> dict:
        return {
            "id": self.object_id,
            "label": self.label,
            "rule": self.rule,
            "score": str(self.score),
        }


@dataclass
class Proposal:
    remote_id: str
    label: str
    decision: str  # link, create or choose (two or more candidates)
    rule: str = ""
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def chosen(self) -> Candidate | None:
        return self.candidates[0] if self.decision == Decision.LINK else None


def propose(
    *, entity: str, remote: list[tuple[str, dict]], local: list[tuple[int, dict]]
) -> tuple[list[Proposal], list[int]]:
    """Proposals for `remote` ((remote id, canonical values plus the connector's match keys))
    against the unbound `local` rows ((id, values)); and the local ids nothing matched.

    A local record two remote records would link to stays with the better match (the earlier
    rule, then the higher score); the other must be chosen by the Admin."""
    rules = RULES[entity]
    index: dict[str, dict[str, list[int]]] = {rule: {} for rule in rules}
    local_values = dict(local)
    for pk, values in local:
        for rule in rules:
            key = normalise(rule, values.get(rule))
            if key:
                index[rule].setdefault(key, []).append(pk)
    proposals = []
    for remote_id, values in remote:
        hits, found_by = [], ""
        for rule in rules:
            key = normalise(rule, values.get(rule))
            hits = index[rule].get(key, []) if key else []
            if hits:
                found_by = rule
                break
        candidates = [
            Candidate(
                pk,
                label(local_values[pk]),
                found_by,
                name_score(local_values[pk].get("name", ""), values.get("name", ""))
                if found_by == "name"
                else ONE,
            )
            for pk in hits
        ]
        candidates.sort(key=lambda c: (-c.score, c.object_id))
        decision = Decision.CREATE
        if len(candidates) == 1:
            decision = Decision.LINK
        elif candidates:
            decision = Decision.CHOOSE
        proposals.append(Proposal(remote_id, label(values), decision, found_by, candidates))

    rank = {rule: n for n, rule in enumerate(rules)}
    claimed: set[int] = set()
    links = [p for p in proposals if p.decision == Decision.LINK]
    for proposal in sorted(links, key=lambda p: (rank[p.rule], -p.candidates[0].score)):
        if proposal.candidates[0].object_id in claimed:
            proposal.decision = Decision.CHOOSE
        else:
            claimed.add(proposal.candidates[0].object_id)
    named = {c.object_id for p in proposals for c in p.candidates}
    unmatched = [pk for pk, _ in local if pk not in named]
    return proposals, unmatched


def local_rows(connection, entity: str) -> list[tuple[int, dict]]:
    """The local records of `entity` not yet bound on `connection`, with what the rules read."""
    spec = entity_spec(entity)
    bound = Binding.objects.filter(connection=connection, entity=entity).values("object_id")
    rows = []
    queryset = spec.model.objects.exclude(pk__in=bound).only("pk", *LOCAL_FIELDS[entity])
    if entity == Entity.SERVICES:
        queryset = queryset.filter(active=True)
    for obj in queryset.order_by("pk").iterator(chunk_size=2000):
        values = {name: getattr(obj, name) or "" for name in LOCAL_FIELDS[entity]}
        values["reference"] = spec.reference(obj)
        rows.append((obj.pk, values))
    return rows


# --- the hold while a review is open -----------------------------------------------------------
def review_holding(connection_id: int) -> MatchPlan | None:
    """The review that holds this connection (being built or waiting for an Admin), if any."""
    return (
        MatchPlan.objects.filter(connection_id=connection_id, status__in=HOLDING)
        .order_by("-id")
        .first()
    )


def hold_message(plan: MatchPlan) -> str:
    return (
        f"Waiting for an Admin to review the matching of {plan.connection} "
        f"(Sync → Matching reviews → #{plan.pk}): nothing is linked, created or sent until then."
    )


def planned_decisions(connection, entity: str, remote_ids: list[str]) -> dict[str, int | None]:
    """An applied review's decisions for these remote records: the local id to link to, or
    None to create one. Records the review did not see follow the ordinary rules."""
    rows = MatchRow.objects.filter(
        plan__connection=connection,
        plan__status=PlanStatus.APPLIED,
        entity=entity,
        side=Side.REMOTE,
        remote_id__in=remote_ids,
        decision__in=[Decision.LINK, Decision.CREATE],
    ).order_by("plan_id")
    return {
        row.remote_id: (row.object_id if row.decision == Decision.LINK else None) for row in rows
    }


def outbox_wait_for_review(item: OutboxItem, plan: MatchPlan) -> str:
    """Not an attempt: an item of a connection under review waits (a minute at a time), so
    nothing reaches the account before the Admin has decided what is the same record."""
    with transaction.atomic():
        if not still_ours(item):
            return OutboxItem.objects.get(pk=item.pk).status
        item.status = OutboxStatus.PENDING
        item.attempts = max(0, item.attempts - 1)
        item.lease_until = None
        item.next_attempt_at = timezone.now() + timedelta(seconds=REVIEW_WAIT_SECONDS)
        item.last_error = hold_message(plan)
        item.save(
            update_fields=["status", "attempts", "lease_until", "next_attempt_at", "last_error"]
        )
    return item.status
