"""Reads of the Xero Accounting emulator: the `where`/`order` subset, If-Modified-Since, paging.

`where` understands what a client of this project sends: comparisons joined by `AND` / `&&` and
`OR` / `||` (AND binds tighter; parentheses group), `Field=="text"`, `Field!="text"`,
`Field==true`, `Field==Guid("…")`,
`Field>=DateTime(2024,01,31[,10,00,00])` (also `>`, `<`, `<=`, `==`), and `Field.Contains("x")`,
`Field.StartsWith("x")`. Anything else is refused with a message, never silently ignored.
"""

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from django.db.models import CharField, Q, QuerySet, Value

from apps.sandbox.xero.models import (
    XeroAccount,
    XeroContact,
    XeroInvoice,
    XeroItem,
    XeroPayment,
    XeroQuote,
    XeroTaxRate,
    XeroTenant,
)


class QueryInvalid(ValueError):
    """A `where`, `order`, paging or If-Modified-Since value the emulator cannot honour."""


@dataclass(frozen=True)
class Collection:
    name: str  # "Contacts"
    model: type
    id_field: str  # "ContactID"
    id_attribute: str  # "contact_id"
    fields: dict[str, str]  # Xero field -> ORM lookup, for where/order
    default_order: tuple[str, ...]
    paged: bool
    max_page_size: int | None  # None: fixed 100 per page
    # Settings (accounts, tax rates) are not written through the API: no updated_at column, every
    # row ACTIVE, changed when the organisation was made.
    settings: bool = False


COLLECTIONS = {
    "Contacts": Collection(
        name="Contacts",
        model=XeroContact,
        id_field="ContactID",
        id_attribute="contact_id",
        fields={
            "ContactID": "contact_id",
            "Name": "name",
            "FirstName": "first_name",
            "LastName": "last_name",
            "EmailAddress": "email_address",
            "ContactNumber": "contact_number",
            "AccountNumber": "account_number",
            "ContactStatus": "status",
            "IsCustomer": "is_customer",
            "IsSupplier": "is_supplier",
            "UpdatedDateUTC": "updated_at",
        },
        default_order=("name", "id"),
        paged=True,
        max_page_size=1000,
    ),
    "Items": Collection(
        name="Items",
        model=XeroItem,
        id_field="ItemID",
        id_attribute="item_id",
        fields={
            "ItemID": "item_id",
            "Code": "code",
            "Name": "name",
            "IsSold": "is_sold",
            "IsPurchased": "is_purchased",
            "UpdatedDateUTC": "updated_at",
        },
        default_order=("code", "id"),
        paged=False,
        max_page_size=None,
    ),
    "Quotes": Collection(
        name="Quotes",
        model=XeroQuote,
        id_field="QuoteID",
        id_attribute="quote_id",
        fields={
            "QuoteID": "quote_id",
            "QuoteNumber": "quote_number",
            "Reference": "reference",
            "Status": "status",
            "Date": "date",
            "ExpiryDate": "expiry_date",
            "Contact.ContactID": "contact__contact_id",
            "UpdatedDateUTC": "updated_at",
        },
        default_order=("updated_at", "id"),
        paged=True,
        max_page_size=None,
    ),
    "Invoices": Collection(
        name="Invoices",
        model=XeroInvoice,
        id_field="InvoiceID",
        id_attribute="invoice_id",
        fields={
            "InvoiceID": "invoice_id",
            "InvoiceNumber": "invoice_number",
            "Reference": "reference",
            "Type": "type",
            "Status": "status",
            "Date": "date",
            "DueDate": "due_date",
            "Contact.ContactID": "contact__contact_id",
            "Contact.Name": "contact__name",
            "UpdatedDateUTC": "updated_at",
        },
        default_order=("updated_at", "id"),
        paged=True,
        max_page_size=1000,
    ),
    "Payments": Collection(
        name="Payments",
        model=XeroPayment,
        id_field="PaymentID",
        id_attribute="payment_id",
        fields={
            "PaymentID": "payment_id",
            "Reference": "reference",
            "Status": "status",
            "Date": "date",
            "Amount": "amount",
            "Invoice.InvoiceID": "invoice__invoice_id",
            "UpdatedDateUTC": "updated_at",
        },
        default_order=("updated_at", "id"),
        paged=True,
        max_page_size=1000,
    ),
    "Accounts": Collection(
        name="Accounts",
        model=XeroAccount,
        id_field="AccountID",
        id_attribute="account_id",
        fields={
            "AccountID": "account_id",
            "Code": "code",
            "Name": "name",
            "Type": "type",
            "Status": "xero_status",
            "EnablePaymentsToAccount": "enable_payments",
        },
        default_order=("code", "id"),
        paged=False,
        max_page_size=None,
        settings=True,
    ),
    "TaxRates": Collection(
        name="TaxRates",
        model=XeroTaxRate,
        id_field="TaxType",
        id_attribute="tax_type",
        fields={
            "TaxType": "tax_type",
            "Name": "name",
            "Status": "xero_status",
            "EffectiveRate": "rate",
            "DisplayTaxRate": "rate",
        },
        default_order=("name", "id"),
        paged=False,
        max_page_size=None,
        settings=True,
    ),
}

_VALUE = (
    r'(?P<value>"(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?'
    r'|Guid\("[^"]*"\)|DateTime\(\s*\d+(?:\s*,\s*\d+){2,5}\s*\))'
)
_COMPARISON = re.compile(
    r"^(?P<field>[A-Za-z][A-Za-z0-9.]*)\s*(?P<op>==|!=|>=|<=|>|<)\s*" + _VALUE + r"$"
)
_METHOD = re.compile(
    r'^(?P<field>[A-Za-z][A-Za-z0-9.]*)\.(?P<method>Contains|StartsWith)\("(?P<text>[^"]*)"\)$'
)
_OPS = {"==": "exact", ">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}


def _literal(raw: str) -> object:
    if raw.startswith('"'):
        return raw[1:-1].replace('\\"', '"')
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    if raw.startswith("Guid("):
        try:
            return uuid.UUID(raw[6:-2])
        except ValueError as error:
            raise QueryInvalid(f"{raw} is not a valid Guid.") from error
    if raw.startswith("DateTime("):
        parts = [int(p) for p in raw[9:-1].split(",")]
        try:
            return datetime(*parts, tzinfo=UTC)
        except ValueError as error:
            raise QueryInvalid(f"{raw} is not a valid DateTime.") from error
    return raw


def _field(collection: Collection, name: str) -> str:
    lookup = collection.fields.get(name)
    if lookup is None:
        raise QueryInvalid(f"'{name}' cannot be used in where or order on {collection.name}.")
    return lookup


_AND_WORDS = (" AND ", "&&")
_OR_WORDS = (" OR ", "||")


def _split_top(text: str, words: tuple[str, ...]) -> list[str]:
    """Split on `words` where they stand outside quotes and parentheses (case-insensitive)."""
    parts, depth, quoted, start, index = [], 0, False, 0, 0
    upper = text.upper()
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 2
                continue
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            word = next((w for w in words if upper.startswith(w, index)), None)
            if word:
                parts.append(text[start:index])
                index += len(word)
                start = index
                continue
        index += 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _grouped(part: str) -> bool:
    """Whether the whole part is one parenthesised group: `(a OR b)`, not `(a) AND (b)`."""
    if not part.startswith("("):
        return False
    depth, quoted, index = 0, False, 0
    while index < len(part):
        char = part[index]
        if quoted:
            if char == "\\":
                index += 2
                continue
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index == len(part) - 1
        index += 1
    return False


def where_filter(collection: Collection, where: str) -> Q:
    """`where` as Q: comparisons joined by AND / && (binding tighter) and OR / ||, with groups
    in parentheses. Words inside quoted text are text, not operators."""
    condition = Q()
    for index, alternative in enumerate(_split_top(where.strip(), _OR_WORDS)):
        both = Q()
        for part in _split_top(alternative, _AND_WORDS):
            if not part:
                raise QueryInvalid(f"The where clause '{where}' is not understood.")
            if _grouped(part):
                both &= where_filter(collection, part[1:-1])
            else:
                both &= _comparison(collection, part)
        condition = both if index == 0 else condition | both
    return condition


def _comparison(collection: Collection, part: str) -> Q:
    method = _METHOD.match(part)
    if method:
        lookup = _field(collection, method["field"])
        suffix = "icontains" if method["method"] == "Contains" else "istartswith"
        return Q(**{f"{lookup}__{suffix}": method["text"]})
    match = _COMPARISON.match(part)
    if not match:
        raise QueryInvalid(f"The where clause part '{part}' is not understood.")
    lookup = _field(collection, match["field"])
    value = _literal(match["value"])
    if lookup in ("date", "due_date", "expiry_date") and isinstance(value, datetime):
        value = value.date()
    if match["op"] == "!=":
        return ~Q(**{lookup: value})
    if isinstance(value, str) and match["op"] == "==":
        # Xero compares text case-insensitively (Name=="acme" finds "ACME").
        return Q(**{f"{lookup}__iexact": value})
    return Q(**{f"{lookup}__{_OPS[match['op']]}": value})


def order_by(collection: Collection, order: str) -> list[str]:
    fields = []
    for part in order.split(","):
        words = part.split()
        if (
            not words
            or len(words) > 2
            or (
                len(words) == 2
                and words[1].upper()
                not in (
                    "ASC",
                    "DESC",
                )
            )
        ):
            raise QueryInvalid(f"The order '{part.strip()}' is not understood.")
        lookup = _field(collection, words[0])
        descending = len(words) == 2 and words[1].upper() == "DESC"
        fields.append(f"-{lookup}" if descending else lookup)
    return [*fields, "id"]


def if_modified_since(header: str) -> datetime:
    """ISO 8601 (zone optional, UTC assumed) or an HTTP date."""
    text = header.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError) as error:
            raise QueryInvalid(f"If-Modified-Since '{header}' is not a timestamp.") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Xero compares to the second.
    return moment.replace(microsecond=0)


@dataclass(frozen=True)
class Page:
    rows: list
    page: int | None
    page_size: int
    page_count: int
    item_count: int

    def pagination(self) -> dict:
        return {
            "page": self.page or 1,
            "pageSize": self.page_size,
            "pageCount": self.page_count,
            "itemCount": self.item_count,
        }


def _related(collection: Collection, queryset: QuerySet) -> QuerySet:
    if collection.model in (XeroQuote, XeroInvoice):
        queryset = queryset.select_related("contact")
    if collection.model is XeroInvoice:
        queryset = queryset.prefetch_related("payments")
    if collection.model is XeroPayment:
        queryset = queryset.select_related("invoice__contact", "account")
    if collection.settings:
        queryset = queryset.select_related("tenant")
    return queryset


def record_list(
    *,
    tenant: XeroTenant,
    collection: Collection,
    params: dict,
    modified_since: datetime | None,
) -> Page:
    """One page of a collection, filtered and ordered as the request asks."""
    queryset = collection.model.objects.filter(tenant=tenant)
    if collection.settings:
        queryset = queryset.annotate(xero_status=Value("ACTIVE", output_field=CharField()))
    if params.get("where"):
        queryset = queryset.filter(where_filter(collection, params["where"]))
    if modified_since is not None and collection.settings:
        queryset = queryset.filter(tenant__created_at__gte=modified_since)
    elif modified_since is not None:
        queryset = queryset.filter(updated_at__gte=modified_since)
    # Archived contacts are left out unless asked for or filtered on explicitly.
    if (
        collection.model is XeroContact
        and params.get("includeArchived", "").lower() != "true"
        and "ContactStatus" not in params.get("where", "")
    ):
        queryset = queryset.exclude(status=XeroContact.Status.ARCHIVED)
    if params.get("IDs") and not collection.settings:
        ids = _guids(params["IDs"], "IDs")
        queryset = queryset.filter(**{f"{collection.id_attribute}__in": ids})
    if collection.model is XeroInvoice:
        # Lookups of many references in one call (Xero advises ~50 values per parameter).
        if params.get("ContactIDs"):
            ids = _guids(params["ContactIDs"], "ContactIDs")
            queryset = queryset.filter(contact__contact_id__in=ids)
        for name, lookup in (("Statuses", "status__in"), ("InvoiceNumbers", "invoice_number__in")):
            if params.get(name):
                values = [v.strip() for v in params[name].split(",") if v.strip()]
                queryset = queryset.filter(**{lookup: values})
    if collection.model is XeroQuote:
        if params.get("Status"):
            queryset = queryset.filter(status=params["Status"])
        if params.get("QuoteNumber"):
            queryset = queryset.filter(quote_number=params["QuoteNumber"])
        if params.get("ContactID"):
            queryset = queryset.filter(contact__contact_id=params["ContactID"])
    ordering = (
        order_by(collection, params["order"]) if params.get("order") else collection.default_order
    )
    queryset = _related(collection, queryset.order_by(*ordering))
    if not collection.paged:
        rows = list(queryset)
        return Page(rows=rows, page=None, page_size=len(rows), page_count=1, item_count=len(rows))
    page = _positive_int(params.get("page"), "page", default=1)
    page_size = 100
    if collection.max_page_size and params.get("pageSize"):
        page_size = min(
            _positive_int(params["pageSize"], "pageSize", default=100), collection.max_page_size
        )
    item_count = queryset.count()
    start = (page - 1) * page_size
    rows = list(queryset[start : start + page_size])
    return Page(
        rows=rows,
        page=page,
        page_size=page_size,
        page_count=max(1, math.ceil(item_count / page_size)) if item_count else 0,
        item_count=item_count,
    )


def _guids(raw: str, name: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(value.strip()) for value in raw.split(",") if value.strip()]
    except ValueError as error:
        raise QueryInvalid(f"{name} must be a comma-separated list of Guids.") from error


def _positive_int(value: str | None, name: str, *, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError as error:
        raise QueryInvalid(f"{name} must be a whole number.") from error
    if number < 1:
        raise QueryInvalid(f"{name} must be 1 or more.")
    return number


def record_get(*, tenant: XeroTenant, collection: Collection, identifier: str):
    """One record by its ID (or by ContactNumber, Item Code, InvoiceNumber); None when none."""
    queryset = _related(collection, collection.model.objects.filter(tenant=tenant))
    if collection.model is XeroTaxRate:
        return queryset.filter(tax_type=identifier).first()
    try:
        wanted = uuid.UUID(identifier)
    except ValueError:
        if collection.model is XeroContact:
            return queryset.filter(contact_number=identifier).first()
        if collection.model is XeroItem:
            return queryset.filter(code=identifier).first()
        if collection.model is XeroInvoice:  # GET /Invoices/{InvoiceNumber}
            return queryset.filter(invoice_number=identifier).first()
        return None
    return queryset.filter(**{collection.id_attribute: wanted}).first()


def tenant_overview(tenant: XeroTenant) -> dict:
    """What one tenant holds, for the /sandbox/ page."""
    return {
        "tenant": tenant,
        "contacts": XeroContact.objects.filter(tenant=tenant).count(),
        "items": XeroItem.objects.filter(tenant=tenant).count(),
        "quotes": XeroQuote.objects.filter(tenant=tenant).count(),
        "invoices": XeroInvoice.objects.filter(tenant=tenant).count(),
        "payments": XeroPayment.objects.filter(tenant=tenant).count(),
        "recent_invoices": list(
            XeroInvoice.objects.filter(tenant=tenant)
            .select_related("contact")
            .order_by("-updated_at")[:5]
        ),
        "connections": tenant.connections.filter(grant__revoked_at__isnull=True).count(),
    }


def overview_context() -> dict:
    """Context for `templates/sandbox/xero/_overview.html` (the /sandbox/ page includes it)."""
    from apps.sandbox.xero.models import XeroApp

    return {
        "xero": {
            "apps": list(XeroApp.objects.order_by("name")),
            "tenants": [tenant_overview(t) for t in XeroTenant.objects.order_by("name")],
        }
    }
