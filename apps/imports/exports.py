"""Exports of every list as CSV or XLSX, streamed in chunks so memory stays flat, with every
text cell that a spreadsheet would run as a formula neutralised (OWASP CSV injection)."""

import csv
import datetime
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Prefetch, QuerySet

from apps.catalog.models import Service, TaxRate
from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.invoices.models import CommissionBill, Invoice, InvoiceLine, Payment
from apps.invoices.selectors import commission_bill_list
from apps.quotes.models import Quote, QuoteLine
from apps.tickets.models import Ticket

# OWASP: a cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets.
# import-export's own escaping removes a leading "=" only (ecosystem-notes §5).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
CHUNK = 2000


def neutralise(value: object) -> str:
    """A text cell as it is safe to open: a formula trigger at its start is preceded by "'"."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _cell(value: object) -> object:
    """Our own numbers and dates as they are; every text (typed by someone) neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return neutralise(value)


def _email(user) -> str:
    return user.email if user is not None else ""


@dataclass(frozen=True)
class ExportSpec:
    name: str
    label: str
    model: type[Model]
    headers: tuple[str, ...]
    # Joins and prefetches the rows need, applied to any queryset (a filtered admin list too).
    prepare: Callable[[QuerySet], QuerySet]
    rows: Callable[[Model], Iterable[tuple]]

    @property
    def permission(self) -> str:
        return f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"

    def queryset(self, *, user=None) -> QuerySet:
        """Everything (the command line), or what `user` may see (an agent's own bills)."""
        if self.model is CommissionBill and user is not None:
            return commission_bill_list(user=user)
        return self.model._default_manager.order_by("pk")


def _client_row(c: Client):
    yield (c.name, c.email, c.phone, c.mobile, c.company, c.whatsapp_id, c.billing_address,
           c.tax_number, c.notes, c.active, c.created_at, c.updated_at)  # fmt: skip


def _service_row(s: Service):
    yield (s.name, s.sku, s.description, s.rate, s.unit, s.category,
           s.tax_rate.name if s.tax_rate else "", s.active)  # fmt: skip


def _ticket_row(t: Ticket):
    yield (t.pk, t.subject, t.client.name, t.client.email, t.get_status_display(),
           t.get_priority_display(), t.get_channel_display(), _email(t.assignee), t.due,
           t.created_at, t.updated_at)  # fmt: skip


LINE_FIELDS = ("name", "description", "quantity", "rate", "tax_rate", "amount")
DOCUMENT_FIELDS = (
    "number", "status", "client__name", "client__email", "issue_date", "currency", "subtotal",
    "discount_total", "tax_total", "total",
)  # fmt: skip


def _lines(model, parent: str) -> Prefetch:
    """A document's lines as a plain list attribute (no queryset per document), only the
    columns exported: at 100,000 documents these are most of the export's cost."""
    lines = model.objects.only(parent, "position", *LINE_FIELDS).order_by("position", "id")
    return Prefetch("lines", queryset=lines, to_attr="export_lines")


LINE_HEADERS = ("Line", "Item", "Item description", "Quantity", "Rate", "Tax rate (%)",
                "Line amount")  # fmt: skip


def _with_lines(head: tuple, document) -> Iterator[tuple]:
    """One row per line, the document's own columns repeated (as Zoho and Xero export them);
    a document without lines is one row with the line columns blank."""
    lines = document.export_lines
    if not lines:
        yield head + ("",) * len(LINE_HEADERS)
    for position, line in enumerate(lines, start=1):
        yield (*head, position, line.name, line.description, line.quantity, line.rate,
               line.tax_rate, line.amount)  # fmt: skip


def _quote_rows(q: Quote):
    head = (q.number, q.get_status_display(), q.client.name, q.client.email, q.issue_date,
            q.valid_until, q.currency, q.subtotal, q.discount_total, q.tax_total,
            q.total)  # fmt: skip
    return _with_lines(head, q)


def _invoice_rows(i: Invoice):
    head = (i.number, i.get_status_display(), i.client.name, i.client.email, i.issue_date,
            i.due_date, i.currency, i.subtotal, i.discount_total, i.tax_total, i.total,
            i.amount_paid, i.balance, _email(i.assignee))  # fmt: skip
    return _with_lines(head, i)


def _payment_row(p: Payment):
    yield (p.invoice.number, p.invoice.client.name, p.amount, p.invoice.currency, p.date,
           p.get_mode_display(), p.reference, _email(p.recorded_by))  # fmt: skip


def _bill_row(b: CommissionBill):
    yield (b.invoice.number, b.agent.email, b.rate, b.amount, b.get_status_display(),
           b.created_at, b.paid_at)  # fmt: skip


SPECS: dict[str, ExportSpec] = {
    spec.name: spec
    for spec in (
        ExportSpec(
            "clients", "clients", Client,
            ("Name", "E-mail", "Phone", "Mobile", "Company", "WhatsApp", "Billing address",
             "Tax number", "Notes", "Active", "Created", "Updated"),
            lambda qs: qs, _client_row,
        ),
        ExportSpec(
            "services", "services", Service,
            ("Name", "SKU", "Description", "Rate", "Unit", "Category", "Tax rate", "Active"),
            lambda qs: qs.select_related("tax_rate"), _service_row,
        ),
        ExportSpec(
            "tax_rates", "tax rates", TaxRate, ("Name", "Rate", "Active"),
            lambda qs: qs, lambda r: [(r.name, r.rate, r.active)],
        ),
        ExportSpec(
            "tickets", "tickets", Ticket,
            ("Ticket", "Subject", "Client", "Client e-mail", "Status", "Priority", "Channel",
             "Assignee", "Due", "Created", "Updated"),
            lambda qs: qs.select_related("client", "assignee"), _ticket_row,
        ),
        ExportSpec(
            "quotes", "quotes", Quote,
            ("Quote", "Status", "Client", "Client e-mail", "Issue date", "Valid until",
             "Currency", "Subtotal", "Discount", "Tax", "Total", *LINE_HEADERS),
            lambda qs: qs.select_related(None)
            .select_related("client")
            .only(*DOCUMENT_FIELDS, "valid_until")
            .prefetch_related(_lines(QuoteLine, "quote")),
            _quote_rows,
        ),
        ExportSpec(
            "invoices", "invoices", Invoice,
            ("Invoice", "Status", "Client", "Client e-mail", "Issue date", "Due date",
             "Currency", "Subtotal", "Discount", "Tax", "Total", "Paid", "Balance", "Assignee",
             *LINE_HEADERS),
            lambda qs: qs.select_related(None)
            .select_related("client", "assignee")
            .only(*DOCUMENT_FIELDS, "due_date", "amount_paid", "balance", "assignee__email")
            .prefetch_related(_lines(InvoiceLine, "invoice")),
            _invoice_rows,
        ),
        ExportSpec(
            "payments", "payments", Payment,
            ("Invoice", "Client", "Amount", "Currency", "Date", "Mode", "Reference",
             "Recorded by"),
            lambda qs: qs.select_related("invoice__client", "recorded_by"), _payment_row,
        ),
        ExportSpec(
            "commission_bills", "commission bills", CommissionBill,
            ("Invoice", "Agent", "Rate (%)", "Amount", "Status", "Created", "Paid at"),
            lambda qs: qs.select_related("invoice", "agent"), _bill_row,
        ),
    )
}  # fmt: skip


def export_spec(name: str) -> ExportSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ApplicationError(
            f"“{name}” cannot be exported; choose one of: {', '.join(SPECS)}.",
            extra={"entity": name},
        ) from None


def export_check_permission(*, user, spec: ExportSpec) -> None:
    """Anyone who may see a list may export it (and only the rows they may see)."""
    if user is None or not user.is_active or not user.has_perm(spec.permission):
        raise PermissionDenied(f"{getattr(user, 'email', 'Nobody')} may not export {spec.label}.")


def export_rows(spec: ExportSpec, queryset: QuerySet) -> Iterator[tuple]:
    """Every row of `queryset`, read in chunks (one query per chunk and prefetch)."""
    for obj in spec.prepare(queryset).iterator(chunk_size=CHUNK):
        for row in spec.rows(obj):
            yield tuple(_cell(value) for value in row)


class _Echo:
    """A file-like object whose write returns the text, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def export_csv_chunks(spec: ExportSpec, queryset: QuerySet) -> Iterator[str]:
    """The CSV text in pieces of about CHUNK rows: for a streaming response or a file.
    Starts with a UTF-8 BOM so that Excel reads accents right."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(spec.headers)
    batch: list[str] = []
    for row in export_rows(spec, queryset):
        batch.append(writer.writerow(row))
        if len(batch) >= CHUNK:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def export_xlsx(spec: ExportSpec, queryset: QuerySet, target: IO[bytes]) -> None:
    """Write an XLSX workbook to `target` with openpyxl's write-only mode (rows go to a
    temporary file as they come, not into memory). Every text cell is a string cell, never a
    formula; characters XML cannot hold are dropped."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(spec.label.capitalize()[:31])
    sheet.append(list(spec.headers))
    for row in export_rows(spec, queryset):
        cells = []
        for value in row:
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(target)


def export_csv_text(spec: ExportSpec, queryset: QuerySet) -> str:
    """The whole CSV as text (for tests and small lists)."""
    buffer = io.StringIO()
    for chunk in export_csv_chunks(spec, queryset):
        buffer.write(chunk)
    return buffer.getvalue()
