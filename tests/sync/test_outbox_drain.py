"""How drains are woken and how long a connection's queue waits: changes committed while a drain
is queued or running queue no drain task of their own (one wake-up mark in the shared cache, the
real ORM broker), yet nothing committed is left unsent; a head document that failed with a short
backoff is sent again by the same drain, in queue order. The sandbox over real HTTP."""

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from apps.clients.models import Client
from apps.clients.services import client_create
from apps.quotes import services as quote_services
from apps.sandbox import faults
from apps.sandbox.zoho.models import BooksEstimate
from apps.sync import tasks
from apps.sync.engine import leases, outbox
from apps.sync.models import OutboxItem, OutboxStatus
from tests.sync.factories import make_zoho_books
from tests.sync.sandbox import point_settings_at, seed, sync
from tests.sync.test_zoho_flows import make_quote

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, settings):
    point_settings_at(settings, live_server.url)
    answers = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0, skip_xero=True)
    zoho = answers["zoho"]
    sync(
        "connect", "zoho", "--refresh-token", zoho["refresh_token"],
        "--organization-id", zoho["organization_id"], "--name", "Books",
    )  # fmt: skip
    return zoho


@pytest.fixture
def queued_tasks(settings, tmp_path, monkeypatch):
    """Wake-ups go to the real ORM broker (not run inline) and the mark to a cache every process
    shares (files here; Redis or the database in production)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    settings.SYNC_OUTBOX_COALESCE_WAKEUPS = True
    monkeypatch.setattr(Conf, "SYNC", False)
    return lambda: OrmQ.objects.filter(key=Conf.PREFIX).count()


def test_by_default_each_change_queues_its_own_drain(books, queued_tasks, settings):
    settings.SYNC_OUTBOX_COALESCE_WAKEUPS = False  # the default (a backlogged queue needs it)
    for n in range(3):
        client_create(name=f"Client {n}", email=f"client{n}@example.com")
    assert queued_tasks() == 3


def test_changes_share_one_queued_drain_and_one_committed_mid_drain_is_sent_by_it(
    books, queued_tasks, monkeypatch
):
    for n in range(5):
        client_create(name=f"Client {n}", email=f"client{n}@example.com")
    assert OutboxItem.objects.filter(status=OutboxStatus.PENDING).count() == 5
    assert queued_tasks() == 1  # one drain task for five changes, not five

    # The queued drain runs; a change committed while it runs queues nothing, and is sent.
    real_process = outbox.outbox_process
    made = []

    def process(**kwargs):
        if not made:
            made.append(client_create(name="Late", email="late@example.com"))
        return real_process(**kwargs)

    monkeypatch.setattr(outbox, "outbox_process", process)
    assert tasks.outbox_drain_task() == {OutboxStatus.DONE: 6}
    assert queued_tasks() == 1
    assert not OutboxItem.objects.exclude(status=OutboxStatus.DONE).exists()

    # The drain dropped the mark as it ended: the next change wakes a drain of its own.
    client_create(name="Next", email="next@example.com")
    assert queued_tasks() == 2


def test_a_head_document_failing_with_a_short_backoff_is_sent_again_by_the_same_drain(
    books, settings, agent_user, monkeypatch
):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # the test drains, one drain at a time
    quotes = [quote_services.quote_send(quote=make_quote(agent_user)) for _ in range(3)]
    assert outbox.outbox_drain()  # the clients, services and estimates, no faults yet
    assert not OutboxItem.objects.exclude(status=OutboxStatus.DONE).exists()
    for quote in quotes:
        quote_services.quote_accept(quote=quote)
    # Every second call answers 503 from now on: the second acceptance fails once, then the
    # third (the calls alternate), each backing off a few hundredths of a second.
    faults.fault_plan_set(
        vendor="zoho", account=books["organization_id"], error_share=0.5, error_status=503
    )
    settings.SYNC_OUTBOX_BACKOFF_BASE = 0.05

    settings.SYNC_OUTBOX_DRAIN_WAIT = 0  # as before: the drain ends at the failure
    claimed = outbox.outbox_claim(owner="probe", limit=10)
    items = list(OutboxItem.objects.filter(entity="quotes", operation="action").order_by("id"))
    # One claim takes the head and the documents queued behind it (Books sends one per call).
    assert claimed == [item.pk for item in items]
    OutboxItem.objects.filter(pk__in=claimed).update(
        status=OutboxStatus.PENDING, lease_owner="", attempts=0
    )

    settings.SYNC_OUTBOX_DRAIN_WAIT = 0  # as before: the drain ends at the failure
    assert outbox.outbox_drain() == {OutboxStatus.DONE: 1, OutboxStatus.PENDING: 1}
    second, third = (OutboxItem.objects.get(pk=item.pk) for item in items[1:])
    assert (second.status, second.attempts, second.last_http_status) == ("pending", 1, 503)
    # The third, claimed with them, went back untouched: not attempted, not even put behind.
    assert (third.status, third.attempts, third.last_error) == ("pending", 0, "")
    accepted = BooksEstimate.objects.filter(status="accepted")
    assert list(accepted.values_list("reference_number", flat=True)) == [quotes[0].number]

    # The next drain sends it; the third fails once, and the drain waits out its backoff and
    # sends it again.
    settings.SYNC_OUTBOX_DRAIN_WAIT = 2.0
    OutboxItem.objects.filter(status=OutboxStatus.PENDING).update(next_attempt_at=timezone.now())
    counts = outbox.outbox_drain()
    assert counts == {OutboxStatus.DONE: 2, OutboxStatus.PENDING: 1}  # the third failed once
    assert sorted(accepted.values_list("reference_number", flat=True)) == sorted(
        quote.number for quote in quotes
    )
    items = OutboxItem.objects.filter(entity="quotes", operation="action").order_by("id")
    assert [item.attempts for item in items] == [1, 2, 2]
    assert {item.status for item in items} == {OutboxStatus.DONE}
    # In queue order: each acceptance went after the one queued before it.
    assert [item.finished_at for item in items] == sorted(item.finished_at for item in items)


def test_a_run_claimed_together_keeps_its_leases_only_where_still_held(settings, monkeypatch):
    monkeypatch.setattr(outbox, "_kick", lambda: None)  # nothing is sent here
    settings.SYNC_OUTBOX_LEASE_SECONDS = 60
    connection = make_zoho_books()
    for n in range(3):
        client = Client.objects.create(name=f"Held {n}", email=f"held{n}@example.com")
        outbox.outbox_enqueue(connection=connection, entity="clients", obj=client)
    ids = outbox.outbox_claim(owner="a", limit=3)
    OutboxItem.objects.filter(pk=ids[2]).update(lease_owner="b")  # went to another worker
    before = dict(OutboxItem.objects.values_list("pk", "lease_until"))

    assert leases.renew(ids, "a") == 2
    after = dict(OutboxItem.objects.values_list("pk", "lease_until"))
    assert after[ids[0]] > before[ids[0]] and after[ids[1]] > before[ids[1]]
    assert after[ids[2]] == before[ids[2]]
    assert leases.release(ids, "a") == 2  # back untouched: pending, the claim's attempt undone
    assert list(OutboxItem.objects.order_by("id").values_list("status", "attempts")) == [
        ("pending", 0),
        ("pending", 0),
        ("in_flight", 1),
    ]
