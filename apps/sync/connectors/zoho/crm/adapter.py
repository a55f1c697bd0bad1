"""Zoho CRM v6: Contacts and Deals, paged by page number up to 2,000 records then by page token."""

from datetime import datetime

from apps.sync.connectors.zoho.crm.schemas import SCHEMAS
from apps.sync.connectors.zoho.dates import format_zoho_time, parse_zoho_time
from apps.sync.engine.records import Page, PagedAdapter, Rejected, RemoteRecord
from apps.sync.engine.schema import list_field, object_body, split_rows
from apps.sync.engine.transport import HttpClient

MODULES = {
    "contacts": (
        "Contacts",
        "Email",
        "First_Name,Last_Name,Email,Phone,Mobile,Account_Name,Modified_Time",
    ),
    "deals": (
        "Deals",
        "Deal_Name",
        "Deal_Name,Amount,Stage,Closing_Date,Contact_Name,Account_Name,Description,Modified_Time",
    ),
}
PER_PAGE = 200
PAGE_NUMBER_LIMIT = 10  # page-number access covers the first 2,000 records


def parse_error(response) -> Rejected | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    items = body.get("data") if isinstance(body.get("data"), list) else [body]
    fields: dict[str, list[str]] = {}
    messages = []
    for item in items:
        if not isinstance(item, dict) or item.get("status") != "error":
            continue
        details = item.get("details") or {}
        message = f"{item.get('code')}: {item.get('message')}"
        messages.append(message)
        fields.setdefault(details.get("api_name") or "__all__", []).append(message)
    if not messages:
        return None
    return Rejected(
        "; ".join(messages), status=response.status_code, body=response.text[:2000], fields=fields
    )


class ZohoCrmAdapter(PagedAdapter):
    def __init__(self, client: HttpClient, *, api_base: str) -> None:
        self.client = client
        self.base = f"{api_base.rstrip('/')}/crm/v6"

    @staticmethod
    def _record(data: dict, number_field: str) -> RemoteRecord:
        return RemoteRecord(
            remote_id=str(data["id"]),
            number=str(data.get(number_field) or ""),
            modified_at=parse_zoho_time(data.get("Modified_Time")),
            data=data,
        )

    def list_page(
        self,
        resource: str,
        *,
        page: int = 1,
        page_token: str | None = None,
        modified_since: datetime | None = None,
    ) -> Page:
        module, number_field, fields = MODULES[resource]
        params: dict = {
            "fields": fields,
            "per_page": PER_PAGE,
            "sort_by": "id",
            "sort_order": "asc",
        }
        if page_token:
            params["page_token"] = page_token
        else:
            params["page"] = page
        headers = {"If-Modified-Since": format_zoho_time(modified_since)} if modified_since else {}
        response = self.client.request(
            "GET", f"{self.base}/{module}", params=params, headers=headers, error_parser=parse_error
        )
        if response.status_code in (204, 304) or not response.content:
            return Page(records=[])
        what = f"Zoho CRM {module} page {page}"
        body = object_body(response.json(), what=what)
        records, rejected = split_rows(
            list_field(body, "data", what=what),
            schema=SCHEMAS[resource],
            id_field="id",
            build=lambda row: self._record(row, number_field),
        )
        info = body.get("info")
        if not isinstance(info, dict) or info.get("more_records") is not True:
            return Page(records=records, rejected=rejected)
        if page_token or page >= PAGE_NUMBER_LIMIT:
            token = info.get("next_page_token")
            return Page(
                records=records,
                next_token=token if isinstance(token, str) and token else None,
                rejected=rejected,
            )
        return Page(records=records, next_page=page + 1, rejected=rejected)

    def get(self, resource: str, remote_id: str) -> RemoteRecord:
        module, number_field, _ = MODULES[resource]
        response = self.client.request(
            "GET", f"{self.base}/{module}/{remote_id}", error_parser=parse_error
        )
        return self._record(response.json()["data"][0], number_field)

    def _write(self, method: str, path: str, payload: dict, number_field: str) -> str:
        response = self.client.request(
            method,
            f"{self.base}/{path}",
            json_body={"data": [payload], "trigger": []},
            error_parser=parse_error,
        )
        return str(response.json()["data"][0]["details"]["id"])

    def create(self, resource: str, payload: dict) -> str:
        module, number_field, _ = MODULES[resource]
        return self._write("POST", module, payload, number_field)

    def update(self, resource: str, remote_id: str, payload: dict) -> str:
        module, number_field, _ = MODULES[resource]
        return self._write("PUT", f"{module}/{remote_id}", payload, number_field)

    def find_by_reference(self, resource: str, reference: str) -> RemoteRecord | None:
        module, number_field, _ = MODULES[resource]
        criteria = f"({number_field}:equals:{reference})"
        response = self.client.request(
            "GET",
            f"{self.base}/{module}/search",
            params={"criteria": criteria},
            error_parser=parse_error,
        )
        if response.status_code == 204 or not response.content:
            return None
        rows = response.json().get("data") or []
        return self._record(rows[0], number_field) if rows else None

    def watch_enable(self, channels: list[dict]) -> list[dict]:
        """`POST /actions/watch` (enable, or replace an existing channel_id); one answer per
        channel: {"code", "status", "details": {"events": [{"channel_expiry", ...}]}} (§3.7)."""
        response = self.client.request(
            "POST",
            f"{self.base}/actions/watch",
            json_body={"watch": channels},
            error_parser=parse_error,
        )
        return list(response.json().get("watch") or [])
