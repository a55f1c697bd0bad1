"""The sync engine against the vendor sandbox over real HTTP (live_server): connect, pull,
incremental pull, push through the outbox, refresh races."""

import threading

import pytest
from django.db import connection as db_connection
from django.db import connections

from apps.clients.models import Client
from apps.sync.engine import outbox, tokens
from apps.sync.models import Binding, Connection, Credential, OutboxItem, OutboxStatus, SyncLog
from tests.sync.sandbox import point_settings_at, seed, sync
from tests.sync.test_credentials import every_text_value_in_database

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(live_server, settings):
    point_settings_at(settings, live_server.url)
    return live_server


def test_connect_zoho_pull_contacts_and_nothing_changed_pull(sandbox):
    answers = seed(contacts=30, items=4, documents=0, crm_contacts=0, deals=0, skip_xero=True)
    zoho = answers["zoho"]
    result = sync(
        "connect",
        "zoho",
        "--refresh-token",
        zoho["refresh_token"],
        "--organization-id",
        zoho["organization_id"],
        "--name",
        "Books",
    )
    assert result == {"connected": ["Books"]}

    summary = sync("run", "--connection", "Books", "--entity", "clients", "--direction", "pull")
    assert summary["ok"] and summary["runs"][0]["created"] == 30
    assert Binding.objects.filter(entity="clients").count() == 30

    calls_before = SyncLog.objects.count()
    clients_before = list(Client.objects.values_list("pk", "updated_at"))
    bindings_before = list(Binding.objects.values_list("pk", "synced_at", "base_snapshot"))
    summary = sync("run", "--connection", "Books", "--entity", "clients", "--direction", "pull")
    run = summary["runs"][0]
    assert SyncLog.objects.count() - calls_before <= 2
    assert (run["created"], run["updated"], run["linked"]) == (0, 0, 0)
    assert list(Client.objects.values_list("pk", "updated_at")) == clients_before
    assert list(Binding.objects.values_list("pk", "synced_at", "base_snapshot")) == bindings_before

    # The dump holds no token in clear: neither the seed's refresh token nor any access token.
    raw = every_text_value_in_database()
    credential = Credential.objects.get()
    from apps.sync.engine.crypto import decrypt_tokens

    secrets = decrypt_tokens(credential.token_ciphertext)
    for secret in (zoho["refresh_token"], secrets["access_token"]):
        # The sandbox keeps its own copy of the tokens it issued (it is the vendor); only the
        # sync engine's tables are ours to check.
        for table_text in _sync_tables_text():
            assert secret not in table_text
    assert raw  # the database was read


def _sync_tables_text() -> list[str]:
    out = []
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names(cursor):
            if not table.startswith(("sync_", "django_q")):
                continue
            cursor.execute(f"SELECT * FROM {db_connection.ops.quote_name(table)}")  # noqa: S608
            out.append("\n".join(str(v) for row in cursor.fetchall() for v in row))
    return out


def test_connect_xero_one_connection_per_tenant_and_pull_items(sandbox):
    answers = seed(contacts=1, items=1, documents=0, crm_contacts=0, deals=0)
    xero = answers["xero"]
    result = sync("connect", "xero", "--refresh-token", xero["refresh_token"])
    assert len(result["connected"]) == len(xero["tenants"]) == 2
    assert Credential.objects.count() == 1  # one Xero credential serves every tenant
    first = Connection.objects.get(remote_account_id=xero["tenants"][0]["tenant_id"])
    summary = sync("run", "--connection", first.name, "--direction", "pull")
    by_entity = {r["entity"]: r for r in summary["runs"]}
    assert summary["ok"]
    assert by_entity["services"]["created"] == 10
    assert by_entity["clients"]["created"] == 20


def test_push_new_client_to_xero_and_zoho(sandbox):
    answers = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0)
    sync("connect", "xero", "--refresh-token", answers["xero"]["refresh_token"], "--name", "X")
    sync("connect", "zoho", "--refresh-token", answers["zoho"]["refresh_token"], "--name", "Z")
    client = Client.objects.create(name="Grace Hopper", email="grace@example.com")
    # The commit kicked a drain (tasks run inline in tests); the sweep finds nothing left.
    assert outbox.outbox_drain() == {}
    statuses = list(OutboxItem.objects.values_list("status", "last_error"))
    assert statuses == [(OutboxStatus.DONE, "")] * 3
    assert Binding.objects.filter(object_id=client.pk, remote_id__isnull=False).count() == 3


@pytest.mark.postgres
def test_eight_threads_forcing_a_xero_refresh_make_one_refresh_call(sandbox, settings):
    answers = seed(contacts=0, items=0, documents=0, crm_contacts=0, deals=0)
    sync("connect", "xero", "--refresh-token", answers["xero"]["refresh_token"])
    credential = Credential.objects.get()
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=None)
    before = SyncLog.objects.filter(url__endswith="/connect/token").count()
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(tokens.access_token(credential.pk)[0])
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1  # everyone got the one new token
    assert SyncLog.objects.filter(url__endswith="/connect/token").count() - before == 1
    # No token lost: the stored refresh token still refreshes.
    Credential.objects.filter(pk=credential.pk).update(access_expires_at=None)
    assert tokens.access_token(credential.pk)[0] not in results
