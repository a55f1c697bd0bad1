"""The matching review of a first connection, end to end against the sandbox over real HTTP: the
admin's Connect Xero to an account of 300 contacts (120 of them ours: 40 by e-mail in another
case, 40 by tax number, 40 by a name that differs only in punctuation) holds everything until an
Admin approves; approving runs the ordinary sync with those decisions."""

from urllib.parse import urlsplit

import pytest
from django.db import connection as db
from django.utils import timezone

from apps.clients.models import Client
from apps.sandbox.xero import services as xero_vendor
from apps.sandbox.xero.models import XeroContact, XeroTenant
from apps.sandbox.xero.seed import seed_xero
from apps.sync import tasks
from apps.sync.engine import outbox
from apps.sync.matching.models import Decision, MatchPlan, MatchRow, PlanStatus, Side
from apps.sync.models import Binding, Connection, OutboxItem, SyncRun
from tests.clients.factories import ClientFactory
from tests.sync.sandbox import point_settings_at, seed
from tests.sync.test_oauth_flows import consent

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://testserver/sync/oauth/xero/callback/"


def table_counts() -> dict[str, int]:
    """Rows in every table of ours (the sandbox's tables are the vendor's side)."""
    with db.cursor() as cursor:
        counts = {}
        for table in db.introspection.table_names(cursor):
            if table.startswith("sandbox_"):
                continue
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - names from the schema
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def account(live_server, settings):
    """A Xero organisation of 300 contacts, 120 of them clients we already have, and 25 clients
    of ours the books do not know."""
    point_settings_at(settings, live_server.url)
    answer = seed_xero(tenants=1, contacts=0, items=0, redirect_uris=[CALLBACK])
    tenant = XeroTenant.objects.get(tenant_id=answer["tenants"][0]["tenant_id"])
    ours = {}
    for n in range(40):  # the same e-mail in another letter case; names quite different
        ours[f"email-{n}"] = ClientFactory(name=f"Buyer {n:03d}", email=f"buyer{n:03d}@shop.test")
        xero_vendor.contact_save(
            tenant=tenant,
            data={"Name": f"Shop Buyer No {n:03d}", "EmailAddress": f"Buyer{n:03d}@SHOP.test"},
        )
    for n in range(40):  # the same tax number, written differently; no e-mail in the books
        ours[f"tax-{n}"] = ClientFactory(
            name=f"Taxpayer {n:03d}", email=f"taxpayer{n:03d}@here.test", tax_number=f"4{n:09d}"
        )
        xero_vendor.contact_save(
            tenant=tenant, data={"Name": f"T P {n:03d} CC", "TaxNumber": f"4-{n:09d}"}
        )
    for n in range(40):  # "(Pty) Ltd" in the books, "Pty Ltd" here; e-mails that differ
        ours[f"name-{n}"] = ClientFactory(
            name=f"Harbour Traders {n:03d} Pty Ltd", email=f"office{n:03d}@harbour.test"
        )
        xero_vendor.contact_save(
            tenant=tenant,
            data={
                "Name": f"Harbour Traders {n:03d} (Pty) Ltd.",
                "EmailAddress": f"accounts{n:03d}@harbour-books.test",
            },
        )
    for n in range(180):
        xero_vendor.contact_save(
            tenant=tenant,
            data={"Name": f"New Customer {n:03d}", "EmailAddress": f"new{n:03d}@books.test"},
        )
    for n in range(25):
        ClientFactory(name=f"Walk-in {n:03d}", email=f"walkin{n:03d}@here.test")
    assert XeroContact.objects.filter(tenant=tenant).count() == 300
    return {"tenant": tenant, "ours": ours}


def connect_from_the_admin(admin_client_mfa):
    start = admin_client_mfa.post("/sync/connect/xero/")
    tenants = [str(t) for t in XeroTenant.objects.values_list("tenant_id", flat=True)]
    callback = consent(
        start["Location"], {"decision": "allow", "tenant": tenants}, signed_in=admin_client_mfa
    )
    parts = urlsplit(callback)
    answer = admin_client_mfa.get(f"{parts.path}?{parts.query}")
    if "/bank-account/" in answer["Location"]:  # one organisation: its bank account comes next
        answer = admin_client_mfa.post(answer["Location"], {"account": "090"})
    return answer


def test_connecting_shows_a_plan_writes_nothing_until_approved_then_links_120(
    account, admin_client_mfa
):
    clients_before = Client.objects.count()
    answer = connect_from_the_admin(admin_client_mfa)
    plan = MatchPlan.objects.get()
    assert plan.status == PlanStatus.OPEN
    assert answer.status_code == 302
    assert answer["Location"] == f"/admin/sync/matchplan/{plan.pk}/change/"

    remote = MatchRow.objects.filter(plan=plan, entity="clients", side=Side.REMOTE)
    assert remote.count() == 300
    assert remote.filter(decision=Decision.LINK).count() == 120
    assert remote.filter(decision=Decision.CREATE).count() == 180
    assert not remote.filter(decision=Decision.CHOOSE).exists()
    for key, rule in [("email", "email"), ("tax", "tax_number"), ("name", "name")]:
        expected = {c.pk for k, c in account["ours"].items() if k.startswith(f"{key}-")}
        linked = set(remote.filter(rule=rule).values_list("object_id", flat=True))
        assert linked == expected, rule
    name_scores = set(remote.filter(rule="name").values_list("score", flat=True))
    assert all(0 < score < 1 for score in name_scores)  # alike, not equal as written
    local = MatchRow.objects.filter(plan=plan, side=Side.LOCAL, entity="clients")
    assert local.count() == 25 and set(local.values_list("decision", flat=True)) == {"leave"}

    # Held: a local edit queues its push, but the scheduled pull and the outbox drain change
    # nothing, here (every table's rows) or there (the books' contacts).
    ours = account["ours"]["email-0"]
    ours.phone = "+27 21 555 0000"
    ours.save()
    item = OutboxItem.objects.get(object_id=ours.pk)
    before = table_counts()
    vendor_before = XeroContact.objects.count()
    assert tasks.pull_task("clients") == []
    assert tasks.pull_task("services") == []
    outbox.outbox_drain()
    item.refresh_from_db()
    assert item.status == "pending" and "review the matching" in item.last_error
    assert table_counts() == before
    assert XeroContact.objects.count() == vendor_before
    assert Client.objects.count() == clients_before and not Binding.objects.exists()
    assert not SyncRun.objects.exists()

    page = admin_client_mfa.get(answer["Location"])
    assert page.status_code == 200
    assert b"Approve and start the first sync" in page.content

    done = admin_client_mfa.post(answer["Location"], {"action": "approve"})
    assert done.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPLIED and plan.decided_by is not None
    item.refresh_from_db()  # what waited behind the review went at once: an update, not a copy
    assert item.status == "done"

    xero = Connection.objects.get(provider="xero")
    bindings = Binding.objects.filter(connection=xero, entity="clients")
    assert bindings.count() == 300
    linked = set(bindings.values_list("object_id", flat=True))
    assert {c.pk for c in account["ours"].values()} <= linked
    assert Client.objects.count() == clients_before + 180  # 180 created, none twice
    assert bindings.values("remote_id").distinct().count() == 300
    assert bindings.values("object_id").distinct().count() == 300
    # A name-matched client takes the books' values on linking (as the ordinary link does).
    account["ours"]["name-0"].refresh_from_db()
    assert account["ours"]["name-0"].name == "Harbour Traders 000 (Pty) Ltd."


def test_the_admin_changes_decisions_in_bulk_then_applies(account, admin_client_mfa):
    answer = connect_from_the_admin(admin_client_mfa)
    plan = MatchPlan.objects.get()
    review = answer["Location"]
    by_name = list(
        MatchRow.objects.filter(plan=plan, rule="name").order_by("id").values_list("pk", flat=True)
    )
    walk_ins = list(
        MatchRow.objects.filter(plan=plan, side=Side.LOCAL)
        .order_by("id")
        .values_list("pk", flat=True)[:5]
    )
    # Ten name matches are not ours after all; five walk-ins go to the books.
    answer = admin_client_mfa.post(review, {"action": "create", "rows": by_name[:10]})
    assert answer.status_code == 302
    admin_client_mfa.post(review + "?tab=local", {"action": "push", "rows": walk_ins})
    # A push for a record in the books is refused, naming it, and changes nothing.
    refused = admin_client_mfa.post(review, {"action": "push", "rows": by_name[10:12]}, follow=True)
    assert "does not apply to" in refused.content.decode()
    assert MatchRow.objects.filter(pk__in=by_name[10:12], decision="link").count() == 2
    # One row changed on its own: linked to a walk-in nobody matched.
    row = MatchRow.objects.get(pk=by_name[12])
    page = admin_client_mfa.get(review + "?tab=link")
    assert f'name="row-{row.pk}"'.encode() in page.content
    admin_client_mfa.post(review, {"action": "save", f"row-{row.pk}": "create"})
    row.refresh_from_db()
    assert row.decision == "create" and row.changed_by_admin

    xero = Connection.objects.get(provider="xero")
    clients_before = Client.objects.count()
    admin_client_mfa.post(review, {"action": "approve"})
    outbox.outbox_drain()
    bindings = Binding.objects.filter(connection=xero, entity="clients")
    assert Client.objects.count() == clients_before + 180 + 11
    pushed = OutboxItem.objects.filter(connection=xero, entity="clients", status="done")
    walk_in_ids = set(MatchRow.objects.filter(pk__in=walk_ins).values_list("object_id", flat=True))
    assert set(pushed.values_list("object_id", flat=True)) == walk_in_ids
    assert bindings.count() == 300 + 5
    assert (
        XeroContact.objects.filter(name__startswith="Walk-in").count() == 5
    )  # sent: only those chosen


def test_cli_review_holds_without_it_links_by_email(account):
    from tests.sync.sandbox import sync

    tenant = account["tenant"]
    answer = seed_xero(tenants=1, contacts=0, items=0, redirect_uris=[CALLBACK])
    assert answer["tenants"][0]["tenant_id"] == str(tenant.tenant_id)
    summary = sync("connect", "xero", "--refresh-token", answer["refresh_token"], "--review")
    review = summary["reviews"][0]
    assert review["status"] == "open"
    assert review["entities"]["clients"]["link"] == 120
    assert review["entities"]["clients"]["create"] == 180
    run = sync("run", "--entity", "clients")
    assert run["ok"] is False and "review the matching" in run["runs"][0]["error"]
    assert not Binding.objects.exists()

    # Without --review (a reconnect after the review is discarded): the rules as today.
    MatchPlan.objects.update(status=PlanStatus.DISCARDED)
    run = sync("run", "--entity", "clients")
    assert run["ok"] is True
    assert run["runs"][0]["linked"] == 40  # e-mail only: tax numbers and names are not rules
    assert run["runs"][0]["created"] == 260


def test_an_empty_account_needs_no_review(live_server, settings, admin_client_mfa):
    point_settings_at(settings, live_server.url)
    seed_xero(tenants=1, contacts=0, items=0, redirect_uris=[CALLBACK])
    ClientFactory.create_batch(3)
    answer = connect_from_the_admin(admin_client_mfa)
    assert answer["Location"].endswith("/admin/sync/connection/")
    plan = MatchPlan.objects.get()
    assert plan.status == PlanStatus.APPLIED and not plan.rows.exists()
    assert plan.applied_at <= timezone.now()


def test_demo_connect_approves_its_review_automatically(live_server, settings):
    import io

    from django.core.management import call_command

    point_settings_at(settings, live_server.url)
    seed(contacts=5, items=2, documents=0, crm_contacts=0, deals=0)
    ClientFactory(name="Someone", email="customer0001@xero-sandbox.test")
    out = io.StringIO()
    call_command("sync_connect_sandbox", stdout=out)
    text = out.getvalue()
    assert "approved automatically (demo)" in text
    assert not MatchPlan.objects.exclude(status=PlanStatus.APPLIED).exists()
    assert MatchPlan.objects.filter(source="demo").exists()
