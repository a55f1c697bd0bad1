"""Xero Accounting 2.0 for one tenant: contacts, items, quotes, invoices and payments."""

from datetime import datetime

from apps.sync.connectors.xero.dates import format_http_time, parse_xero_time
from apps.sync.connectors.xero.schemas import SCHEMAS
from apps.sync.engine.records import MalformedAnswer, Page, PagedAdapter, Rejected, RemoteRecord
from apps.sync.engine.schema import list_field, object_body, one_record, split_rows
from apps.sync.engine.transport import HttpClient

# resource -> (collection, id field, number field, paged, page size)
RESOURCES = {
    "contacts": ("Contacts", "ContactID", "ContactNumber", True, 1000),
    "items": ("Items", "ItemID", "Code", False, None),
    "quotes": ("Quotes", "QuoteID", "QuoteNumber", True, None),
    "invoices": ("Invoices", "InvoiceID", "InvoiceNumber", True, 1000),
    "payments": ("Payments", "PaymentID", "Reference", True, 1000),
}


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
    def __init__(self, client: HttpClient, *, tenant_id: str, api_base: str) -> None:
        self.client = client
        self.tenant_id = tenant_id
        self.base = f"{api_base.rstrip('/')}/api.xro/2.0"

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

    @staticmethod
    def _record(resource: str, data: dict) -> RemoteRecord:
        _, id_field, number_field, *_ = RESOURCES[resource]
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
        body = self._call(
            "PUT",
            collection,
            params={"summarizeErrors": "true"},
            json_body={collection: [payload]},
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._one(resource, body.get(collection), f"Xero {collection}")

    def update(
        self, resource: str, remote_id: str, payload: dict, *, idempotency_key: str | None = None
    ) -> RemoteRecord:
        collection = RESOURCES[resource][0]
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = self._call(
            "POST", f"{collection}/{remote_id}", json_body={collection: [payload]}, headers=headers
        )
        return self._one(resource, body.get(collection), f"Xero {collection}")

    def status_action(self, resource: str, remote_id: str, status: str) -> RemoteRecord:
        """Xero changes status by posting the new Status (e.g. AUTHORISED, VOIDED, ARCHIVED)."""
        field = "ContactStatus" if resource == "contacts" else "Status"
        return self.update(resource, remote_id, {field: status})

    def find_by_reference(self, resource: str, reference: str) -> RemoteRecord | None:
        """Contacts carry our reference in ContactNumber, items in Code, documents in Reference."""
        field = {"contacts": "ContactNumber", "items": "Code"}.get(resource, "Reference")
        escaped = reference.replace('"', '\\"')
        page = self.list_page(resource, where=f'{field}=="{escaped}"')
        for record in page.records:
            if str(record.data.get(field) or "") == reference:
                return record
        return None

    def organisation(self) -> dict:
        rows = self._call("GET", "Organisation").get("Organisations") or []
        return rows[0] if rows else {}
