"""Totals compared after every push: a document's money as the vendor answered it (net of
discount, tax, total, and an invoice's balance) beside ours, kept on its binding. A difference
of one cent marks the binding "totals differ" with both figures; agreement clears it. A silent
disagreement about money is the worst failure a sync can have."""

from decimal import Decimal, InvalidOperation

from django.utils import timezone

from apps.core.money import round_money
from apps.sync.engine import registry
from apps.sync.engine.bulk import update_rows
from apps.sync.models import Binding, BindingStatus, Connection

FIELDS = ("sub_total", "tax", "total", "balance")
LABELS = {"sub_total": "net", "tax": "tax", "total": "total", "balance": "balance"}


def money(value) -> Decimal | None:
    """A vendor's JSON number (or text) as a two-place Decimal; None when absent or not money."""
    if value in (None, ""):
        return None
    try:
        return round_money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def local_totals(document) -> dict[str, Decimal]:
    """Our figures of a quote or invoice (`balance` for documents that have one)."""
    figures = {
        "sub_total": document.subtotal - document.discount_total,
        "tax": document.tax_total,
        "total": document.total,
    }
    if hasattr(document, "balance"):
        figures["balance"] = document.balance
    return figures


def _text(figures: dict) -> dict[str, str]:
    return {name: str(value) for name, value in figures.items() if value is not None}


def _compared(document, theirs: dict[str, Decimal | None]) -> tuple[dict, list[str], dict]:
    """Our figures, the fields that differ (only those both sides state), and what the
    binding keeps of the comparison."""
    ours = local_totals(document)
    differ = [
        name
        for name in FIELDS
        if ours.get(name) is not None
        and theirs.get(name) is not None
        and ours[name] != theirs[name]
    ]
    record = {
        "ours": _text(ours),
        "theirs": _text(theirs),
        "differ": differ,
        "checked_at": timezone.now().isoformat(),
    }
    return ours, differ, record


def totals_compare_many(*, connection: Connection, entity: str, pairs) -> dict[int, list[str]]:
    """`totals_compare` for many (document, theirs) of one connection and entity (a batch's
    answers): the agreeing documents' bindings written in two statements whatever their
    number, each differing one by `totals_compare` (rare, and it names its own figures).
    Returns, per document id, the fields that differ."""
    pairs = list(pairs)
    results: dict[int, list[str]] = {}
    agreeing: dict[int, dict] = {}
    for document, theirs in pairs:
        _, differ, record = _compared(document, theirs)
        if differ:
            results[document.pk] = totals_compare(
                connection=connection, entity=entity, document=document, theirs=theirs
            )
        else:
            results[document.pk] = []
            agreeing[document.pk] = record
    if agreeing:
        bindings = list(
            Binding.objects.filter(
                connection=connection, entity=entity, object_id__in=list(agreeing)
            ).values_list("pk", "object_id")
        )
        update_rows(
            Binding, ["totals"], [{"pk": pk, "totals": agreeing[oid]} for pk, oid in bindings]
        )
        Binding.objects.filter(
            pk__in=[pk for pk, _ in bindings], status=BindingStatus.TOTALS_DIFFER
        ).update(status=BindingStatus.SYNCED, last_error="")
    return results


def totals_compare(
    *, connection: Connection, entity: str, document, theirs: dict[str, Decimal | None]
) -> list[str]:
    """Compare the vendor's figures with ours and keep both on the binding; returns the fields
    that differ (only those both sides state are compared)."""
    ours, differ, record = _compared(document, theirs)
    bindings = Binding.objects.filter(connection=connection, entity=entity, object_id=document.pk)
    if differ:
        vendor = registry.provider_label(connection.provider)
        detail = "; ".join(
            f"{LABELS[name]} {vendor} {theirs[name]}, ours {ours[name]}" for name in differ
        )
        bindings.exclude(status__in=[BindingStatus.CONFLICT, BindingStatus.FAILED]).update(
            status=BindingStatus.TOTALS_DIFFER, last_error=f"Totals differ: {detail}."
        )
        bindings.update(totals=record)
    else:
        bindings.filter(status=BindingStatus.TOTALS_DIFFER).update(
            status=BindingStatus.SYNCED, last_error=""
        )
        bindings.update(totals=record)
    return differ
