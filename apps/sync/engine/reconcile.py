"""Reconciliation: every document bound to a connection compared with the vendor's (existence,
number, status, total, balance), the vendor's documents we lack and ours it lacks, read through
the connector's list endpoints (a page per call, never a call per document). Each difference is
stored with both sides' values and the fixes where one side is clearly right; ours that the
vendor lost have their binding marked gone (engine/gone.py). One e-mail to Admins per run with
differences. Fixes are in engine/reconcile_fixes.py."""

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.utils import timezone

from apps.core.money import round_money
from apps.sync.engine import registry
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.entities import entity as entity_spec
from apps.sync.engine.gone import binding_mark_gone
from apps.sync.engine.records import RemoteDocument, VendorError
from apps.sync.models import (
    Binding,
    Connection,
    ConnectionStatus,
    Operation,
    OutboxItem,
    OutboxStatus,
)
from apps.sync.reconcile.models import (
    DifferenceKind,
    DifferenceStatus,
    Fix,
    ReconcileDifference,
    ReconcileRun,
    ReconcileRunStatus,
)
from apps.users.roles import ADMIN

logger = logging.getLogger(__name__)

# What is compared, per document entity: its local fields (a balance only where it has one).
LOCAL_FIELDS = {
    "invoices": ("number", "status", "total", "balance", "issue_date"),
    "quotes": ("number", "status", "total", "issue_date"),
}
# A vendor status that records money, a cancellation or the client's answer: the vendor is
# clearly right about it, so taking theirs is offered first (engine/reconcile_fixes.py).
BOOKS_DECIDE = {"invoices": ("paid", "void"), "quotes": ("accepted", "rejected")}


@dataclass
class Found:
    kind: str
    entity: str
    object_id: int | None = None
    local_number: str = ""
    remote_id: str = ""
    remote_number: str = ""
    fields: list[str] = field(default_factory=list)
    ours: dict = field(default_factory=dict)
    theirs: dict = field(default_factory=dict)
    fixes: list[str] = field(default_factory=list)


def _money(value) -> str | None:
    return None if value is None else str(round_money(Decimal(str(value))))


def folded_status(status: str, total, balance) -> str:
    """ "Overdue" is a date, not a fact to reconcile: it folds into the open status the amounts
    say (part paid, or sent), on both sides alike."""
    if status != "overdue":
        return status
    if balance is not None and total is not None and Decimal(balance) < Decimal(total):
        return "partially_paid"
    return "sent"


def compare_document(row: dict, doc: RemoteDocument, remote_number: str) -> tuple[dict, dict]:
    """The fields on which the local `row` and the vendor's `doc` differ: (ours, theirs)."""
    ours, theirs = {}, {}
    if doc.reference and doc.reference != row["number"]:
        ours["number"], theirs["number"] = row["number"], doc.reference
    elif remote_number and doc.number and doc.number != remote_number:
        ours["number"], theirs["number"] = remote_number, doc.number
    balance = row.get("balance")
    our_status = folded_status(row["status"], row["total"], balance)
    their_status = folded_status(doc.status, doc.total, doc.balance)
    if our_status != their_status:
        ours["status"], theirs["status"] = our_status, their_status
    if doc.total is not None and _money(row["total"]) != _money(doc.total):
        ours["total"], theirs["total"] = _money(row["total"]), _money(doc.total)
    if "balance" in row and doc.balance is not None and _money(balance) != _money(doc.balance):
        ours["balance"], theirs["balance"] = _money(balance), _money(doc.balance)
    return ours, theirs


def _summary(row: dict | None = None, doc: RemoteDocument | None = None) -> dict:
    if row is not None:
        summary = {"number": row["number"], "status": row["status"], "total": _money(row["total"])}
        if "balance" in row:
            summary["balance"] = _money(row["balance"])
        return summary
    if doc is not None:
        return {
            "number": doc.number,
            "reference": doc.reference,
            "status": doc.status,
            "total": _money(doc.total),
            "balance": _money(doc.balance),
        }
    return {}


def _pushable(connector, entity: str, fields) -> bool:
    """Whether our values can be sent for every differing field: a status by the status
    action, a number or total by an update; a balance only with its total (payments move a
    balance, not an update)."""
    fields = set(fields)
    if "balance" in fields and "total" not in fields:
        return False
    needs = set()
    if "status" in fields:
        needs.add(Operation.ACTION)
    if fields & {"number", "total"}:
        needs.add(Operation.UPDATE)
    return bool(needs) and all(connector.pushes(entity, operation) for operation in needs)


def _mismatch_fixes(connector, entity: str, theirs: dict) -> list[str]:
    fixes = [Fix.PUSH.value] if _pushable(connector, entity, theirs) else []
    # Only a status that records money or a cancellation can be taken here (through the
    # domain's own services); totals of a sent document are never rewritten from outside.
    if theirs.get("status") in BOOKS_DECIDE.get(entity, ()) and set(theirs) <= {
        "status",
        "balance",
    }:
        fixes.insert(0, Fix.PULL.value)
    return fixes


def _in_transit(connection: Connection, entity: str) -> set[int]:
    return set(
        OutboxItem.objects.filter(
            connection=connection,
            entity=entity,
            status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT],
        ).values_list("object_id", flat=True)
    )


def compare_entity(
    connection: Connection, entity: str, docs: list[RemoteDocument], since: date | None
) -> tuple[int, int, list[Found], list[str]]:
    """(checked, matching, differences, remote ids gone) for one entity."""
    connector = registry.connector(connection.provider)
    model = entity_spec(entity).model
    bindings = Binding.objects.filter(connection=connection, entity=entity)
    rows = model.objects.filter(pk__in=bindings.values("object_id"))
    if since is not None:
        rows = rows.filter(issue_date__gte=since)
    local = {row["pk"]: row for row in rows.values("pk", *LOCAL_FIELDS[entity])}
    remote = {doc.remote_id: doc for doc in docs}
    in_transit = _in_transit(connection, entity)
    checked = matching = 0
    found: list[Found] = []
    gone: list[str] = []
    bound: set[str] = set()
    for object_id, remote_id, remote_number in bindings.values_list(
        "object_id", "remote_id", "remote_number"
    ):
        row = local.get(object_id)
        if remote_id:
            bound.add(remote_id)
        if row is None or (not remote_id and object_id in in_transit):
            continue  # out of the run's dates, or on its way to the vendor
        checked += 1
        doc = remote.get(remote_id) if remote_id else None
        if doc is None:
            fixes = [Fix.PUSH.value] + ([Fix.ARCHIVE.value] if remote_id else [])
            found.append(
                Found(
                    DifferenceKind.MISSING_REMOTE,
                    entity,
                    object_id,
                    row["number"],
                    remote_id or "",
                    remote_number,
                    ours=_summary(row),
                    fixes=fixes,
                )
            )
            if remote_id:
                gone.append(remote_id)
            continue
        ours, theirs = compare_document(row, doc, remote_number)
        if not ours:
            matching += 1
            continue
        found.append(
            Found(
                DifferenceKind.MISMATCH,
                entity,
                object_id,
                row["number"],
                doc.remote_id,
                doc.number,
                fields=list(ours),
                ours=ours,
                theirs=theirs,
                fixes=_mismatch_fixes(connector, entity, theirs),
            )
        )
    found += _theirs_only(connection, entity, docs, bound, since)
    theirs_only = (DifferenceKind.MISSING_LOCAL, DifferenceKind.UNLINKED)
    checked += sum(1 for f in found if f.kind in theirs_only)
    return checked, matching, found, gone


def _theirs_only(connection, entity, docs, bound, since) -> list[Found]:
    """The vendor's documents bound to nothing here: one of ours not yet linked (same
    reference), or one made at the vendor directly."""
    model = entity_spec(entity).model
    theirs = [
        doc
        for doc in docs
        if doc.remote_id not in bound and not (since and doc.issue_date and doc.issue_date < since)
    ]
    references = [doc.reference for doc in theirs if doc.reference]
    linked_here = Binding.objects.filter(
        connection=connection, entity=entity, remote_id__isnull=False
    ).values("object_id")
    unlinked = dict(
        model.objects.filter(number__in=references)
        .exclude(pk__in=linked_here)
        .values_list("number", "pk")
    )
    importable = entity in registry.connector(connection.provider).imports_documents
    found = []
    for doc in theirs:
        object_id = unlinked.get(doc.reference) if doc.reference else None
        if object_id is not None:
            kind, fixes = DifferenceKind.UNLINKED, [Fix.LINK.value]
        else:
            kind = DifferenceKind.MISSING_LOCAL
            fixes = [Fix.PULL.value] if importable else []
        found.append(
            Found(
                kind,
                entity,
                object_id,
                doc.reference if object_id else "",
                doc.remote_id,
                doc.number,
                theirs=_summary(doc=doc),
                fixes=fixes,
            )
        )
    return found


def reconcile_run(
    *, connection: Connection, since: date | None = None, entities: list[str] | None = None
) -> ReconcileRun:
    """Compare the connection's documents with the vendor's now; returns the finished run."""
    connector = registry.connector(connection.provider)
    chosen = [e for e in connector.reconciles if not entities or e in entities]
    run = ReconcileRun.objects.create(connection=connection, since=since, entities=chosen)
    adapter = adapter_for(connection)
    try:
        lists = connector.reconcile_lists(adapter, entities=chosen, since=since)
    except VendorError as error:
        run.status, run.last_error = ReconcileRunStatus.FAILED, error.message[:2000]
        run.requests = adapter.client.context.request_count
        run.finished_at = timezone.now()
        run.save()
        raise
    found: list[Found] = []
    gone: dict[str, list[str]] = {}
    for entity in chosen:
        checked, matching, differences, lost = compare_entity(
            connection, entity, lists.get(entity, []), since
        )
        run.checked += checked
        run.matching += matching
        found += differences
        gone[entity] = lost
    with transaction.atomic():
        # What an earlier run found and nobody fixed is this run's to show now.
        ReconcileDifference.objects.filter(
            connection=connection, status=DifferenceStatus.OPEN
        ).update(status=DifferenceStatus.DISMISSED, outcome=f"Superseded by run #{run.pk}.")
        ReconcileDifference.objects.bulk_create(
            ReconcileDifference(run=run, connection=connection, **vars(f)) for f in found
        )
        for entity, remote_ids in gone.items():
            for remote_id in remote_ids:
                binding_mark_gone(
                    connection=connection,
                    entity=entity,
                    remote_id=remote_id,
                    reason=f"Not in {connector.label}'s list at reconciliation #{run.pk}: "
                    "deleted there. Relink, re-push or archive it.",
                )
        run.difference_count = len(found)
        run.requests = adapter.client.context.request_count
        run.status = ReconcileRunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.save()
        if found:
            transaction.on_commit(lambda: reconcile_email(run_id=run.pk))
    return run


def reconcile_summary(run: ReconcileRun) -> dict:
    """The CLI's JSON: {"connection", "checked", "matching", "differences": [...]}."""
    return {
        "connection": run.connection.name,
        "run": run.pk,
        "checked": run.checked,
        "matching": run.matching,
        "requests": run.requests,
        "differences": [
            {
                "kind": d.kind,
                "entity": d.entity,
                "local": d.local_number or None,
                "remote": d.remote_number or d.remote_id or None,
                "field": ",".join(d.fields),
                "ours": d.ours,
                "theirs": d.theirs,
                "fixes": d.fixes,
            }
            for d in run.differences.order_by("id")
        ],
    }


def differences_dismiss(*, differences, actor=None) -> int:
    """An Admin leaves both sides as they are: the open differences are closed, with who."""
    return differences.filter(status=DifferenceStatus.OPEN).update(
        status=DifferenceStatus.DISMISSED,
        fixed_by=actor,
        fixed_at=timezone.now(),
        outcome="Dismissed: both sides left as they are.",
    )


def _admin_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=ADMIN, is_active=True)
    return sorted({email for email in users.values_list("email", flat=True) if email})


def reconcile_email(*, run_id: int) -> bool:
    """One e-mail to the Admins about a run's differences (sent once: `emailed_at`)."""
    with transaction.atomic():
        run = (
            ReconcileRun.objects.select_for_update()
            .filter(pk=run_id, emailed_at__isnull=True)
            .first()
        )
        if run is None or not run.difference_count:
            return False
        lines = [
            f"Reconciliation #{run.pk} of {run.connection}: {run.checked} documents checked, "
            f"{run.matching} matching, {run.difference_count} difference(s).",
            "",
        ]
        for d in run.differences.order_by("id")[:50]:
            lines.append(f"- {d}: ours {d.ours or '—'}, theirs {d.theirs or '—'}")
        if run.difference_count > 50:
            lines.append(f"… and {run.difference_count - 50} more.")
        lines += ["", "Fix them from the admin: Sync → Reconciliation differences."]
        subject = f"Reconciliation of {run.connection}: {run.difference_count} difference(s)"
        recipients = _admin_emails()
        try:
            if recipients:
                send_mail(subject, "\n".join(lines), None, recipients)
            else:
                mail_admins(subject, "\n".join(lines))
        except OSError:
            logger.exception("the reconciliation e-mail of run %s could not be sent", run.pk)
            return False
        run.emailed_at = timezone.now()
        run.save(update_fields=["emailed_at"])
    return True


def reconcile_all(*, since: date | None = None) -> list[int]:
    """Every connected account whose connector reconciles (the weekly task); run ids."""
    keys = [c.key for c in registry.connectors() if c.reconciles]
    run_ids = []
    for connection in Connection.objects.filter(
        status=ConnectionStatus.CONNECTED, provider__in=keys
    ):
        try:
            run_ids.append(reconcile_run(connection=connection, since=since).pk)
        except VendorError as error:
            logger.warning("reconciliation of %s failed: %s", connection, error)
    return run_ids
