"""Zoho Books webhooks and CRM notifications: verified over the raw body, stored once, processed
in a task that re-fetches from the vendor. Unit checks through the test client, then the
done-when scenarios against the sandbox over real HTTP (the sandbox sends the webhooks)."""

import json
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from apps.clients.models import Client
from apps.sandbox.models import WebhookDelivery
from apps.sandbox.zoho import books, crm
from apps.sandbox.zoho.models import BooksContact, BooksWebhook, CrmChannel, CrmRecord
from apps.sync.connectors.zoho.books import webhooks as books_webhooks
from apps.sync.connectors.zoho.crm import webhooks as crm_webhooks
from apps.sync.models import Binding, Connection
from apps.sync.selectors import sync_health
from apps.sync.webhooks import services as webhook_services
from apps.sync.webhooks.models import CrmWatchChannel, InboundWebhook, WebhookRefusal
from tests.sync.factories import make_zoho_books
from tests.sync.sandbox import books_connect, sync

SECRET = "BooksSecret0123456789"
TOKEN = "crm-channel-token-42"
BOOKS_URL = "/sync/webhooks/zoho/books/"
CRM_URL = "/sync/webhooks/zoho/crm/"


@pytest.fixture
def secrets(settings):
    settings.ZOHO_BOOKS_WEBHOOK_SECRET = SECRET
    settings.ZOHO_CRM_WEBHOOK_TOKEN = TOKEN


def signed_post(client, body: bytes, *, org: str, secret: str = SECRET):
    signature = books_webhooks.books_signature(secret, {"organization_id": org}, body)
    return client.post(
        f"{BOOKS_URL}?organization_id={org}",
        data=body,
        content_type="application/json",
        headers={"X-Zoho-Webhook-Signature": signature},
    )


def refusals(reason: str) -> int:
    return sum(WebhookRefusal.objects.filter(reason=reason).values_list("count", flat=True))


# --- receiver, no vendor needed ------------------------------------------------------------------
@pytest.mark.django_db
def test_books_receiver_refuses_forged_and_malformed_and_stores_once(client, secrets):
    # Inside the test's transaction on_commit never fires: deliveries are stored, not processed.
    books_connection = make_zoho_books()
    org = books_connection.remote_account_id
    body = json.dumps({"contact": {"contact_id": "77", "contact_name": "A"}}).encode()

    forged = signed_post(client, body, org=org, secret="SomeoneElsesSecret1")
    assert forged.status_code == 401 and forged.content == b""
    unsigned = client.post(f"{BOOKS_URL}?organization_id={org}", body, "application/json")
    assert unsigned.status_code == 401
    # The query string is signed too: another organisation's id breaks the signature.
    moved = client.post(
        f"{BOOKS_URL}?organization_id=other",
        body,
        "application/json",
        headers={"X-Zoho-Webhook-Signature": forged.request.get("HTTP_X_ZOHO_WEBHOOK_SIGNATURE")},
    )
    assert moved.status_code == 401
    assert signed_post(client, b"{not json", org=org).status_code == 400
    assert signed_post(client, b'{"code": 0, "message": "hi"}', org=org).status_code == 400
    assert InboundWebhook.objects.count() == 0
    assert (refusals("forged"), refusals("malformed")) == (3, 2)

    first = signed_post(client, body, org=org)
    again = signed_post(client, body, org=org)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.content == b"" and "Set-Cookie" not in first.headers
    row = InboundWebhook.objects.get()
    assert (row.source, row.event, row.status, row.connection) == (
        "zoho_books",
        "contact",
        "received",
        books_connection,
    )
    # An entity we do not apply is still acknowledged (a 4xx would make Books retry it).
    estimate = signed_post(client, b'{"estimate": {"estimate_id": "9"}}', org=org)
    assert estimate.status_code == 200
    webhooks = sync_health()["webhooks"]
    assert (webhooks["forged"], webhooks["malformed"], webhooks["received_24h"]) == (3, 2, 2)
    estimate_row = InboundWebhook.objects.get(event="estimate")
    assert webhook_services.webhook_process(webhook_id=estimate_row.pk) == "ignored"


@pytest.mark.django_db
def test_crm_receiver_checks_token_and_channel(client, secrets):
    books_connection = make_zoho_books()
    from apps.sync.connectors.zoho.connect import connection_link_zoho_crm

    crm_connection = connection_link_zoho_crm(books=books_connection)
    CrmWatchChannel.objects.create(connection=crm_connection, channel_id="1000000000042")
    notice = {
        "module": "Contacts",
        "operation": "update",
        "ids": ["5"],
        "channel_id": 1000000000042,
        "token": TOKEN,
    }

    def post(**changes):
        return client.post(CRM_URL, json.dumps({**notice, **changes}), "application/json")

    assert post(token="guess").status_code == 401
    assert post(channel_id=99).status_code == 401
    assert client.post(CRM_URL, b"[]", "application/json").status_code == 400
    assert post(ids=None).status_code == 400
    assert InboundWebhook.objects.count() == 0
    assert (refusals("forged"), refusals("malformed")) == (2, 2)
    # GET is not a delivery.
    assert client.get(CRM_URL).status_code == 405
    # A genuine one is stored without the channel token, so the admin never shows the secret.
    assert post().status_code == 200
    stored = InboundWebhook.objects.get()
    assert TOKEN not in stored.body
    assert json.loads(stored.body)["ids"] == ["5"]


# --- done when: over real HTTP, the sandbox sending -------------------------------------------
@pytest.fixture
def live(live_server, settings, secrets):
    zoho = books_connect(settings, live_server.url, crm=True, contacts=3, crm_contacts=2)
    sync("run", "--connection", "Books", "--entity", "clients", "--direction", "pull")
    return zoho


def test_connect_registers_books_webhooks_and_a_crm_channel(live):
    hooks = BooksWebhook.objects.order_by("entity", "webhook_name")
    # Per entity, one for every event and one for deletions (told apart by a signed query).
    assert [(hook.entity, hook.events) for hook in hooks] == [
        ("contact", []),
        ("contact", ["deleted"]),
        ("invoice", []),
        ("invoice", ["deleted"]),
        ("item", []),
        ("item", ["deleted"]),
    ]
    assert all(hook.secret == SECRET for hook in hooks)
    assert all(hook.url.endswith(BOOKS_URL) for hook in hooks)
    ours = CrmWatchChannel.objects.get()
    theirs = CrmChannel.objects.get()
    assert (theirs.channel_id, theirs.token, theirs.events) == (
        ours.channel_id,
        TOKEN,
        ["Contacts.all"],
    )
    assert theirs.notify_url.endswith(CRM_URL)
    assert ours.expires_at > timezone.now() + timedelta(hours=23)


def test_contact_edited_in_books_reaches_the_client_through_its_webhook(live):
    contact = BooksContact.objects.order_by("id").first()
    binding = Binding.objects.get(entity="clients", remote_id=contact.contact_id)
    books.contact_update(contact=contact, data={"phone": "+27 21 555 0199"})

    client = Client.objects.get(pk=binding.object_id)
    assert client.phone == "+27 21 555 0199"
    row = InboundWebhook.objects.get()
    assert (row.status, row.attempts, row.event) == ("processed", 1, "contact")
    assert WebhookDelivery.objects.get().last_status_code == 200


def test_forged_webhook_gets_401_and_changes_nothing(live, live_server):
    import requests

    contact = BooksContact.objects.order_by("id").first()
    client = Client.objects.get(email__iexact=contact.email)
    before = client.phone
    body = json.dumps({"contact": {**books.contact_json(contact, contact.organization)}})
    org = live["organization_id"]
    answer = requests.post(
        f"{live_server.url}{BOOKS_URL}?organization_id={org}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Zoho-Webhook-Signature": books_webhooks.books_signature(
                "NotTheSecret12345", {"organization_id": org}, body.encode()
            ),
        },
        timeout=10,
    )
    assert answer.status_code == 401 and answer.content == b""
    client.refresh_from_db()
    assert client.phone == before
    assert not InboundWebhook.objects.exists()
    assert sync("status")["webhooks"]["forged"] == 1


def test_webhook_delivered_twice_is_processed_once(live):
    from apps.sandbox import faults

    org = live["organization_id"]
    faults.fault_plan_set(vendor="zoho", account=org, webhook_duplicate=True)
    contact = BooksContact.objects.order_by("id").first()
    books.contact_update(contact=contact, data={"company_name": "Twice Delivered Ltd"})

    deliveries = WebhookDelivery.objects.filter(kind="books.contact.updated")
    assert [d.last_status_code for d in deliveries] == [200, 200]
    row = InboundWebhook.objects.get()
    assert (row.status, row.attempts) == ("processed", 1)
    assert Client.objects.get(email__iexact=contact.email).company == "Twice Delivered Ltd"


def test_crm_contact_edit_arrives_by_notification_and_the_channel_is_renewed(live):
    crm_connection = Connection.objects.get(provider="zoho_crm")
    record = CrmRecord.objects.filter(module="Contacts").order_by("id").first()
    crm.records_update(
        organization=record.organization,
        module="Contacts",
        body={"data": [{"Phone": "+27 11 000 4242"}]},
        api_domain=live_api_domain(),
        record_id=record.record_id,
    )
    row = InboundWebhook.objects.get(source="zoho_crm")
    assert (row.status, row.event, row.connection) == (
        "processed",
        "Contacts.update",
        crm_connection,
    )
    bound = Binding.objects.get(connection=crm_connection, remote_id=record.record_id)
    assert Client.objects.get(pk=bound.object_id).phone == "+27 11 000 4242"

    channel = CrmWatchChannel.objects.get()
    assert crm_webhooks.crm_watch_renew_due() == []  # a day left: nothing to do
    channel.expires_at = timezone.now() + timedelta(hours=2)
    channel.save()
    from apps.sync.connectors.zoho.tasks import crm_watch_renew_task

    assert crm_watch_renew_task() == [channel.channel_id]
    assert BooksWebhook.objects.count() == 6  # the Books webhooks exist: none added twice
    channel.refresh_from_db()
    assert channel.expires_at > timezone.now() + timedelta(hours=23)
    remote = CrmChannel.objects.get()
    assert remote.channel_expiry > timezone.now() + timedelta(hours=23)


def live_api_domain() -> str:
    from django.conf import settings

    return settings.ZOHO_API_URL


def test_our_own_new_contact_notified_mid_push_is_not_duplicated(live):
    before = Client.objects.count()
    client = Client.objects.create(name="No Email Person")  # no e-mail to match it by

    assert Client.objects.count() == before + 1
    crm_connection = Connection.objects.get(provider="zoho_crm")
    assert Binding.objects.filter(connection=crm_connection, object_id=client.pk).exists()
    notices = InboundWebhook.objects.filter(event__in=["Contacts.insert", "contact"])
    assert notices.count() == 2  # CRM's insert notification and Books' contact webhook
    assert all("left to the pull" in notice.result for notice in notices)


@pytest.mark.django_db
def test_admin_lists_webhooks_and_reprocesses_them_agents_cannot(
    admin_client_mfa, agent_user, monkeypatch, django_capture_on_commit_callbacks
):
    books_connection = make_zoho_books()
    row = InboundWebhook.objects.create(
        source="zoho_books",
        connection=books_connection,
        dedupe_key="zoho_books:abc",
        event="contact",
        body="{}",
        status="failed",
        last_error="Zoho Books: 503",
    )
    queued = []
    monkeypatch.setattr(webhook_services, "_queue", queued.append)
    page = admin_client_mfa.get("/admin/sync/inboundwebhook/")
    assert page.status_code == 200 and "Failed" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client_mfa.post(
            "/admin/sync/inboundwebhook/",
            {"action": "reprocess", "_selected_action": [row.pk]},
            follow=True,
        )
    assert answer.status_code == 200
    row.refresh_from_db()
    assert row.status == "received"
    assert queued == [row.pk]
    assert admin_client_mfa.get("/admin/sync/webhookrefusal/").status_code == 200
    assert admin_client_mfa.get("/admin/sync/crmwatchchannel/").status_code == 200
    agent = DjangoClient()
    agent.force_login(agent_user)
    assert agent.get("/admin/sync/inboundwebhook/").status_code == 403


@pytest.mark.django_db
def test_failed_webhook_processing_alerts_admins_once(settings, mailoutbox):
    from apps.sync.selectors import sync_health_alert

    settings.ADMINS = [("Ops", "ops@example.com")]
    InboundWebhook.objects.create(
        source="zoho_crm", dedupe_key="zoho_crm:x", event="Contacts.update", status="failed"
    )
    assert sync_health_alert() is True
    assert sync_health_alert() is False
    assert len(mailoutbox) == 1 and "inbound webhook(s) failed" in mailoutbox[0].body


def test_no_call_log_holds_the_webhook_secret_or_the_channel_token(live, admin_client_mfa):
    """Issue 11, item 2: POST /settings/webhooks sent the secret and Books echoed it; both
    bodies were stored in clear and shown in the admin. The connector names its secret fields
    and the transport masks their values, whatever the key list."""
    from apps.sync.models import SyncLog

    registrations = SyncLog.objects.filter(method="POST", url__contains="settings/webhooks")
    assert registrations.count() == 6  # per entity: every event, and deletions
    assert all("[redacted]" in log.request_body for log in registrations)
    assert all("[redacted]" in log.response_body for log in registrations)
    for log in SyncLog.objects.all():
        for text in (log.url, log.request_body, log.response_body):
            assert SECRET not in text, (log.method, log.url)
            assert TOKEN not in text, (log.method, log.url)
    shown = admin_client_mfa.get(
        f"/admin/sync/synclog/{registrations.first().pk}/change/"
    ).content.decode()
    assert "settings/webhooks" in shown
    assert SECRET not in shown


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_refused_and_counted(client, secrets, settings):
    """Issue 11, item 9: Django answered 400 before verification and nothing counted it."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    connection = make_zoho_books()
    body = json.dumps({"contact": {"contact_id": "1", "notes": "x" * 20_000}}).encode()
    answer = signed_post(client, body, org=connection.remote_account_id)
    assert answer.status_code == 413
    assert refusals("too_large") == 1
    assert sync_health()["webhooks"]["too_large"] == 1
    assert InboundWebhook.objects.count() == 0
    crm = client.post(CRM_URL, body, "application/json")
    assert crm.status_code == 413
    assert refusals("too_large") == 2
