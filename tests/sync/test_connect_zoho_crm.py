"""The admin's Connect Zoho sets up the organisation's Zoho CRM connection too when the consent
covers CRM, and only then (issue 13), through the OAuth flow against the sandbox over HTTP."""

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from apps.sandbox.zoho.models import CrmRecord
from apps.sync.engine import outbox
from apps.sync.models import Connection, SyncLog
from tests.clients.factories import ClientFactory
from tests.sync.sandbox import point_settings_at, seed
from tests.sync.test_oauth_flows import consent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def zoho(live_server, settings):
    point_settings_at(settings, live_server.url)
    return seed(
        contacts=0,
        items=0,
        documents=0,
        crm_contacts=0,
        deals=0,
        skip_xero=True,
        callback_base_url="http://testserver",
    )["zoho"]


def _connect(admin_client_mfa, zoho, *, scope_filter=None):
    start = admin_client_mfa.post("/sync/connect/zoho/", {"region": "com"})
    authorize = start["Location"]
    if scope_filter is not None:
        parts = urlsplit(authorize)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["scope"] = ",".join(s for s in query["scope"].split(",") if scope_filter(s))
        authorize = urlunsplit(parts._replace(query=urlencode(query)))
    callback = consent(
        authorize,
        {"decision": "approve", "organization_id": zoho["organization_id"]},
        signed_in=admin_client_mfa,
    )
    parts = urlsplit(callback)
    return admin_client_mfa.get(f"{parts.path}?{parts.query}")


def test_consent_covering_crm_makes_the_crm_connection(zoho, admin_client_mfa):
    done = _connect(admin_client_mfa, zoho)
    assert done.status_code == 302
    books = Connection.objects.get(provider="zoho_books")
    crm = Connection.objects.get(provider="zoho_crm")
    assert crm.credential_id == books.credential_id
    assert crm.remote_account_id == books.remote_account_id == zoho["organization_id"]
    # It works: a client pushed to CRM lands there (the demo's deals need exactly this).
    ClientFactory(name="Nomsa Dlamini", email="nomsa@example.test")
    outbox.outbox_drain()
    assert CrmRecord.objects.filter(module="Contacts", data__Email="nomsa@example.test").exists()


def test_consent_without_crm_makes_books_only_and_never_marks_the_token(zoho, admin_client_mfa):
    done = _connect(admin_client_mfa, zoho, scope_filter=lambda s: s.startswith("ZohoBooks"))
    assert done.status_code == 302
    assert list(Connection.objects.values_list("provider", flat=True)) == ["zoho_books"]
    books = Connection.objects.get()
    assert books.status == "connected" and not books.credential.last_refresh_error
    # The one probe CRM refused (a scope mismatch), with no refresh after it.
    probes = SyncLog.objects.filter(url__contains="/crm/v6/")
    assert [(p.method, p.status_code) for p in probes] == [("GET", 401)]
    assert books.credential.refresh_count == 0
