"""A quote whose push failed (its service could not be bound: Books refuses an item without a
name), fixed and replayed from its journal on the staff page, is one estimate in the sandbox —
over real HTTP, through the ordinary outbox, however often the Admin clicks Replay."""

import re

import pytest

from apps.quotes import services as quote_services
from apps.sandbox.zoho.models import BooksEstimate, BooksItem
from apps.sync.journal.selectors import record_journal
from apps.sync.models import OutboxItem, OutboxStatus, SyncLog
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.sync.sandbox import books_connect
from tests.sync.test_zoho_flows import drain_until_settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, settings):
    return books_connect(settings, live_server.url)


def _sent_quote_with_unnamed_service(agent):
    # A service saved without a name (an old import): Books refuses to create its item.
    service = DocServiceFactory(name="   ")
    quote = quote_services.quote_create(created_by=agent, client=DocClientFactory())
    quote_services.quote_line_add(
        quote=quote, service=service, name="Unabridged birth certificate", quantity="1"
    )
    return service, quote_services.quote_send(quote=quote)


def _replay_form(html: str) -> dict:
    form = re.search(
        r'<form method="post" action="([^"]+)" class="journal-replay">(.*?)</form>', html, re.S
    )
    assert form, "no Replay button on the page"
    fields = dict(re.findall(r'name="(item_id|token|next)" value="([^"]*)"', form.group(2)))
    return {"action": form.group(1), **fields}


def test_failed_quote_push_fixed_and_replayed_from_its_journal_is_one_estimate(
    books, agent_user, admin_with_mfa, client
):
    service, quote = _sent_quote_with_unnamed_service(agent_user)
    drain_until_settled()
    item = OutboxItem.objects.get(entity="quotes", object_id=quote.pk)
    assert item.status == OutboxStatus.DEAD
    assert "could not be bound" in item.last_error and "name" in item.last_error
    assert BooksEstimate.objects.count() == 0

    # The refusal is in the journal: the call for this quote with the vendor's answer.
    refused = SyncLog.objects.get(
        correlation_id=item.correlation_id, method="POST", status_code=400
    )
    assert (refused.entity, refused.object_id) == ("quotes", quote.pk)
    assert "Invalid value passed for name" in refused.response_body

    # An Agent sees the failure but no Replay button and cannot replay.
    client.force_login(agent_user)
    page = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert "Sync journal" in page and "Failed" in page and "Replay this push" not in page
    # The reason in words, but no request or answer bodies (Admins only).
    assert "Invalid value passed for name" in page
    assert "Request and answer" not in page and "&quot;code&quot;" not in page

    # The Admin fixes the service, then replays from the quote's journal — twice (double click).
    service.name = "Unabridged birth certificate"
    service.save()
    client.force_login(admin_with_mfa)
    form = _replay_form(client.get(f"/quotes/{quote.pk}/").content.decode())
    assert form["item_id"] == str(item.pk)
    data = {k: form[k] for k in ("item_id", "token", "next")}
    first = client.post(form["action"], data)
    second = client.post(form["action"], data, follow=True)
    assert first.status_code == 302 and first["Location"].endswith("#sync-journal")
    assert "already replayed" in second.content.decode()
    client.force_login(agent_user)
    assert client.post(form["action"], data).status_code == 403
    drain_until_settled()

    item.refresh_from_db()
    assert item.status == OutboxStatus.DONE
    assert BooksEstimate.objects.count() == 1
    estimate = BooksEstimate.objects.get(reference_number=quote.number)
    assert BooksItem.objects.filter(name="Unabridged birth certificate").count() == 1
    assert estimate.line_items[0]["item_id"]

    # The journal tells the story, oldest first: failed (the vendor's refusal under it), replayed
    # by the Admin, sent (the estimate it made linked).
    journal = record_journal(obj=quote, user=admin_with_mfa)
    story = [e for e in reversed(journal.entries) if e.kind in ("outbound", "replay")]
    assert [(e.kind, e.status_label) for e in story] == [
        ("outbound", "Failed"),
        ("replay", ""),
        ("outbound", "Sent"),
    ]
    failed, replay, sent = story
    assert "Invalid value passed for name" in failed.detail
    assert "Create items: refused (HTTP 400)" in [call.summary for call in failed.calls]
    assert all(call.response_body for call in failed.calls if not call.ok)  # Admins: bodies
    assert replay.who == admin_with_mfa.get_username() and f"#{item.pk}" in replay.detail
    assert sent.replay is None and failed.replay is None
    assert any(estimate.estimate_number in text for text, _ in sent.links)
    assert "Create estimates: done (HTTP 201)" in [call.summary for call in sent.calls]
    assert all(call.when > replay.when for call in sent.calls)
