"""Zoho Books v3: contacts, items, estimates, invoices and customer payments of one organisation."""

from datetime import datetime

from apps.sync.connectors.zoho.books.schemas import SCHEMAS
from apps.sync.connectors.zoho.dates import format_zoho_time, parse_zoho_time
from apps.sync.engine.records import Page, PagedAdapter, Rejected, RemoteRecord
from apps.sync.engine.schema import list_field, object_body, one_record, split_rows
from apps.sync.engine.transport import HttpClient

# resource -> (path, list key, single key, id field, number field)
RESOURCES = {
    "contacts": ("contacts", "contacts", "contact", "contact_id", "contact_name"),
    "items": ("items", "items", "item", "item_id", "sku"),
    "estimates": ("estimates", "estimates", "estimate", "estimate_id", "estimate_number"),
    "invoices": ("invoices", "invoices", "invoice", "invoice_id", "invoice_number"),
    "payments": ("customerpayments", "customerpayments", "payment", "payment_id", "payment_number"),
}
PER_PAGE = 200


def parse_error(response) -> Rejected | None:
    """Books keeps its envelope on errors: a non-zero `code` is a refusal, even under HTTP 200."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("code", 0) == 0:
        return None
    message = str(body.get("message") or "Zoho Books refused the request")
    return Rejected(
        message,
        status=response.status_code,
        body=response.text[:2000],
        fields={"__all__": [message]},
    )


class ZohoBooksAdapter(PagedAdapter):
    def __init__(self, client: HttpClient, *, organization_id: str, api_base: str) -> None:
        self.client = client
        self.organization_id = organization_id
        self.base = f"{api_base.rstrip('/')}/books/v3"

    def _call(self, method: str, path: str, *, params=None, json_body=None) -> dict:
        response = self.client.request(
            method,
            f"{self.base}/{path}",
            params={"organization_id": self.organization_id, **(params or {})},
            json_body=json_body,
            error_parser=parse_error,
        )
        return object_body(response.json(), what=f"Zoho Books {method} {path}")

    def _one(self, resource: str, body: dict, key: str, what: str) -> RemoteRecord:
        return one_record(
            body.get(key),
            schema=SCHEMAS[resource],
            build=lambda row: self._record(resource, row),
            what=what,
        )

    @staticmethod
    def _record(resource: str, data: dict) -> RemoteRecord:
        _, _, _, id_field, number_field = RESOURCES[resource]
        return RemoteRecord(
            remote_id=str(data[id_field]),
            number=str(data.get(number_field) or ""),
            modified_at=parse_zoho_time(data.get("last_modified_time")),
            data=data,
        )

    def organizations(self) -> list[dict]:
        response = self.client.request(
            "GET", f"{self.base}/organizations", error_parser=parse_error
        )
        return list(response.json().get("organizations") or [])

    def list_page(
        self,
        resource: str,
        *,
        page: int = 1,
        modified_since: datetime | None = None,
        extra: dict | None = None,
    ) -> Page:
        path, list_key, *_ = RESOURCES[resource]
        params = {"page": page, "per_page": PER_PAGE, **(extra or {})}
        if modified_since is not None:
            params["last_modified_time"] = format_zoho_time(modified_since)
        body = self._call("GET", path, params=params)
        what = f"Zoho Books {resource} page {page}"
        records, rejected = split_rows(
            list_field(body, list_key, what=what),
            schema=SCHEMAS[resource],
            id_field=RESOURCES[resource][3],
            build=lambda row: self._record(resource, row),
        )
        context = body.get("page_context")
        more = isinstance(context, dict) and context.get("has_more_page") is True
        return Page(records=records, next_page=page + 1 if more else None, rejected=rejected)

    def get(self, resource: str, remote_id: str) -> RemoteRecord:
        path, _, single_key, *_ = RESOURCES[resource]
        body = self._call("GET", f"{path}/{remote_id}")
        return self._one(resource, body, single_key, f"Zoho Books {resource} {remote_id}")

    def create(self, resource: str, payload: dict) -> RemoteRecord:
        path, _, single_key, *_ = RESOURCES[resource]
        body = self._call("POST", path, json_body=payload)
        return self._one(resource, body, single_key, f"Zoho Books new {resource}")

    def update(self, resource: str, remote_id: str, payload: dict) -> RemoteRecord:
        path, _, single_key, *_ = RESOURCES[resource]
        body = self._call("PUT", f"{path}/{remote_id}", json_body=payload)
        return self._one(resource, body, single_key, f"Zoho Books {resource} {remote_id}")

    def status_action(self, resource: str, remote_id: str, action: str) -> None:
        """`active`/`inactive` (contacts, items) or `status/sent|accepted|declined|void|draft`."""
        path = RESOURCES[resource][0]
        self._call("POST", f"{path}/{remote_id}/{action}")

    def find_by_reference(self, resource: str, reference: str) -> RemoteRecord | None:
        """Our reference: `reference_number` on documents, the email on contacts, SKU on items."""
        field = {"contacts": "email", "items": "sku"}.get(resource, "reference_number")
        value_field = {"items": "sku"}.get(resource, field)
        page = self.list_page(
            resource, extra={field: reference} if field != "sku" else {"search_text": reference}
        )
        for record in page.records:
            if str(record.data.get(value_field) or "").lower() == reference.lower():
                return record
        return None

    def taxes(self) -> list[dict]:
        """`GET /settings/taxes`: the organisation's taxes (what a line's `tax_id` names)."""
        return list(self._call("GET", "settings/taxes").get("taxes") or [])

    def currencies(self) -> list[dict]:
        """`GET /settings/currencies`: a document names its currency by `currency_id`."""
        return list(self._call("GET", "settings/currencies").get("currencies") or [])

    def webhooks_list(self) -> list[dict]:
        """`GET /settings/webhooks`: the outgoing webhooks (vendor-contracts §2.9)."""
        return list(self._call("GET", "settings/webhooks").get("webhooks") or [])

    def webhook_create(self, payload: dict) -> dict:
        """`POST /settings/webhooks` (scope ZohoBooks.settings.CREATE)."""
        return self._call("POST", "settings/webhooks", json_body=payload)["webhook"]
