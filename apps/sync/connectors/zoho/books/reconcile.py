"""What reconciliation reads from Zoho Books: every invoice and estimate from the list
endpoints, 200 a page (Books' largest, vendor-contracts §2.3), as the engine's RemoteDocuments
with Books' statuses in our vocabulary; and one invoice in full to bring it in."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings

from apps.sync.engine.records import MalformedAnswer, RemoteDocument, VendorDocument
from apps.sync.engine.totals import money
from apps.sync.models import Entity

# Our entity -> the Books resource, its number field, and Books' statuses in our words.
RESOURCES = {
    Entity.INVOICES: ("invoices", "invoice_number", {}),
    Entity.QUOTES: (
        "estimates",
        "estimate_number",
        # An invoiced estimate was accepted (the quote became an invoice); declined is ours
        # "rejected".
        {"invoiced": "accepted", "declined": "rejected"},
    ),
}


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def remote_document(entity: str, data: dict) -> RemoteDocument:
    resource, number_field, statuses = RESOURCES[entity]
    status = str(data.get("status") or "")
    return RemoteDocument(
        remote_id=str(data[f"{resource[:-1]}_id"]),
        number=str(data.get(number_field) or ""),
        reference=str(data.get("reference_number") or ""),
        status=statuses.get(status, status),
        total=money(data.get("total")),
        balance=money(data.get("balance")) if entity == Entity.INVOICES else None,
        issue_date=_day(data.get("date")),
    )


def books_reconcile_lists(adapter, *, entities, since: date | None = None) -> dict[str, list]:
    """Per entity, every Books document (issued from `since`), page by page."""
    lists: dict[str, list] = {}
    extra = {"date_start": since.isoformat()} if since else {}
    for entity in entities:
        resource = RESOURCES[entity][0]
        documents: list[RemoteDocument] = []
        page: int | None = 1
        seen: set[str] = set()
        while page is not None:
            if page > settings.SYNC_PULL_MAX_PAGES:
                raise MalformedAnswer(
                    f"Zoho Books {resource}: past {settings.SYNC_PULL_MAX_PAGES} pages and still "
                    "more (SYNC_PULL_MAX_PAGES); reconciliation stopped."
                )
            result = adapter.list_page(resource, page=page, extra=extra)
            if result.rejected:
                # An unreadable row would look deleted: the run stops and says which.
                ids = ", ".join(bad.remote_id or "(no id)" for bad in result.rejected[:5])
                raise MalformedAnswer(
                    f"Zoho Books {resource} page {page}: {len(result.rejected)} record(s) failed "
                    f"the schema ({ids}; {result.rejected[0].reason}); reconciliation stopped."
                )
            fresh = [r for r in result.records if r.remote_id not in seen]
            if result.records and not fresh:
                raise MalformedAnswer(
                    f"Zoho Books {resource} answered page {page} with records already read; "
                    "reconciliation stopped instead of looping."
                )
            for record in fresh:
                seen.add(record.remote_id)
                documents.append(remote_document(entity, record.data))
            page = result.next_page
        lists[entity] = documents
    return lists


def _decimal(value, field_name: str) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        raise MalformedAnswer(f"Zoho Books line {field_name}: {value!r} is not a number.") from None


def books_document_fetch(adapter, *, entity: str, remote_id: str) -> VendorDocument:
    """One Books invoice in full: its customer, dates, currency, lines and discount."""
    if entity != Entity.INVOICES:
        raise MalformedAnswer(f"Zoho Books {entity} are not brought in.")
    record = adapter.get("invoices", remote_id)
    data = record.data
    issue_date = _day(data.get("date"))
    if issue_date is None or not data.get("customer_id"):
        raise MalformedAnswer(
            f"Zoho Books invoice {record.number}: no date or customer_id; it cannot be brought in."
        )
    lines = [
        {
            "name": str(line.get("name") or line.get("description") or "Line")[:200],
            "description": str(line.get("description") or ""),
            "quantity": _decimal(line.get("quantity"), "quantity"),
            "rate": _decimal(line.get("rate"), "rate"),
            "tax_rate": _decimal(line.get("tax_percentage"), "tax_percentage"),
        }
        for line in data.get("line_items") or []
    ]
    return VendorDocument(
        document=remote_document(entity, data),
        record=record,
        customer_remote_id=str(data["customer_id"]),
        issue_date=issue_date,
        due_date=_day(data.get("due_date")),
        currency=str(data.get("currency_code") or ""),
        lines=lines,
        discount=money(data.get("discount")) or Decimal("0"),
        notes=str(data.get("notes") or ""),
        terms=str(data.get("terms") or ""),
    )
