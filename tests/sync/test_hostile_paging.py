"""A vendor whose page context always says "more" (issue 11, item 5): the pull stops at the same
page seen twice or at the page cap, with a clear error, instead of looping on the day's budget."""

import json

import pytest
import responses

from apps.clients.models import Client
from apps.sync.engine import pull as engine
from apps.sync.models import Entity, RunStatus, SyncCursor, SyncRun
from tests.sync.factories import make_zoho_books
from tests.sync.test_pull_unit import CONTACTS_URL, books_contact, books_page

pytestmark = pytest.mark.django_db


@responses.activate
def test_the_same_page_again_stops_the_pull():
    connection = make_zoho_books()
    responses.get(
        CONTACTS_URL, json=books_page([books_contact(1), books_contact(2)], page=1, more=True)
    )  # responses repeats the last answer: the vendor loops on page 1's records

    with pytest.raises(engine.PullStopped) as stopped:
        engine.pull(connection=connection, entity=Entity.CLIENTS)

    assert "same page twice" in stopped.value.message
    assert len(responses.calls) == 2
    run = SyncRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "same page twice" in run.last_error
    assert run.finished_at is not None
    assert (run.pages, run.created) == (1, 2)  # the first page was applied, once
    assert Client.objects.count() == 2
    assert SyncCursor.objects.get().modified_at is None  # the cursor did not move
    # A later pull starts afresh instead of resuming the loop.
    responses.replace(
        responses.GET, CONTACTS_URL, json=books_page([books_contact(3)], page=1, more=False)
    )
    again = engine.pull(connection=connection, entity=Entity.CLIENTS)
    assert again.pk != run.pk and again.status == RunStatus.SUCCEEDED


@responses.activate
def test_new_pages_forever_stop_at_the_page_cap(settings):
    settings.SYNC_PULL_MAX_PAGES = 4
    connection = make_zoho_books()
    served = []

    def endless(request):
        served.append(1)
        body = books_page([books_contact(len(served))], page=len(served), more=True)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    responses.add_callback(responses.GET, CONTACTS_URL, callback=endless)

    with pytest.raises(engine.PullStopped) as stopped:
        engine.pull(connection=connection, entity=Entity.CLIENTS)

    assert "SYNC_PULL_MAX_PAGES" in stopped.value.message
    assert len(served) == 5  # four applied, the fifth refused
    run = SyncRun.objects.get()
    assert (run.status, run.pages, run.created) == (RunStatus.FAILED, 4, 4)
    assert "4 pages" in run.last_error
