"""Zoho CRM v6 Contacts and Deals and the actions/watch notifications, as the sandbox has them.

Facts are from vendor-contracts.md §3 (record envelope, `info` keys, 201/207/204, per-record
results, error bodies, page/page_token limits, watch bodies). Sandbox choices where it is silent:
Deals need `Deal_Name` and `Stage`; a write where every record fails answers 400 with the
per-record results; `channel_expiry` defaults to one hour and is capped at one week; the callback
carries `channel_id` (a number when it is all digits, as the contract types it "long"), `token`,
`server_time`, `module`, `resource_uri`, `ids`, `operation` and `query_params`.

A page token (≤96 characters, §3.2) carries how many records were served, the last record's sort
values (its sort column and its pk, the tie-breaker) and an expiry one day ahead, signed with
SECRET_KEY over those and the organisation, module, sort and filters (`ids`, `If-Modified-Since`)
of the request that made it: it only continues that same listing, keeps working when its last
record is deleted, and expires. A refused token is 400 INVALID_DATA on `page_token` (the code for
an expired one is UNCONFIRMED).
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.dateparse import parse_datetime

from apps.sandbox import clock, webhooks
from apps.sandbox.zoho.models import CrmChannel, CrmRecord, ZohoOrganization

VENDOR = "zoho"
MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_PAGE_RECORDS = 2000  # pages 1-10 of 200
MAX_TOKEN_RECORDS = 100_000
MAX_WRITE_RECORDS = 100
CONCURRENCY_LIMIT = 10  # Standard edition (§3.6)
DAILY_CREDITS = 50_000  # Standard edition base allowance (§3.6)
MANDATORY = {"Contacts": ["Last_Name"], "Deals": ["Deal_Name", "Stage"]}
DUPLICATE_CHECK = {"Contacts": "Email", "Deals": "Deal_Name"}
SYSTEM_FIELDS = {"id", "Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}
READ_ONLY = {"Full_Name", "$approval_state", "$state", "Tag"}
SORTS = {"id": "record_id", "Created_Time": "created_time", "Modified_Time": "modified_time"}
CHANNEL_DEFAULT_SECONDS = 3600
CHANNEL_MAX_SECONDS = 7 * 24 * 3600
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CrmError(Exception):
    """A request-level refusal: `{"code", "details", "message", "status": "error"}`."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details or {}, "message": message, "status": "error"}


class RecordError(Exception):
    def __init__(self, code: str, message: str, details: dict) -> None:
        super().__init__(message)
        self.result = {"code": code, "details": details, "message": message, "status": "error"}


def crm_time(moment: datetime, organization: ZohoOrganization) -> str:
    """`2023-10-15T10:30:00+05:30`: ISO-8601 with the organisation's offset."""
    return moment.astimezone(ZoneInfo(organization.time_zone)).isoformat(timespec="seconds")


def owner(organization: ZohoOrganization) -> dict:
    return {
        "name": "Sandbox Owner",
        "id": f"{organization.organization_id[:12]}225013",
        "email": "owner@sandbox.zoho.test",
    }


def module_check(module: str) -> str:
    if module not in MANDATORY:
        raise CrmError(
            400,
            "INVALID_MODULE",
            "the module name given seems to be invalid",
            {"resource_path_index": 0},
        )
    return module


def record_json(
    record: CrmRecord, organization: ZohoOrganization, fields: list[str] | None
) -> dict:
    person = owner(organization)
    full = {
        "id": record.record_id,
        "Owner": person,
        **record.data,
        "Created_Time": crm_time(record.created_time, organization),
        "Modified_Time": crm_time(record.modified_time, organization),
        "Created_By": person,
        "Modified_By": person,
    }
    if record.module == "Contacts":
        full["Full_Name"] = " ".join(
            part for part in (record.data.get("First_Name"), record.data.get("Last_Name")) if part
        )
    if fields is None:
        return full
    return {"id": record.record_id} | {name: full.get(name) for name in fields if name != "id"}


# --- Reads ---------------------------------------------------------------------------------------


@dataclass
class Page:
    records: list[dict]
    info: dict


PAGE_TOKEN_SECONDS = 24 * 3600
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _bad_token() -> CrmError:
    return CrmError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})


def _sort_value_text(value: object) -> str:
    if isinstance(value, datetime):
        return f"{(value - EPOCH) // timedelta(microseconds=1):x}"
    return f"{int(value):x}"  # record ids are digits


def _sort_value(column: str, text: str) -> object:
    number = int(text, 16)
    if column == "record_id":
        return str(number)
    return EPOCH + timedelta(microseconds=number)


def _token_signature(listing: str, body: str) -> str:
    return salted_hmac("sandbox.crm.page_token", f"{listing}|{body}").hexdigest()[:20]


def _page_token(listing: str, column: str, last: CrmRecord, served: int, expiry: datetime) -> str:
    body = ".".join(
        [
            f"{served:x}",
            _sort_value_text(getattr(last, column)),
            f"{last.pk:x}",
            f"{int(expiry.timestamp()):x}",
        ]
    )
    return f"{body}.{_token_signature(listing, body)}"


def _read_token(token: str, listing: str, column: str, moment: datetime) -> tuple[int, object, int]:
    """(records served, last sort value, last pk) from a token made for this very listing."""
    body, _, signature = token.rpartition(".")
    if not constant_time_compare(signature, _token_signature(listing, body)):
        raise _bad_token()
    try:
        served, value, pk, expiry = body.split(".")
        served, value, pk = int(served, 16), _sort_value(column, value), int(pk, 16)
        expires = datetime.fromtimestamp(int(expiry, 16), tz=UTC)
    except ValueError:
        raise _bad_token() from None
    if expires <= moment:
        raise _bad_token()
    return served, value, pk


def records_page(
    *,
    organization: ZohoOrganization,
    module: str,
    params: dict[str, str],
    if_modified_since: str = "",
) -> Page | None:
    """One page of records, or None when nothing matches (the view answers 204)."""
    module_check(module)
    if not params.get("fields"):
        raise CrmError(
            400, "REQUIRED_PARAM_MISSING", "required param is missing", {"param_name": "fields"}
        )
    fields = [name.strip() for name in params["fields"].split(",") if name.strip()]
    if len(fields) > MAX_FIELDS:
        raise CrmError(
            400,
            "LIMIT_EXCEEDED",
            "the given param exceeds the limit",
            {"limit": MAX_FIELDS, "param_name": "fields"},
        )
    try:
        per_page = int(params.get("per_page") or MAX_PER_PAGE)
        page = int(params.get("page") or 1)
    except ValueError:
        raise CrmError(400, "INVALID_DATA", "invalid data", {"param_name": "page"}) from None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise CrmError(400, "INVALID_DATA", "invalid data", {"param_name": "per_page"})
    if page < 1:
        raise CrmError(400, "INVALID_DATA", "invalid data", {"param_name": "page"})
    sort_by = params.get("sort_by") or "id"
    sort_order = params.get("sort_order") or "desc"
    if sort_by not in SORTS:
        raise CrmError(400, "INVALID_DATA", "invalid data", {"param_name": "sort_by"})
    if sort_order not in ("asc", "desc"):
        raise CrmError(400, "INVALID_DATA", "invalid data", {"param_name": "sort_order"})
    descending = sort_order == "desc"
    column = SORTS[sort_by]
    rows = CrmRecord.objects.filter(organization=organization, module=module)
    if params.get("ids"):
        rows = rows.filter(record_id__in=params["ids"].split(","))
    if if_modified_since:
        since = parse_datetime(if_modified_since.strip().replace(" ", "+"))
        if since is None:
            raise CrmError(
                400, "INVALID_DATA", "invalid data", {"header_name": "If-Modified-Since"}
            )
        rows = rows.filter(modified_time__gt=since)
    sign = "-" if descending else ""
    rows = rows.order_by(f"{sign}{column}", f"{sign}pk")
    moment = clock.now(VENDOR, organization.organization_id)
    listing = "|".join(
        [
            organization.organization_id,
            module,
            sort_by,
            sort_order,
            params.get("ids") or "",
            if_modified_since.strip(),
        ]
    )

    token = params.get("page_token")
    if token:
        served, value, last_pk = _read_token(token, listing, column, moment)
        if served >= MAX_TOKEN_RECORDS:
            raise CrmError(
                400,
                "PAGINATION_LIMIT_EXCEEDED",
                "You can only get upto 100000 records using page_token param",
                {},
            )
        after = (
            Q(**{f"{column}__lt": value}) | Q(**{column: value, "pk__lt": last_pk})
            if descending
            else Q(**{f"{column}__gt": value}) | Q(**{column: value, "pk__gt": last_pk})
        )
        chunk = list(rows.filter(after)[: per_page + 1])
        page_number = served // per_page + 1
    else:
        if page * per_page > MAX_PAGE_RECORDS:
            raise CrmError(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "maximum number of records that can be fetched using page param is 2000",
                {"limit": MAX_PAGE_RECORDS},
            )
        served = (page - 1) * per_page
        chunk = list(rows[served : served + per_page + 1])
        page_number = page
    if not chunk:
        return None
    more = len(chunk) > per_page
    chunk = chunk[:per_page]
    expiry = moment + timedelta(seconds=PAGE_TOKEN_SECONDS)
    return Page(
        records=[record_json(row, organization, fields) for row in chunk],
        info={
            "per_page": per_page,
            "count": len(chunk),
            "page": page_number,
            "sort_by": sort_by,
            "sort_order": sort_order,
            "more_records": more,
            "next_page_token": (
                _page_token(listing, column, chunk[-1], served + len(chunk), expiry)
                if more
                else None
            ),
            "previous_page_token": token or None,
            "page_token_expiry": crm_time(expiry, organization) if more else None,
            "call": False,
            "email": False,
        },
    )


def record_get(organization: ZohoOrganization, module: str, record_id: str) -> CrmRecord:
    module_check(module)
    record = CrmRecord.objects.filter(
        organization=organization, module=module, record_id=record_id
    ).first()
    if record is None:
        raise CrmError(
            400,
            "INVALID_DATA",
            "the id given seems to be invalid",
            {"api_name": "id", "id": record_id},
        )
    return record


# --- Writes ---------------------------------------------------------------------------------------


def _invalid(api_name: str, index: int, message: str, **extra) -> RecordError:
    details = {"api_name": api_name, "json_path": f"$.data[{index}].{api_name}", **extra}
    return RecordError("INVALID_DATA", message, details)


def _clean(module: str, raw: object, index: int, *, creating: bool, existing: dict) -> dict:
    if not isinstance(raw, dict):
        raise RecordError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]"})
    data = {key: value for key, value in raw.items() if key not in SYSTEM_FIELDS | READ_ONLY}
    merged = {**existing, **data}
    for name in MANDATORY[module]:
        if merged.get(name) in (None, ""):
            raise RecordError(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                {"api_name": name, "json_path": f"$.data[{index}].{name}"},
            )
    if data.get("Email") not in (None, "") and not EMAIL.match(str(data["Email"])):
        raise _invalid("Email", index, "invalid data", expected_data_type="email")
    if data.get("Amount") is not None:
        try:
            Decimal(str(data["Amount"]))
        except InvalidOperation:
            raise _invalid("Amount", index, "invalid data", expected_data_type="double") from None
        if isinstance(data["Amount"], str):
            raise _invalid("Amount", index, "invalid data", expected_data_type="double")
    if data.get("Closing_Date") not in (None, ""):
        try:
            date.fromisoformat(str(data["Closing_Date"]))
        except ValueError:
            raise _invalid(
                "Closing_Date", index, "invalid data", expected_data_type="date"
            ) from None
    for name in ("Last_Name", "First_Name", "Deal_Name"):
        if isinstance(data.get(name), str) and len(data[name]) > 120:
            raise _invalid(name, index, "invalid data", maximum_length=120)
    for name in ("Account_Name", "Contact_Name"):
        value = data.get(name)
        if value is not None and not (isinstance(value, dict) and value.get("id")):
            if isinstance(value, str) and name == "Account_Name":
                continue
            raise _invalid(name, index, "invalid data", expected_data_type="lookup")
    return data


def _success(record: CrmRecord, organization: ZohoOrganization, message: str) -> dict:
    person = owner(organization)
    return {
        "code": "SUCCESS",
        "details": {
            "Modified_Time": crm_time(record.modified_time, organization),
            "Modified_By": {"name": person["name"], "id": person["id"]},
            "Created_Time": crm_time(record.created_time, organization),
            "id": record.record_id,
            "Created_By": {"name": person["name"], "id": person["id"]},
            "$approval_state": "approved",
        },
        "message": message,
        "status": "success",
    }


def _batch(body: object, *, key: str = "data") -> list:
    if not isinstance(body, dict) or not isinstance(body.get(key), list) or not body[key]:
        raise CrmError(400, "INVALID_DATA", "invalid data", {"expected_data_type": "jsonarray"})
    if len(body[key]) > MAX_WRITE_RECORDS:
        raise CrmError(
            400,
            "LIMIT_EXCEEDED",
            "the given data exceeds the limit",
            {"limit": MAX_WRITE_RECORDS, "api_name": key},
        )
    return body[key]


@dataclass
class WriteResult:
    results: list[dict]
    status: int  # 200/201, 207 mixed, 400 when every record failed


def _outcome(results: list[dict], ok_status: int) -> WriteResult:
    good = sum(1 for result in results if result["status"] == "success")
    if good == len(results):
        return WriteResult(results, ok_status)
    return WriteResult(results, 207 if good else 400)


@transaction.atomic
def records_insert(
    *, organization: ZohoOrganization, module: str, body: object, api_domain: str
) -> WriteResult:
    module_check(module)
    moment = clock.now(VENDOR, organization.organization_id)
    results, created = [], []
    for index, raw in enumerate(_batch(body)):
        try:
            data = _clean(module, raw, index, creating=True, existing={})
        except RecordError as error:
            results.append(error.result)
            continue
        record = CrmRecord.objects.create(
            organization=organization,
            module=module,
            data=data,
            created_time=moment,
            modified_time=moment,
        )
        created.append(record.record_id)
        results.append(_success(record, organization, "record added"))
    _notify(organization, module, "create", created, api_domain)
    return _outcome(results, 201)


def _update(record: CrmRecord, raw: object, index: int) -> list[str]:
    data = _clean(record.module, raw, index, creating=False, existing=record.data)
    changed = [name for name, value in data.items() if record.data.get(name) != value]
    record.data = {**record.data, **data}
    record.modified_time = clock.now(VENDOR, record.organization.organization_id)
    record.save()
    return changed


@transaction.atomic
def records_update(
    *,
    organization: ZohoOrganization,
    module: str,
    body: object,
    api_domain: str,
    record_id: str | None = None,
) -> WriteResult:
    module_check(module)
    results, updated = [], {}
    for index, raw in enumerate(_batch(body)):
        target = record_id or (raw.get("id") if isinstance(raw, dict) else None)
        record = (
            CrmRecord.objects.select_for_update()
            .filter(organization=organization, module=module, record_id=str(target or ""))
            .first()
        )
        if record is None:
            results.append(
                _invalid("id", index, "the id given seems to be invalid").result
                if target
                else RecordError(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": "id", "json_path": f"$.data[{index}].id"},
                ).result
            )
            continue
        try:
            updated[record.record_id] = _update(record, raw, index)
        except RecordError as error:
            results.append(error.result)
            continue
        results.append(_success(record, organization, "record updated"))
    _notify(organization, module, "edit", list(updated), api_domain, affected=updated)
    return _outcome(results, 200)


class _Duplicates:
    """The records an upsert batch matches, read once per field for the whole batch (a reference
    field is looked up by value; Email, compared in any case, record by record)."""

    def __init__(self, organization, module: str, field_names: list[str], items: list) -> None:
        self.organization, self.module, self.field_names = organization, module, field_names
        self.known: dict[tuple[str, object], CrmRecord] = {}
        rows = [raw for raw in items if isinstance(raw, dict)]
        for name in field_names:
            values = {raw.get(name) for raw in rows if isinstance(raw.get(name), (str, int))}
            values.discard("")
            if name == "Email" or not values:
                continue
            found = (
                CrmRecord.objects.select_for_update()
                .filter(organization=organization, module=module)
                .filter(**{f"data__{name}__in": sorted(values, key=str)})
                .order_by("pk")
            )
            for record in found:
                self.known.setdefault((name, record.data.get(name)), record)

    def find(self, raw: dict) -> CrmRecord | None:
        for name in self.field_names:
            value = raw.get(name)
            if value in (None, ""):
                continue
            if name == "Email":
                match = (
                    CrmRecord.objects.select_for_update()
                    .filter(organization=self.organization, module=self.module)
                    .filter(data__Email__iexact=value)
                    .order_by("pk")
                    .first()
                )
            else:
                match = self.known.get((name, value))
            if match is not None:
                return match
        return None

    def add(self, record: CrmRecord) -> None:
        """A record this batch inserted: a later element with its values updates it."""
        for name in self.field_names:
            if name != "Email" and record.data.get(name) not in (None, ""):
                self.known.setdefault((name, record.data.get(name)), record)


@transaction.atomic
def records_upsert(
    *, organization: ZohoOrganization, module: str, body: object, api_domain: str
) -> WriteResult:
    """Update the record found by `duplicate_check_fields` (else the system field), or insert."""
    module_check(module)
    items = _batch(body)
    field_names = body.get("duplicate_check_fields") or [DUPLICATE_CHECK[module]]
    if not isinstance(field_names, list) or not all(isinstance(n, str) for n in field_names):
        raise CrmError(400, "INVALID_DATA", "invalid data", {"api_name": "duplicate_check_fields"})
    moment = clock.now(VENDOR, organization.organization_id)
    results, created, updated = [], [], {}
    duplicates = _Duplicates(organization, module, field_names, items)
    for index, raw in enumerate(items):
        match = duplicates.find(raw) if isinstance(raw, dict) else None
        try:
            if match is not None:
                updated[match.record_id] = _update(match, raw, index)
                result = _success(match, organization, "record updated")
                matched_on = next(name for name in field_names if raw.get(name) not in (None, ""))
                results.append(result | {"action": "update", "duplicate_field": matched_on})
                continue
            data = _clean(module, raw, index, creating=True, existing={})
        except RecordError as error:
            results.append(error.result)
            continue
        record = CrmRecord.objects.create(
            organization=organization,
            module=module,
            data=data,
            created_time=moment,
            modified_time=moment,
        )
        created.append(record.record_id)
        duplicates.add(record)
        result = _success(record, organization, "record added")
        results.append(result | {"action": "insert", "duplicate_field": None})
    _notify(organization, module, "create", created, api_domain)
    _notify(organization, module, "edit", list(updated), api_domain, affected=updated)
    return _outcome(results, 200)


@transaction.atomic
def records_delete(
    *, organization: ZohoOrganization, module: str, ids: list[str], api_domain: str
) -> WriteResult:
    module_check(module)
    ids = [value for value in ids if value]
    if not ids:
        raise CrmError(
            400, "REQUIRED_PARAM_MISSING", "required param is missing", {"param_name": "ids"}
        )
    if len(ids) > MAX_WRITE_RECORDS:
        raise CrmError(
            400,
            "LIMIT_EXCEEDED",
            "the given ids exceed the limit",
            {"limit": MAX_WRITE_RECORDS, "param_name": "ids"},
        )
    results, deleted = [], []
    for record_id in ids:
        removed, _ = CrmRecord.objects.filter(
            organization=organization, module=module, record_id=record_id
        ).delete()
        if removed:
            deleted.append(record_id)
            results.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": record_id},
                    "message": "record deleted",
                    "status": "success",
                }
            )
        else:
            results.append(
                {
                    "code": "INVALID_DATA",
                    "details": {"id": record_id},
                    "message": "the id given seems to be invalid",
                    "status": "error",
                }
            )
    _notify(organization, module, "delete", deleted, api_domain)
    return _outcome(results, 200)


# --- Notifications (actions/watch) ----------------------------------------------------------


def _channel_number(channel_id: str) -> int | str:
    return int(channel_id) if channel_id.isdigit() else channel_id


def _watch_items(body: object) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get("watch"), list) or not body["watch"]:
        raise CrmError(400, "INVALID_DATA", "invalid data", {"api_name": "watch"})
    return body["watch"]


def _channel_expiry(organization: ZohoOrganization, value: object) -> datetime:
    moment = clock.now(VENDOR, organization.organization_id)
    parsed = parse_datetime(str(value)) if value else None
    if parsed is None or parsed <= moment:
        return moment + timedelta(seconds=CHANNEL_DEFAULT_SECONDS)
    return min(parsed, moment + timedelta(seconds=CHANNEL_MAX_SECONDS))


def _watch_error(code: str, message: str, api_name: str, index: int) -> CrmError:
    return CrmError(
        400, code, message, {"api_name": api_name, "json_path": f"$.watch[{index}].{api_name}"}
    )


def _validate_watch(item: object, index: int, *, partial: bool) -> dict:
    if not isinstance(item, dict):
        raise CrmError(400, "INVALID_DATA", "invalid data", {"json_path": f"$.watch[{index}]"})
    if not item.get("channel_id"):
        raise _watch_error("MANDATORY_NOT_FOUND", "required field not found", "channel_id", index)
    if not str(item["channel_id"]).isdigit():
        raise _watch_error("INVALID_DATA", "invalid data", "channel_id", index)
    if not partial:
        for name in ("events", "notify_url"):
            if not item.get(name):
                raise _watch_error("MANDATORY_NOT_FOUND", "required field not found", name, index)
    events = item.get("events")
    if events is not None:
        if not isinstance(events, list):
            raise _watch_error("INVALID_DATA", "invalid data", "events", index)
        for event in events:
            module, _, operation = str(event).partition(".")
            if module not in MANDATORY or operation not in ("create", "edit", "delete", "all"):
                raise _watch_error("INVALID_DATA", "invalid data", "events", index)
    if len(str(item.get("token") or "")) > 50:
        raise _watch_error("INVALID_DATA", "invalid data", "token", index)
    if item.get("notify_url") and not webhooks.target_url_allowed(item["notify_url"]):
        # The sandbox only calls loopback or its own host (see apps.sandbox.webhooks).
        raise _watch_error("INVALID_DATA", "invalid data", "notify_url", index)
    return item


def _subscribed(channel: CrmChannel, organization: ZohoOrganization, api_domain: str) -> dict:
    modules = sorted({event.split(".")[0] for event in channel.events})
    return {
        "code": "SUCCESS",
        "status": "success",
        "message": "Successfully subscribed for actions-watch of the given module",
        "details": {
            "events": [
                {
                    "channel_expiry": crm_time(channel.channel_expiry, organization),
                    "resource_uri": f"{api_domain}/crm/v6/{module}",
                    "resource_id": f"{organization.organization_id[:12]}00000{index + 1}",
                    "resource_name": module,
                    "channel_id": channel.channel_id,
                }
                for index, module in enumerate(modules)
            ]
        },
    }


@transaction.atomic
def watch_enable(*, organization: ZohoOrganization, body: object, api_domain: str) -> dict:
    """POST (enable) and PUT (replace): create or overwrite each channel."""
    answers = []
    for index, item in enumerate(_watch_items(body)):
        _validate_watch(item, index, partial=False)
        channel, _ = CrmChannel.objects.update_or_create(
            organization=organization,
            channel_id=str(item["channel_id"]),
            defaults={
                "events": item["events"],
                "token": str(item.get("token") or ""),
                "notify_url": item["notify_url"],
                "channel_expiry": _channel_expiry(organization, item.get("channel_expiry")),
                "return_affected_field_values": bool(item.get("return_affected_field_values")),
            },
        )
        answers.append(_subscribed(channel, organization, api_domain))
    return {"watch": answers}


@transaction.atomic
def watch_patch(*, organization: ZohoOrganization, body: object, api_domain: str) -> dict:
    """PATCH: change some details; with `_delete_events: true` the listed events are removed."""
    answers = []
    for index, item in enumerate(_watch_items(body)):
        _validate_watch(item, index, partial=True)
        channel = CrmChannel.objects.filter(
            organization=organization, channel_id=str(item["channel_id"])
        ).first()
        if channel is None:
            raise _watch_error(
                "INVALID_DATA", "the channel_id given seems to be invalid", "channel_id", index
            )
        if item.get("_delete_events"):
            channel.events = [e for e in channel.events if e not in (item.get("events") or [])]
        elif item.get("events"):
            channel.events = sorted(set(channel.events) | set(item["events"]))
        if item.get("token") is not None:
            channel.token = str(item["token"])
        if item.get("notify_url"):
            channel.notify_url = item["notify_url"]
        if item.get("channel_expiry"):
            channel.channel_expiry = _channel_expiry(organization, item["channel_expiry"])
        if not channel.events:
            channel.delete()
            answers.append(_unsubscribed(channel.channel_id))
            continue
        channel.save()
        answers.append(_subscribed(channel, organization, api_domain))
    return {"watch": answers}


def _unsubscribed(channel_id: str) -> dict:
    return {
        "code": "SUCCESS",
        "status": "success",
        "message": "Successfully unsubscribed from actions-watch",
        "details": {"channel_id": channel_id},
    }


@transaction.atomic
def watch_disable(*, organization: ZohoOrganization, channel_ids: list[str]) -> dict:
    ids = [value for value in channel_ids if value]
    if not ids:
        raise CrmError(
            400,
            "REQUIRED_PARAM_MISSING",
            "required param is missing",
            {"param_name": "channel_ids"},
        )
    CrmChannel.objects.filter(organization=organization, channel_id__in=ids).delete()
    return {"watch": [_unsubscribed(channel_id) for channel_id in ids]}


def watch_list(*, organization: ZohoOrganization, params: dict[str, str]) -> dict | None:
    channels = CrmChannel.objects.filter(
        organization=organization,
        channel_expiry__gt=clock.now(VENDOR, organization.organization_id),
    ).order_by("pk")
    if params.get("channel_id"):
        channels = channels.filter(channel_id=params["channel_id"])
    rows = [
        channel
        for channel in channels
        if not params.get("module")
        or any(event.startswith(f"{params['module']}.") for event in channel.events)
    ]
    if not rows:
        return None
    return {
        "watch": [
            {
                "channel_id": _channel_number(channel.channel_id),
                "events": channel.events,
                "channel_expiry": crm_time(channel.channel_expiry, organization),
                "notify_url": channel.notify_url,
                "token": channel.token,
                "return_affected_field_values": channel.return_affected_field_values,
            }
            for channel in rows
        ],
        "info": {"per_page": 200, "count": len(rows), "page": 1, "more_records": False},
    }


OPERATIONS = {"create": "insert", "edit": "update", "delete": "delete"}


def _notify(
    organization: ZohoOrganization,
    module: str,
    event: str,
    ids: list[str],
    api_domain: str,
    *,
    affected: dict[str, list[str]] | None = None,
) -> None:
    """POST one callback per live channel watching `<module>.<event>` (or `<module>.all`)."""
    if not ids:
        return
    moment = clock.now(VENDOR, organization.organization_id)
    channels = CrmChannel.objects.filter(organization=organization, channel_expiry__gt=moment)
    for channel in channels:
        if f"{module}.{event}" not in channel.events and f"{module}.all" not in channel.events:
            continue
        body = {
            "server_time": int(moment.timestamp() * 1000),
            "query_params": {},
            "module": module,
            "resource_uri": f"{api_domain}/crm/v6/{module}",
            "ids": ids,
            "operation": OPERATIONS[event],
            "channel_id": _channel_number(channel.channel_id),
            "token": channel.token,
        }
        if affected is not None and channel.return_affected_field_values:
            body["affected_fields"] = [{record_id: names} for record_id, names in affected.items()]
        webhooks.webhook_enqueue(
            vendor=VENDOR,
            account=organization.organization_id,
            kind="crm.notification",
            url=channel.notify_url,
            body=json.dumps(body, separators=(",", ":")),
        )
