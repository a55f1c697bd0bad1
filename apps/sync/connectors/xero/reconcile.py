"""What reconciliation reads from Xero: every ACCREC invoice (1,000 a page, Xero's largest
pageSize) and every quote (100 a page: Quotes takes no pageSize), as the engine's
RemoteDocuments with Xero's statuses in our vocabulary. A DELETED document is left out of
the list: ours bound to it is then missing there, and its binding is marked gone."""

from datetime import date

from django.conf import settings

from apps.sync.connectors.xero.dates import parse_xero_time
from apps.sync.engine.records import MalformedAnswer, RemoteDocument
from apps.sync.engine.totals import money
from apps.sync.models import Entity

RESOURCES = {Entity.INVOICES: "invoices", Entity.QUOTES: "quotes"}
INVOICE_STATUS = {"DRAFT": "draft", "SUBMITTED": "draft", "PAID": "paid", "VOIDED": "void"}
# An invoiced quote was accepted (the quote became an invoice); declined is ours "rejected".
QUOTE_STATUS = {
    "DRAFT": "draft",
    "SENT": "sent",
    "ACCEPTED": "accepted",
    "INVOICED": "accepted",
    "DECLINED": "rejected",
}
DELETED = "DELETED"


def _day(data: dict) -> date | None:
    try:
        moment = parse_xero_time(data.get("DateString") or data.get("Date"))
    except ValueError:
        return None
    return moment.date() if moment else None


def remote_document(entity: str, data: dict) -> RemoteDocument:
    status = str(data.get("Status") or "")
    total, due = money(data.get("Total")), money(data.get("AmountDue"))
    if entity == Entity.INVOICES:
        ours = INVOICE_STATUS.get(status)
        if ours is None:  # AUTHORISED: sent, or part paid once something is paid
            paid = money(data.get("AmountPaid")) or 0
            ours = "partially_paid" if paid > 0 else "sent"
        number_field = "InvoiceNumber"
    else:
        ours, number_field, due = QUOTE_STATUS.get(status, status.lower()), "QuoteNumber", None
    number = str(data.get(number_field) or "")
    return RemoteDocument(
        remote_id=str(data["InvoiceID" if entity == Entity.INVOICES else "QuoteID"]),
        number=number,
        # Our number is Xero's document number (InvoiceNumber, QuoteNumber).
        reference=number,
        status=ours,
        total=total,
        balance=due,
        issue_date=_day(data),
    )


def xero_reconcile_lists(adapter, *, entities, since: date | None = None) -> dict[str, list]:
    """Per entity, every Xero document page by page (`since` is applied by the engine)."""
    lists: dict[str, list] = {}
    for entity in entities:
        resource = RESOURCES[entity]
        documents: list[RemoteDocument] = []
        page: int | None = 1
        while page is not None:
            if page > settings.SYNC_PULL_MAX_PAGES:
                raise MalformedAnswer(
                    f"Xero {resource}: past {settings.SYNC_PULL_MAX_PAGES} pages and still more "
                    "(SYNC_PULL_MAX_PAGES); reconciliation stopped."
                )
            result = adapter.list_page(resource, page=page)
            if result.rejected:
                ids = ", ".join(bad.remote_id or "(no id)" for bad in result.rejected[:5])
                raise MalformedAnswer(
                    f"Xero {resource} page {page}: {len(result.rejected)} record(s) failed the "
                    f"schema ({ids}; {result.rejected[0].reason}); reconciliation stopped."
                )
            for record in result.records:
                data = record.data
                if data.get("Status") == DELETED or data.get("Type", "ACCREC") != "ACCREC":
                    continue
                documents.append(remote_document(entity, data))
            page = result.next_page
        lists[entity] = documents
    return lists
