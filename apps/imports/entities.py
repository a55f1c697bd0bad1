"""What each importable entity reads from a file: its columns (with the usual aliases and the
column names of Zoho Books' and Xero's own exports), its natural key, how a row becomes values,
how rows are matched to records, and which domain service writes them."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.text import capfirst

from apps.catalog.models import Service, TaxRate
from apps.catalog.services import (
    service_import_values,
    service_normalize_sku,
    services_import,
    tax_rate_import_values,
    tax_rates_import,
)
from apps.clients.models import Client
from apps.clients.services import client_import_values, client_normalize_email, clients_import
from apps.core.errors import ApplicationError
from apps.invoices.models import Invoice, Payment
from apps.invoices.services import payment_record
from apps.quotes.numbering import INVOICE, PREFIXES, WIDTH
from apps.tickets.models import Message, Ticket
from apps.tickets.services import ticket_open
from apps.users.models import User

from .values import header_key, parse_date, parse_decimal

CREATE = "create"
UPDATE = "update"
UNCHANGED = "unchanged"
SKIP = "skip"
ERROR = "error"


@dataclass(frozen=True)
class Column:
    """A field read from one column, or joined from several (an address over five columns).

    `sources` lists, for each part, the header names that may hold it, preferred first.
    """

    field: str
    label: str
    sources: tuple[tuple[str, ...], ...]
    joiner: str = "\n"


def column(field_name: str, label: str, *aliases: str) -> Column:
    return Column(field_name, label, ((label, *aliases),))


@dataclass
class Row:
    """One data row of the file and what the import makes of it."""

    number: int
    record: list
    cells: dict[str, object] = field(default_factory=dict)
    action: str = ""
    key: str = ""
    values: dict = field(default_factory=dict)
    instance: object = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


class ImportEntity:
    """Base of every entity: binds headers, turns cells into values, decides each row's action."""

    name = ""
    label = ""
    model = None
    columns: tuple[Column, ...] = ()
    # At least one of these fields must have a column, or the file is refused.
    required_any: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.headers_of: dict[str, str] = {}
        # Told rows done of total while rows are written one by one (tickets, payments).
        self.progress = None

    @classmethod
    def permission(cls) -> str:
        """The imports app's permission to import this entity (ImportJob.Meta.permissions)."""
        return f"imports.import_{cls.name}"

    # --- headers ---------------------------------------------------------------------------
    def bind(self, headers: list[str]) -> tuple[dict[str, list[int]], list[str]]:
        """For each field, the indexes of the columns that feed it; and the ignored headers."""
        keys = [header_key(header) for header in headers]
        bound: dict[str, list[int]] = {}
        used: set[int] = set()
        for col in self.columns:
            indexes = []
            for aliases in col.sources:
                for alias in aliases:
                    key = header_key(alias)
                    found = next(
                        (i for i, k in enumerate(keys) if k == key and i not in used), None
                    )
                    if found is not None:
                        indexes.append(found)
                        used.add(found)
                        break
            if indexes:
                bound[col.field] = indexes
                self.headers_of[col.field] = headers[indexes[0]]
        ignored = [header for index, header in enumerate(headers) if index not in used and header]
        if self.required_any and not any(name in bound for name in self.required_any):
            wanted = " or ".join(
                f"“{col.label}”" for col in self.columns if col.field in self.required_any
            )
            raise ApplicationError(
                f"The file has no {wanted} column, so its rows cannot be {self.label} "
                f"(its columns are: {', '.join(headers)}).",
                extra={"file": "columns"},
            )
        return bound, ignored

    def cells(self, record: list, bound: dict[str, list[int]]) -> dict[str, object]:
        """Each bound field's cell; blank cells are left out (a blank leaves the field alone)."""
        cells = {}
        joiners = {col.field: col.joiner for col in self.columns}
        for name, indexes in bound.items():
            if len(indexes) == 1:
                value = record[indexes[0]] if indexes[0] < len(record) else ""
            else:
                parts = [record[i] for i in indexes if i < len(record)]
                value = joiners[name].join(str(part) for part in parts if str(part).strip())
            if value == "" or value is None:
                continue
            cells[name] = value
        return cells

    def header(self, name: str) -> str:
        return self.headers_of.get(name, name)

    def error(self, row: Row, name: str, message: str) -> None:
        """An error on the column that fed `name`, quoting the cell's value."""
        value = row.cells.get(name)
        text = f"“{value}”: {message}" if value not in (None, "") else message
        row.errors.append((self.header(name), text))
        row.action = ERROR

    def validation_error(self, row: Row, error: ValidationError) -> None:
        for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
            self.error(row, name, " ".join(messages))

    # --- planning --------------------------------------------------------------------------
    def prepare(self, rows: list[Row], *, lock: bool) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row], *, actor, reason: str, all_or_nothing: bool) -> None:
        raise NotImplementedError


def _text(value: object) -> str:
    return str(value).strip()


class UpsertEntity(ImportEntity):
    """Rows matched to existing records by a natural key: update, unchanged, or create."""

    def convert(self, row: Row) -> dict:
        """The row's values for the domain's checks; errors recorded on the row."""
        return {name: _text(value) for name, value in row.cells.items()}

    def key(self, values: dict) -> str:
        raise NotImplementedError

    def existing(self, keys: list[str], *, lock: bool) -> dict[str, object]:
        raise NotImplementedError

    def check(self, values: dict, instance) -> dict:
        """The domain's checks of the values (raises ValidationError keyed by field)."""
        raise NotImplementedError

    def display(self, value) -> str:
        if value is None:
            return ""
        if hasattr(value, "name"):
            return value.name
        return str(value)

    def prepare(self, rows: list[Row], *, lock: bool) -> None:
        converted = []
        for row in rows:
            values = self.convert(row)
            row.key = self.key(values) if not row.errors else ""
            converted.append(values)
        matches = self.existing(sorted({row.key for row in rows if row.key}), lock=lock)
        seen: dict[str, int] = {}
        for row, values in zip(rows, converted, strict=True):
            if row.errors:
                continue
            if row.key:
                if row.key in seen:
                    name = self.key_field
                    self.error(
                        row, name, f"the same {self.key_label} as row {seen[row.key]} of this file."
                    )
                    continue
                seen[row.key] = row.number
            instance = matches.get(row.key) if row.key else None
            try:
                checked = self.check(values, instance)
            except ValidationError as error:
                self.validation_error(row, error)
                continue
            row.instance = instance
            if instance is None:
                row.action, row.values = CREATE, checked
                continue
            changes = {
                name: value for name, value in checked.items() if getattr(instance, name) != value
            }
            row.values = changes
            row.changes = [
                (
                    capfirst(self.model._meta.get_field(name).verbose_name),
                    self.display(getattr(instance, name)),
                    self.display(value),
                )
                for name, value in changes.items()
            ]
            row.action = UPDATE if changes else UNCHANGED

    key_field = ""
    key_label = ""
    service: Callable = None

    def write(self, rows: list[Row], *, actor, reason: str, all_or_nothing: bool) -> None:
        new = [row for row in rows if row.action == CREATE]
        changed = [row for row in rows if row.action == UPDATE]
        try:
            type(self).service(
                new=[row.values for row in new],
                changed=[(row.instance, row.values) for row in changed],
                actor=actor,
                reason=reason,
            )
        except ValidationError as error:
            # Checked once already: this is a change made meanwhile (a SKU taken). Name the row.
            for label, messages in error.message_dict.items():
                match = re.match(r"(new|changed)\[(\d+)\]\.(\w+)", label)
                if match:
                    row = (new if match[1] == "new" else changed)[int(match[2])]
                    self.error(row, match[3], " ".join(messages))
            raise


class ClientEntity(UpsertEntity):
    name = "clients"
    label = "clients"
    model = Client
    key_field = "email"
    key_label = "e-mail"
    required_any = ("name", "email")
    service = staticmethod(clients_import)
    columns = (
        # Zoho Books: "Display Name", "Contact Name"; Xero: "*ContactName".
        column(
            "name",
            "Name",
            "Client name",
            "Customer name",
            "Display name",
            "Contact name",
            "Full name",
            "Client",
            "Customer",
        ),
        # Zoho Books: "EmailID"; Xero: "EmailAddress".
        column(
            "email",
            "E-mail",
            "Email",
            "Email address",
            "E-mail address",
            "EmailID",
            "Primary email",
            "Mail",
        ),
        # Xero: "PhoneNumber"; Zoho Books: "Phone".
        column(
            "phone",
            "Phone",
            "Phone number",
            "Telephone",
            "Tel",
            "Work phone",
            "Office phone",
            "Billing phone",
        ),
        # Zoho Books: "MobilePhone"; Xero: "MobileNumber".
        column(
            "mobile", "Mobile", "Mobile phone", "Mobile number", "Cell", "Cell phone", "Cellphone"
        ),
        column(
            "company",
            "Company",
            "Company name",
            "Organisation",
            "Organization",
            "Business name",
            "Business",
        ),
        column("whatsapp_id", "WhatsApp", "WhatsApp id", "WhatsApp number"),
        # Zoho Books: "Billing Address", "Billing Street2", "Billing City", "Billing State",
        # "Billing Code", "Billing Country"; Xero: "POAddressLine1".."4", "POCity", "PORegion",
        # "POPostalCode" (or "POZipCode"), "POCountry".
        Column(
            "billing_address",
            "Billing address",
            (
                (
                    "Billing address",
                    "Address",
                    "Street",
                    "Billing street",
                    "Address line 1",
                    "POAddressLine1",
                ),
                ("Billing street2", "Address line 2", "POAddressLine2"),
                ("Address line 3", "POAddressLine3"),
                ("Address line 4", "POAddressLine4"),
                ("Billing city", "City", "Town", "POCity"),
                ("Billing state", "State", "Province", "Region", "PORegion"),
                (
                    "Billing code",
                    "Postal code",
                    "Postcode",
                    "Zip",
                    "Zip code",
                    "POPostalCode",
                    "POZipCode",
                ),
                ("Billing country", "Country", "POCountry"),
            ),
        ),
        # Xero: "TaxNumber"; Zoho Books: "Tax Number" / "Tax Registration Number".
        column(
            "tax_number",
            "Tax number",
            "VAT number",
            "VAT",
            "Tax id",
            "GST number",
            "Tax registration number",
            "TRN",
        ),
        column("notes", "Notes", "Note", "Comments", "Remarks"),
    )

    def convert(self, row: Row) -> dict:
        values = super().convert(row)
        if "email" in values:
            values["email"] = client_normalize_email(values["email"])
        return values

    def key(self, values: dict) -> str:
        return values.get("email", "").lower()

    def existing(self, keys: list[str], *, lock: bool) -> dict[str, object]:
        """Clients by lower-cased e-mail; where several share one, the active, then oldest,
        as client_find_by_email chooses."""
        found: dict[str, Client] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            queryset = (
                Client.objects.alias(email_lower=Lower("email"))
                .filter(email_lower__in=chunk)
                .annotate(match_key=Lower("email"))
                .order_by("-active", "id")
            )
            if lock:
                queryset = queryset.select_for_update()
            for client in queryset:
                found.setdefault(client.match_key, client)
        return found

    def check(self, values: dict, instance) -> dict:
        if instance is None:
            values = {"name": "", **values}
        else:
            values.pop("email", None)  # matched on it in any case: keep the stored spelling
        return client_import_values(values)


class TaxRateEntity(UpsertEntity):
    name = "tax_rates"
    label = "tax rates"
    model = TaxRate
    key_field = "name"
    key_label = "name"
    required_any = ("name",)
    service = staticmethod(tax_rates_import)
    columns = (
        # Zoho Books: "Tax Name", "Tax Percentage"; Xero: "Tax Rate Name"/"Display Tax Rate".
        column("name", "Name", "Tax name", "Tax rate name", "Tax"),
        column(
            "rate",
            "Rate",
            "Tax rate",
            "Tax percentage",
            "Percentage",
            "Percent",
            "Rate %",
            "Effective rate",
            "Display tax rate",
        ),
    )

    def convert(self, row: Row) -> dict:
        values = super().convert(row)
        if "rate" in values:
            try:
                values["rate"] = parse_decimal(values["rate"].rstrip("%").strip())
            except ValidationError as error:
                self.validation_error(row, ValidationError({"rate": error.messages}))
        return values

    def key(self, values: dict) -> str:
        return values.get("name", "").lower()

    def existing(self, keys: list[str], *, lock: bool) -> dict[str, object]:
        queryset = TaxRate.objects.annotate(match_key=Lower("name")).filter(match_key__in=keys)
        if lock:
            queryset = queryset.select_for_update()
        return {rate.match_key: rate for rate in queryset}

    def check(self, values: dict, instance) -> dict:
        if instance is None and values.get("rate") in (None, ""):
            raise ValidationError({"rate": "A new tax rate needs a rate."})
        if instance is not None:
            values.pop("name", None)  # matched by name in any case: keep the stored spelling
        return tax_rate_import_values(values)


class ServiceEntity(UpsertEntity):
    name = "services"
    label = "services"
    model = Service
    key_field = "sku"
    key_label = "SKU"
    required_any = ("name", "sku")
    service = staticmethod(services_import)
    columns = (
        # Zoho Books: "Item Name"; Xero: "ItemName".
        column(
            "name",
            "Name",
            "Service",
            "Service name",
            "Item name",
            "Item",
            "Product",
            "Product name",
        ),
        # Zoho Books: "SKU"; Xero: "*ItemCode".
        column("sku", "SKU", "Item code", "Code", "Product code"),
        # Xero: "SalesDescription"; Zoho Books: "Description".
        column("description", "Description", "Sales description", "Details"),
        # Zoho Books: "Rate"; Xero: "SalesUnitPrice".
        column(
            "rate",
            "Rate",
            "Price",
            "Unit price",
            "Sales unit price",
            "Sales price",
            "Selling price",
            "Sales rate",
        ),
        # Zoho Books: "Usage unit".
        column("unit", "Unit", "Usage unit", "Unit name", "UOM"),
        column("category", "Category", "Item category", "Group", "Item group"),
        # Zoho Books: "Tax Name"; Xero: "SalesTaxRate". Matched by name to our tax rates.
        column("tax_rate", "Tax rate", "Tax name", "Sales tax rate", "Tax"),
    )

    def prepare(self, rows: list[Row], *, lock: bool) -> None:
        self.tax_rates = {rate.name.lower(): rate for rate in TaxRate.objects.all()}
        super().prepare(rows, lock=lock)

    def convert(self, row: Row) -> dict:
        values = super().convert(row)
        if "sku" in values:
            values["sku"] = service_normalize_sku(values["sku"])
        if "rate" in values:
            try:
                values["rate"] = parse_decimal(values["rate"])
            except ValidationError as error:
                self.validation_error(row, ValidationError({"rate": error.messages}))
        if "tax_rate" in values:
            tax_rate = self.tax_rates.get(values["tax_rate"].lower())
            if tax_rate is None:
                self.error(
                    row,
                    "tax_rate",
                    "no tax rate has this name; import or add the tax rate first.",
                )
            values["tax_rate"] = tax_rate
        return values

    def key(self, values: dict) -> str:
        return (values.get("sku") or "").upper()

    def existing(self, keys: list[str], *, lock: bool) -> dict[str, object]:
        found = {}
        for start in range(0, len(keys), 500):
            queryset = (
                Service.objects.select_related("tax_rate")
                .annotate(match_key=Upper("sku"))
                .filter(match_key__in=keys[start : start + 500])
            )
            if lock:
                queryset = queryset.select_for_update(of=("self",))
            found.update({service.match_key: service for service in queryset})
        return found

    def check(self, values: dict, instance) -> dict:
        if instance is None:
            if values.get("rate") in (None, ""):
                raise ValidationError({"rate": "A new service needs a rate."})
            values = {"name": "", **values}
            return service_import_values(values)
        values.pop("sku", None)  # matched on it in any case: keep the stored spelling
        return service_import_values(values, current_tax_rate=instance.tax_rate)


def _choice(value: str, choices) -> str | None:
    """A choice by its value or its label, in any case ("E-mail", "email", "WhatsApp")."""
    wanted = header_key(value)
    for stored, label in choices:
        if wanted in (header_key(stored), header_key(str(label).split(" (")[0])):
            return stored
    return None


class TicketEntity(ImportEntity):
    """Tickets have no natural key: every valid row opens a ticket, with its first message."""

    name = "tickets"
    label = "tickets"
    model = Ticket
    required_any = ("subject",)
    columns = (
        column("subject", "Subject", "Title", "Summary"),
        column(
            "client",
            "Client e-mail",
            "Client email",
            "Customer email",
            "Contact email",
            "Requester",
            "Requester email",
            "E-mail",
            "Email",
        ),
        column("body", "Message", "Body", "First message", "Description", "Details", "Text"),
        column("channel", "Channel", "Source", "Via"),
        column("priority", "Priority"),
        column("assignee", "Assignee", "Assigned to", "Agent", "Owner"),
        column("due", "Due", "Due date", "Due by"),
    )

    def prepare(self, rows: list[Row], *, lock: bool) -> None:
        emails = {
            client_normalize_email(_text(r.cells["client"])).lower()
            for r in rows
            if "client" in r.cells
        }
        clients = ClientEntity().existing(sorted(emails), lock=False)
        staff = {
            user.email.lower(): user for user in User.objects.filter(is_active=True, is_staff=True)
        }
        now = timezone.now()
        for row in rows:
            values: dict = {"subject": _text(row.cells.get("subject", ""))}
            if not values["subject"]:
                self.error(row, "subject", "a ticket needs a subject.")
            if len(values["subject"]) > 200:
                self.error(row, "subject", "at most 200 characters.")
            email = client_normalize_email(_text(row.cells.get("client", ""))).lower()
            client = clients.get(email)
            if not email:
                self.error(row, "client", "a ticket needs the client's e-mail.")
            elif client is None:
                self.error(row, "client", "no client has this e-mail; import the client first.")
            elif not client.active:
                self.error(row, "client", "this client is inactive.")
            values["client"] = client
            for name, choices, default in (
                ("channel", Ticket.Channel.choices, Ticket.Channel.EMAIL),
                ("priority", Ticket.Priority.choices, Ticket.Priority.NORMAL),
            ):
                if name in row.cells:
                    chosen = _choice(_text(row.cells[name]), choices)
                    if chosen is None:
                        allowed = ", ".join(label.split(" (")[0] for _, label in choices)
                        self.error(row, name, f"not one of: {allowed}.")
                    values[name] = chosen
                else:
                    values[name] = default
            values["assignee"] = None
            if "assignee" in row.cells:
                values["assignee"] = staff.get(_text(row.cells["assignee"]).lower())
                if values["assignee"] is None:
                    self.error(row, "assignee", "no active staff user has this e-mail.")
            values["due"] = None
            if "due" in row.cells:
                try:
                    due = parse_date(row.cells["due"])
                    # A date alone means by the end of that day.
                    values["due"] = timezone.make_aware(datetime.combine(due, time(23, 59)))
                    if values["due"] < now:
                        self.error(row, "due", "the due date is in the past.")
                except ValidationError as error:
                    self.error(row, "due", " ".join(error.messages))
            values["body"] = _text(row.cells.get("body", ""))
            if not row.errors:
                row.action, row.values = CREATE, values

    def write(self, rows: list[Row], *, actor, reason: str, all_or_nothing: bool) -> None:
        since = timezone.now()
        write_each(
            self,
            rows,
            lambda row: ticket_open(created_by=actor, **row.values),
            all_or_nothing=all_or_nothing,
        )
        ids = [row.instance.pk for row in rows if row.action == CREATE and row.instance]
        stamp_history(Ticket, ids, actor=actor, reason=reason, since=since)
        messages = Message.objects.filter(ticket_id__in=ids).values_list("pk", flat=True)
        stamp_history(Message, list(messages), actor=actor, reason=reason, since=since)


_INVOICE_NUMBER = re.compile(rf"\b{PREFIXES[INVOICE]}[-\s]?(\d{{1,{WIDTH + 3}}})\b", re.I)


class PaymentEntity(ImportEntity):
    """A bank statement's rows: each credit matched to an invoice by its number (a column, or
    the number written in the reference or description), recorded once per invoice and
    reference. Debits and rows naming no invoice are skipped, and say so."""

    name = "payments"
    label = "payments"
    model = Payment
    required_any = ("amount",)
    columns = (
        column("invoice", "Invoice", "Invoice number", "Invoice no", "Invoice #", "Inv no"),
        column(
            "reference",
            "Reference",
            "Ref",
            "Payment reference",
            "Transaction reference",
            "Transaction id",
            "Bank reference",
        ),
        column(
            "description",
            "Description",
            "Narrative",
            "Details",
            "Memo",
            "Particulars",
            "Transaction description",
        ),
        column("amount", "Amount", "Credit", "Money in", "Paid in", "Deposit", "Payment", "Paid"),
        column(
            "date",
            "Date",
            "Payment date",
            "Transaction date",
            "Value date",
            "Posted date",
            "Posting date",
        ),
        column("mode", "Mode", "Payment mode", "Payment method", "Method"),
    )

    def invoice_number(self, row: Row) -> str:
        for name in ("invoice", "reference", "description"):
            match = _INVOICE_NUMBER.search(_text(row.cells.get(name, "")))
            if match:
                return f"{PREFIXES[INVOICE]}-{int(match[1]):0{WIDTH}d}"
        return _text(row.cells.get("invoice", ""))

    def prepare(self, rows: list[Row], *, lock: bool) -> None:
        numbers = {row.number: self.invoice_number(row) for row in rows}
        queryset = Invoice.objects.filter(number__in={n for n in numbers.values() if n})
        if lock:
            queryset = queryset.select_for_update()
        invoices = {invoice.number: invoice for invoice in queryset}
        recorded = {
            (number, reference.lower()): amount
            for number, reference, amount in Payment.objects.filter(
                invoice__number__in=invoices
            ).values_list("invoice__number", "reference", "amount")
        }
        balances = {number: invoice.balance for number, invoice in invoices.items()}
        seen: dict[tuple[str, str], int] = {}
        today = timezone.localdate()
        for row in rows:
            reference = _text(row.cells.get("reference") or row.cells.get("description") or "")
            try:
                amount = parse_decimal(row.cells.get("amount", ""))
            except ValidationError as error:
                self.error(row, "amount", " ".join(error.messages))
                continue
            if amount <= 0:
                row.action, row.note = SKIP, "not money received (a debit or zero)."
                continue
            number = numbers[row.number]
            if not number:
                row.action, row.note = SKIP, "names no invoice number."
                continue
            invoice = invoices.get(number)
            name = "invoice" if "invoice" in row.cells else "reference"
            if invoice is None:
                self.error(row, name, f"no invoice {number}.")
                continue
            row.key = f"{number} {reference}"
            key = (number, reference.lower())
            if key in seen:
                self.error(row, "reference", f"the same invoice and reference as row {seen[key]}.")
                continue
            seen[key] = row.number
            if key in recorded:
                if recorded[key] == amount:
                    row.action = UNCHANGED
                    continue
                self.error(
                    row,
                    "amount",
                    f"invoice {number} already has a payment with this reference, of "
                    f"{recorded[key]}.",
                )
                continue
            values = {"invoice": invoice, "amount": amount, "reference": reference[:100]}
            try:
                values["date"] = parse_date(row.cells["date"]) if "date" in row.cells else today
            except ValidationError as error:
                self.error(row, "date", " ".join(error.messages))
            else:
                if values["date"] > today:
                    self.error(row, "date", "a payment cannot be dated in the future.")
            values["mode"] = Payment.Mode.BANK_TRANSFER
            if "mode" in row.cells:
                values["mode"] = _choice(_text(row.cells["mode"]), Payment.Mode.choices)
                if values["mode"] is None:
                    self.error(row, "mode", "not a payment mode.")
            if invoice.status not in Invoice.OPEN_STATUSES:
                self.error(
                    row, name, f"invoice {number} is {invoice.get_status_display().lower()}."
                )
            elif amount > balances[number]:
                self.error(
                    row,
                    "amount",
                    f"more than the {balances[number]} {invoice.currency} still due on "
                    f"invoice {number}.",
                )
            if row.errors:
                continue
            balances[number] -= amount
            row.action, row.values = CREATE, values
            row.changes = [("invoice", number, str(amount))]

    def write(self, rows: list[Row], *, actor, reason: str, all_or_nothing: bool) -> None:
        # Payments reach the books through post_save, as any payment does: one service call
        # per row (payment_record locks the invoice, checks the balance and pays commissions).
        since = timezone.now()
        write_each(
            self,
            rows,
            lambda row: payment_record(recorded_by=actor, **row.values),
            all_or_nothing=all_or_nothing,
        )
        written = [row.instance for row in rows if row.action == CREATE and row.instance]
        stamp_history(Payment, [p.pk for p in written], actor=actor, reason=reason, since=since)
        stamp_history(
            Invoice, [p.invoice_id for p in written], actor=actor, reason=reason, since=since
        )


def stamp_history(model, ids: list[int], *, actor, reason: str, since) -> None:
    """Name the import and its user on the history rows the per-row services just wrote (they
    record who only inside a request, and no reason)."""
    if ids:
        model.history.filter(id__in=ids, history_date__gte=since).update(
            history_change_reason=reason, history_user=actor
        )


def write_each(entity: ImportEntity, rows: list[Row], call, *, all_or_nothing: bool) -> None:
    """One service call per row to create; a refusal is that row's error. All or nothing: the
    first refusal is raised (the caller's transaction undoes the rest); otherwise each row has
    its own savepoint and a refused row is left out."""
    for done, row in enumerate(rows, start=1):
        if entity.progress and done % 100 == 0:
            entity.progress(done, len(rows))
        if row.action != CREATE:
            continue
        try:
            with transaction.atomic():
                row.instance = call(row)
        except ValidationError as error:
            entity.validation_error(row, error)
            if all_or_nothing:
                raise


ENTITIES: dict[str, type[ImportEntity]] = {
    entity.name: entity
    for entity in (ClientEntity, ServiceEntity, TaxRateEntity, TicketEntity, PaymentEntity)
}
