"""Property test (issue 11): arbitrary JSON as a vendor's page, or as records inside a plausible
page, fed to each connector's pull and to the webhook receivers. Any input ends in success or a
recorded, clean failure: never an unhandled exception, never a run left running, never a page
half-written (every binding comes from a record that passed the schema, every rejected record is
in quarantine)."""

import json
import re

import pytest
import responses
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.sync.connectors.zoho.books import webhooks as books_webhooks
from apps.sync.engine import pull as engine
from apps.sync.engine.records import MalformedAnswer
from apps.sync.models import Binding, Entity, QuarantinedRecord, RunStatus, SyncRun
from tests.sync.factories import XERO_API, ZOHO_API, make_xero, make_zoho_books

pytestmark = pytest.mark.django_db

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def record_like(keys: list[str]):
    """Dicts over the fields the connector reads, each holding any JSON value (or absent)."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(keys, json_values))


# (connection factory, entity, URL pattern, list key, id field, fields)
CASES = {
    "books contacts": (
        make_zoho_books,
        Entity.CLIENTS,
        f"{ZOHO_API}/books/v3/contacts",
        "contacts",
        "contact_id",
        [
            "contact_id",
            "contact_name",
            "email",
            "company_name",
            "billing_address",
            "last_modified_time",
            "status",
        ],
    ),
    "books items": (
        make_zoho_books,
        Entity.SERVICES,
        f"{ZOHO_API}/books/v3/items",
        "items",
        "item_id",
        ["item_id", "name", "rate", "sku", "unit", "last_modified_time", "status"],
    ),
    "books invoices": (
        make_zoho_books,
        Entity.INVOICES,
        f"{ZOHO_API}/books/v3/invoices",
        "invoices",
        "invoice_id",
        ["invoice_id", "invoice_number", "status", "total", "line_items", "last_modified_time"],
    ),
    "xero contacts": (
        make_xero,
        Entity.CLIENTS,
        f"{XERO_API}/api.xro/2.0/Contacts",
        "Contacts",
        "ContactID",
        ["ContactID", "Name", "EmailAddress", "Phones", "Addresses", "UpdatedDateUTC"],
    ),
    "xero items": (
        make_xero,
        Entity.SERVICES,
        f"{XERO_API}/api.xro/2.0/Items",
        "Items",
        "ItemID",
        ["ItemID", "Code", "Name", "SalesDetails", "UpdatedDateUTC"],
    ),
}


def page_bodies(case):
    _, _, _, list_key, id_field, fields = CASES[case]
    rows = st.lists(
        st.one_of(
            record_like(fields),
            record_like(fields).map(lambda row, f=id_field: {f: "r-1", **row}),
            json_values,
        ),
        max_size=5,
    )
    plausible = st.fixed_dictionaries(
        {list_key: rows},
        optional={
            "page_context": json_values,
            "pagination": json_values,
            "code": st.just(0),
        },
    )
    return st.one_of(json_values, plausible)


def run_pull(case, body):
    make, entity, url, *_ = CASES[case]
    with transaction.atomic():
        connection = make()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.get(re.compile(re.escape(url) + r".*"), body=json.dumps(body))
            try:
                run = engine.pull(connection=connection, entity=entity)
            except (MalformedAnswer, engine.PullStopped):
                run = SyncRun.objects.get(connection=connection)
                assert run.status == RunStatus.FAILED and run.last_error
            else:
                assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
        assert not SyncRun.objects.filter(status=RunStatus.RUNNING).exists()
        _, _, _, list_key, id_field, _ = CASES[case]
        rows = body.get(list_key) if isinstance(body, dict) else None
        if isinstance(rows, list):
            # Never half a page: what was bound passed the schema, what did not is quarantined.
            bound = set(Binding.objects.values_list("remote_id", flat=True))
            offered = {
                str(row.get(id_field))
                for row in rows
                if isinstance(row, dict) and row.get(id_field)
            }
            assert bound <= offered
            if run.status != RunStatus.FAILED:
                assert QuarantinedRecord.objects.count() + len(bound) <= len(rows)
                if any(not isinstance(row, dict) for row in rows):
                    assert QuarantinedRecord.objects.exists()
        transaction.set_rollback(True)


@pytest.mark.parametrize("case", list(CASES))
def test_any_json_page_ends_in_success_or_a_recorded_failure(case):
    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(body=page_bodies(case))
    def check(body):
        run_pull(case, body)

    check()


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(body=json_values)
def test_any_signed_json_to_the_books_webhook_is_stored_or_refused(client, settings, body):
    settings.ZOHO_BOOKS_WEBHOOK_SECRET = "BooksSecret0123456789"
    with transaction.atomic():
        connection = make_zoho_books()
        org = connection.remote_account_id
        raw = json.dumps(body).encode()
        signature = books_webhooks.books_signature(
            settings.ZOHO_BOOKS_WEBHOOK_SECRET, {"organization_id": org}, raw
        )
        answer = client.post(
            f"/sync/webhooks/zoho/books/?organization_id={org}",
            data=raw,
            content_type="application/json",
            headers={"X-Zoho-Webhook-Signature": signature},
        )
        assert answer.status_code in (200, 400)
        transaction.set_rollback(True)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(body=json_values)
def test_any_json_to_the_crm_receiver_is_refused_cleanly(client, settings, body):
    settings.ZOHO_CRM_WEBHOOK_TOKEN = "crm-channel-token-42"
    answer = client.post("/sync/webhooks/zoho/crm/", json.dumps(body), "application/json")
    assert answer.status_code in (200, 400, 401)
