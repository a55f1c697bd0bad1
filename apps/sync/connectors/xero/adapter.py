"""Xero Accounting 2.0 for one tenant: contacts, items, quotes, invoices, payments, and the
settings documents need (accounts, tax rates, the organisation)."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from apps.sync.connectors.xero.dates import format_http_time, parse_xero_time
from apps.sync.connectors.xero.mappers import TAX_PERCENT
from apps.sync.connectors.xero.schemas import SCHEMAS
from apps.sync.engine.records import MalformedAnswer, Page, PagedAdapter, Rejected, RemoteRecord
from apps.sync.engine.schema import list_field, object_body, one_record, split_rows
from apps.sync.engine.transport import HttpClient

# resource -> (collection, id field, number field, paged, page size): the largest pageSize each
# endpoint takes (vendor-contracts §4.3: 1000; Quotes is paged by 100 and takes no pageSize).
RESOURCES = {
    "contacts": ("Contacts", "ContactID", "ContactNumber", True, 1000),
    "items": ("Items", "ItemID", "Code", False, None),
    "quotes": ("Quotes", "QuoteID", "QuoteNumber", True, None),
    "invoices": ("Invoices", "InvoiceID", "InvoiceNumber", True, 1000),
    "payments": ("Payments", "PaymentID", "Reference", True, 1000),
    "accounts": ("Accounts", "AccountID", "Code", False, None),
    "tax_rates": ("TaxRates", "TaxType", "TaxType", False, None),
}
# Documents carry rates and quantities to three places: Xero rounds UnitAmount to two unless
# the call asks for four (`unitdp=4`), which would make its totals differ from ours.
DOCUMENTS = ("quotes", "invoices")


def parse_error(response) -> Rejected | None:
    """400 ValidationException: gather each element's ValidationErrors messages."""
    if response.status_code != 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    messages: list[str] = []
    for element in body.get("Elements") or []:
        messages += [e.get("Message", "") for e in element.get("ValidationErrors") or []]
    message = "; ".join(m for m in messages if m) or str(body.get("Message") or "Xero refused")
    return Rejected(
        message, status=400, body=response.text[:2000], fields={"__all__": messages or [message]}
    )


class XeroAdapter(PagedAdapter):
    def __init__(
        self,
        client: HttpClient,
        *,
        tenant_id: str,
        api_base: str,
        known_taxes: Callable[[bool], dict[str, Decimal]] | None = None,
    ) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.base = f"{api_base.rstrip('/')}/api.xro/2.0"
        # TaxType -> percentage: `known_taxes(False)` is the connection's stored list, read
        # lazily; `known_taxes(True)` reads /TaxRates again and stores it (a type new there).
        self._known_taxes = known_taxes
        self._tax_percents: dict[str, Decimal] | None = None
        self._tax_rates_read = False

    def _call(self, method, path, *, params=None, json_body=None, headers=None) -> dict:
        response = self.client.request(
            method,
            f"{self.base}/{path}",
            params=params,
            json_body=json_body,
            headers={"xero-tenant-id": self.tenant_id, **(headers or {})},
            error_parser=parse_error,
        )
        body = response.json() if response.content else {}
        return object_body(body, what=f"Xero {method} {path}")

    def _record(self, resource: str, data: dict) -> RemoteRecord:
        _, id_field, number_field, *_ = RESOURCES[resource]
        if resource == "items":
            self._note_tax_percent(data)
        return RemoteRecord(
            remote_id=str(data[id_field]),
            number=str(data.get(number_field) or ""),
            modified_at=parse_xero_time(data.get("UpdatedDateUTC")),
            data=data,
        )

    def list_page(
        self,
        resource: str,
        *,
        page: int = 1,
        modified_since: datetime | None = None,
        where: str | None = None,
    ) -> Page:
        collection, _, _, paged, page_size = RESOURCES[resource]
        params: dict = {}
        if paged:
            params["page"] = page
            if page_size:
                params["pageSize"] = page_size
        if where:
            params["where"] = where
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = format_http_time(modified_since)
        body = self._call("GET", collection, params=params, headers=headers)
        rows = list_field(body, collection, what=f"Xero {collection} page {page}")
        records, rejected = split_rows(
            rows,
            schema=SCHEMAS[resource],
            id_field=RESOURCES[resource][1],
            build=lambda row: self._record(resource, row),
        )
        next_page = None
        if paged:
            pagination = body.get("pagination")
            page_count = pagination.get("pageCount") if isinstance(pagination, dict) else None
            limit = page_size or 100
            if isinstance(page_count, int) and not isinstance(page_count, bool):
                next_page = page + 1 if page < page_count else None
            elif len(rows) >= limit:
                next_page = page + 1
        return Page(records=records, next_page=next_page, rejected=rejected)

    def get(self, resource: str, remote_id: str) -> RemoteRecord:
        collection = RESOURCES[resource][0]
        rows = self._call("GET", f"{collection}/{remote_id}").get(collection) or []
        return self._one(resource, rows, f"Xero {collection} {remote_id}")

    def _one(self, resource: str, rows: object, what: str) -> RemoteRecord:
        if not isinstance(rows, list) or not rows:
            raise MalformedAnswer(f"{what}: the answer holds no record.")
        return one_record(
            rows[0],
            schema=SCHEMAS[resource],
            build=lambda row: self._record(resource, row),
            what=what,
        )

    def create(self, resource: str, payload: dict, *, idempotency_key: str) -> RemoteRecord:
        """PUT creates only; the Idempotency-Key makes a resend within Xero's window a replay."""
        collection = RESOURCES[resource][0]
        params = {"summarizeErrors": "true"}
        if resource in DOCUMENTS:
            params["unitdp"] = "4"
        body = self._call(
            "PUT",
            collection,
            params=params,
            json_body={collection: [payload]},
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else {},
        )
        return self._one(resource, body.get(collection), f"Xero {collection}")

    def update(
        self, resource: str, remote_id: str, payload: dict, *, idempotency_key: str | None = None
    ) -> RemoteRecord:
        collection = RESOURCES[resource][0]
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        params = {"unitdp": "4"} if resource in DOCUMENTS and "LineItems" in payload else None
        body = self._call(
            "POST",
            f"{collection}/{remote_id}",
            params=params,
            json_body={collection: [payload]},
            headers=headers,
        )
        return self._one(resource, body.get(collection), f"Xero {collection}")

    def status_action(self, resource: str, remote_id: str, status: str) -> RemoteRecord:
        """Xero changes status by posting the new Status (e.g. AUTHORISED, VOIDED, ARCHIVED)."""
        field = "ContactStatus" if resource == "contacts" else "Status"
        return self.update(resource, remote_id, {field: status})

    def find_by_reference(self, resource: str, reference: str) -> RemoteRecord | None:
        """Contacts carry our reference in ContactNumber, items in Code, quotes and invoices
        our number (QuoteNumber, InvoiceNumber: Xero's own filters), payments theirs in
        Reference (followed by the payer's reference, if any)."""
        if resource == "quotes":
            page = self._filtered(resource, {"QuoteNumber": reference})
            return self._matching(page, "QuoteNumber", reference)
        if resource == "invoices":
            page = self._filtered(resource, {"InvoiceNumbers": reference})
            return self._matching(page, "InvoiceNumber", reference)
        field = {"contacts": "ContactNumber", "items": "Code"}.get(resource, "Reference")
        escaped = reference.replace('"', '\\"')
        if resource == "payments":
            page = self.list_page(resource, where=f'Reference.StartsWith("{escaped}")')
            for record in page.records:
                found = str(record.data.get("Reference") or "")
                ours = found == reference or found.startswith(f"{reference} ")
                if ours and record.data.get("Status") != "DELETED":
                    return record
            return None
        page = self.list_page(resource, where=f'{field}=="{escaped}"')
        return self._matching(page, field, reference)

    def _filtered(self, resource: str, params: dict) -> list[RemoteRecord]:
        collection = RESOURCES[resource][0]
        body = self._call("GET", collection, params=params)
        rows = list_field(body, collection, what=f"Xero {collection}")
        records, _ = split_rows(
            rows,
            schema=SCHEMAS[resource],
            id_field=RESOURCES[resource][1],
            build=lambda row: self._record(resource, row),
        )
        return records

    @staticmethod
    def _matching(records, field: str, reference: str) -> RemoteRecord | None:
        records = records.records if isinstance(records, Page) else records
        for record in records:
            if str(record.data.get(field) or "") == reference and record.data.get("Status") not in (
                "DELETED",
            ):
                return record
        return None

    # --- settings -------------------------------------------------------------------------------
    def accounts(self) -> list[dict]:
        """The chart of accounts (Code, Name, Type, EnablePaymentsToAccount, Status)."""
        return [r.data for r in self.list_page("accounts").records]

    def tax_rates(self) -> list[dict]:
        """The organisation's tax rates (TaxType, Name, EffectiveRate, Status)."""
        return [r.data for r in self.list_page("tax_rates").records]

    def _note_tax_percent(self, data: dict) -> None:
        """Keep the percentage of an item's sales TaxType beside it (the mapper is pure)."""
        sales = data.get("SalesDetails")
        tax_type = sales.get("TaxType") if isinstance(sales, dict) else None
        if not tax_type:
            return
        if self._tax_percents is None:
            self._tax_percents = dict(self._known_taxes(False) if self._known_taxes else {})
        if tax_type not in self._tax_percents and not self._tax_rates_read:
            self._tax_rates_read = True
            if self._known_taxes is not None:
                self._tax_percents = dict(self._known_taxes(True))
            else:
                for rate in self.tax_rates():
                    percent = tax_percent(rate)
                    if percent is not None:
                        self._tax_percents[str(rate["TaxType"])] = percent
        percent = self._tax_percents.get(tax_type)
        if percent is not None:
            data[TAX_PERCENT] = str(percent)

    def organisation(self) -> dict:
        rows = self._call("GET", "Organisation").get("Organisations") or []
        return rows[0] if rows else {}


def tax_percent(rate: dict) -> Decimal | None:
    """A /TaxRates row's percentage (EffectiveRate, else DisplayTaxRate); None if neither."""
    for field in ("EffectiveRate", "DisplayTaxRate"):
        value = rate.get(field)
        if value not in (None, ""):
            try:
                return Decimal(str(value))
            except ArithmeticError:
                return None
    return None
