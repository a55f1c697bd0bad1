"""`sync plan` against the sandbox over real HTTP: with pushes waiting here and changes made in
Books, it lists each of them record by record, writes nothing (every table's rows counted) and
sends only reads (every vendor call's method); the real run that follows does what it listed."""

import pytest
import requests
from django.core.management import CommandError, call_command

from apps.clients.models import Client
from apps.sync.conflicts.models import Conflict
from apps.sync.engine.connections import adapter_for
from apps.sync.matching.models import MatchPlan
from apps.sync.models import Binding, Connection
from tests.clients.factories import ClientFactory
from tests.sync.sandbox import books_connect, sync
from tests.sync.test_matching_review import table_counts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(live_server, settings, monkeypatch):
    monkeypatch.setattr("apps.sync.engine.outbox._kick", lambda: None)  # drained by `sync run`
    books_connect(settings, live_server.url, contacts=12, items=3)
    first = sync("run", "--connection", "Books")
    assert first["ok"], first
    return Connection.objects.get(name="Books")


@pytest.fixture
def vendor_calls(monkeypatch):
    """Every HTTP request our transport sends (a pass-through spy on requests)."""
    calls = []
    send = requests.Session.send

    def spy(self, request, **kwargs):
        calls.append((request.method, request.url))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spy)
    return calls


def _client_of(connection, remote_id) -> Client:
    binding = Binding.objects.get(connection=connection, entity="clients", remote_id=remote_id)
    return Client.objects.get(pk=binding.object_id)


def test_plan_lists_every_change_writes_nothing_and_the_run_does_what_it_listed(
    books, vendor_calls
):
    adapter = adapter_for(books)
    bound = list(
        Binding.objects.filter(connection=books, entity="clients")
        .order_by("id")
        .values_list("remote_id", flat=True)
    )
    # Changed in Books: three phones, one name; two contacts made there.
    for n, remote_id in enumerate(bound[:3]):
        adapter.update("contacts", remote_id, {"phone": f"+27 21 555 77{n:02d}"})
    adapter.update("contacts", bound[3], {"contact_name": "Renamed In Books"})
    for n in range(2):
        adapter.create("contacts", {"contact_name": f"Made In Books {n}", "email": f"b{n}@b.test"})
    # Changed here: two e-mails (updates waiting), one new client (a create waiting), and a
    # phone changed on both sides (a conflict, settled by the default policy: theirs).
    for remote_id in bound[4:6]:
        client = _client_of(books, remote_id)
        client.email = f"changed-{client.pk}@here.test"
        client.save()
    new_here = ClientFactory(name="Made Here", email="made.here@here.test")
    both = _client_of(books, bound[6])
    adapter.update("contacts", bound[6], {"phone": "+27 21 555 0606"})
    both.phone = "+27 82 555 0606"
    both.save()

    before = table_counts()
    vendor_calls.clear()
    plan = sync("plan", "--connection", "Books")
    assert plan["ok"]
    assert table_counts() == before  # nothing written, not even a log row
    assert vendor_calls and {method for method, _ in vendor_calls} == {"GET"}
    (found,) = plan["plans"]
    assert found["vendor_calls"] == {"GET": len(vendor_calls)}

    clients = next(p for p in found["pull"] if p["entity"] == "clients")
    by_kind: dict[str, list] = {}
    for action in clients["actions"]:
        by_kind.setdefault(action["action"], []).append(action)
    updates = {a["remote_id"]: a["changes"] for a in by_kind["update"]}
    for n, remote_id in enumerate(bound[:3]):
        ours = _client_of(books, remote_id).phone
        assert updates[remote_id] == {"phone": [ours, f"+27 21 555 77{n:02d}"]}
    assert updates[bound[3]]["name"][1] == "Renamed In Books"
    assert sorted(a["label"] for a in by_kind["create"]) == ["Made In Books 0", "Made In Books 1"]
    (conflict,) = by_kind["conflict"]
    assert (conflict["field"], conflict["ours"], conflict["theirs"]) == (
        "phone",
        "+27 82 555 0606",
        "+27 21 555 0606",
    )
    assert conflict["policy"] == "remote_wins" and not conflict["held"]
    pushes = {(p["object_id"], p["operation"]) for p in found["push"]}
    expected_pushes = {(_client_of(books, r).pk, "update") for r in bound[4:6]}
    expected_pushes |= {(new_here.pk, "create"), (both.pk, "update")}
    assert pushes == expected_pushes
    emails = {p["object_id"]: p["changes"] for p in found["push"] if p["operation"] == "update"}
    for remote_id in bound[4:6]:
        client = _client_of(books, remote_id)
        assert emails[client.pk]["email"][1] == client.email

    # The real run does exactly that.
    run = sync("run", "--connection", "Books")
    assert run["ok"], run
    for planned in found["pull"]:
        real = next(r for r in run["runs"] if r["entity"] == planned["entity"])
        for name in ("created", "updated", "linked", "conflicts", "errors"):
            assert real[name] == planned[name], (planned["entity"], name)
    for remote_id, changes in updates.items():
        client = _client_of(books, remote_id)
        for name, (_, theirs) in changes.items():
            assert getattr(client, name) == theirs
    for action in by_kind["create"]:
        assert Binding.objects.filter(
            connection=books, entity="clients", remote_id=action["remote_id"]
        ).exists()
    assert set(Conflict.objects.values_list("object_id", "field")) == {(both.pk, "phone")}
    pushed = {(p["object_id"], p["operation"]) for p in run["pushed"] if p["status"] == "done"}
    assert pushed == expected_pushes

    # And now there is nothing left to do.
    again = sync("plan", "--connection", "Books")["plans"][0]
    assert again["push"] == []
    assert all(p["actions"] == [] for p in again["pull"]), again["pull"]


def test_plan_names_a_connection_under_review_and_an_unknown_one(books):
    MatchPlan.objects.create(connection=books, status="open")
    plan = sync("plan", "--connection", "Books", "--direction", "pull", "--entity", "clients")
    assert "review the matching" in plan["plans"][0]["held"]
    assert [p["entity"] for p in plan["plans"][0]["pull"]] == ["clients"]
    with pytest.raises(CommandError, match="No connected connection is named 'Nope'"):
        call_command("sync", "plan", "--connection", "Nope")


def test_the_admin_button_shows_the_plan_and_changes_nothing(books, admin_client_mfa):
    remote_id = Binding.objects.filter(connection=books, entity="clients").first().remote_id
    adapter_for(books).update("contacts", remote_id, {"phone": "+27 21 555 4242"})
    ours = _client_of(books, remote_id)
    before = table_counts()
    page = admin_client_mfa.post(
        "/admin/sync/connection/", {"action": "plan_now", "_selected_action": [books.pk]}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "changed nothing" in text and ours.name in text and "+27 21 555 4242" in text
    assert table_counts() == before


def test_an_agent_cannot_ask_for_a_plan(books, client, agent_user):
    client.force_login(agent_user)
    answer = client.post(
        "/admin/sync/connection/", {"action": "plan_now", "_selected_action": [books.pk]}
    )
    assert answer.status_code in (302, 403)
    assert "changed nothing" not in answer.content.decode()
