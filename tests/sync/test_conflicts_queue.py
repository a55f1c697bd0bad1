"""The conflict queue in the admin: Admins only, filters, a flat query count at 10,000 open
conflicts, bulk actions, revert, the badge agents see on the record."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection as db_connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext

from apps.clients.models import Client
from apps.sync.conflicts import services as conflict_services
from apps.sync.conflicts.models import Conflict, ConflictStatus, Resolution
from apps.sync.models import Binding, BindingStatus, OutboxItem
from tests.sync.factories import make_xero, make_zoho_books

pytestmark = pytest.mark.django_db
QUEUE = "/admin/sync/conflict/?status__exact=open"


def make_conflicts(connection, count, *, field="phone", status=ConflictStatus.OPEN, policy=None):
    """`count` bound clients, each with one conflict on `field` (bulk inserts: CI stays fast)."""
    start = Client.objects.count()
    clients = Client.objects.bulk_create(
        [
            Client(name=f"Client {start + n}", email=f"c{start + n}@x.test", phone="021 1")
            for n in range(count)
        ],
        batch_size=1000,
    )
    content_type = ContentType.objects.get_for_model(Client)
    held = status == ConflictStatus.OPEN
    Binding.objects.bulk_create(
        [
            Binding(
                connection=connection,
                entity="clients",
                content_type=content_type,
                object_id=c.pk,
                remote_id=f"r{c.pk}",
                base_snapshot={"phone": "021 0"},
                status=BindingStatus.CONFLICT if held else BindingStatus.SYNCED,
            )
            for c in clients
        ],
        batch_size=1000,
    )
    bindings = dict(Binding.objects.filter(connection=connection).values_list("object_id", "pk"))
    Conflict.objects.bulk_create(
        [
            Conflict(
                binding_id=bindings[c.pk],
                connection=connection,
                entity="clients",
                object_id=c.pk,
                field=field,
                base_value="021 0",
                local_value="021 1",
                remote_value="021 2",
                policy=policy or ("manual" if held else "remote_wins"),
                status=status,
                resolution="" if held else Resolution.POLICY,
            )
            for c in clients
        ],
        batch_size=1000,
    )
    return clients


def queue_queries(client, url=QUEUE) -> tuple[int, str]:
    with CaptureQueriesContext(db_connection) as queries:
        page = client.get(url)
    assert page.status_code == 200
    return len(queries), page.content.decode()


def test_the_queue_lists_10000_open_conflicts_with_a_flat_query_count(admin_client_mfa):
    connection = make_xero()
    make_conflicts(connection, 10)
    few, _ = queue_queries(admin_client_mfa)
    make_conflicts(connection, 9_990)
    many, html = queue_queries(admin_client_mfa)
    assert Conflict.objects.filter(status="open").count() == 10_000
    assert many == few, (few, many)
    assert "Client 0" in html and "021 2" in html  # record label and the remote value shown


def test_filters_by_connection_entity_and_age_and_open_by_default(admin_client_mfa):
    books, xero = make_zoho_books(), make_xero()
    make_conflicts(books, 2)
    make_conflicts(xero, 3)
    assert admin_client_mfa.get("/admin/sync/conflict/").url.endswith("?status__exact=open")
    _, html = queue_queries(admin_client_mfa, f"{QUEUE}&connection__id__exact={xero.pk}")
    assert html.count('name="_selected_action"') == 3
    _, html = queue_queries(admin_client_mfa, f"{QUEUE}&entity=services")
    assert html.count('name="_selected_action"') == 0
    Conflict.objects.filter(connection=books).update(
        created_at=Conflict.objects.first().created_at.replace(year=2020)
    )
    _, html = queue_queries(admin_client_mfa, f"{QUEUE}&age=7d")
    assert html.count('name="_selected_action"') == 2


def test_bulk_take_remote_over_a_selection(admin_client_mfa, admin_role_user):
    connection = make_xero()
    clients = make_conflicts(connection, 5)
    chosen = list(Conflict.objects.order_by("id").values_list("pk", flat=True)[:3])
    admin_client_mfa.post(QUEUE, {"action": "take_remote", "_selected_action": chosen})
    resolved = Conflict.objects.filter(status=ConflictStatus.RESOLVED)
    assert sorted(resolved.values_list("pk", flat=True)) == chosen
    assert set(resolved.values_list("resolved_value", flat=True)) == {"021 2"}
    for conflict in resolved:
        binding = conflict.binding
        assert Client.objects.get(pk=conflict.object_id).phone == "021 2"
        # The remote value is the new base; the binding is released.
        assert binding.base_snapshot["phone"] == "021 2"
        assert binding.status == BindingStatus.SYNCED
        assert OutboxItem.objects.filter(
            connection=connection, object_id=conflict.object_id
        ).exists()
    # The others are untouched and still held.
    assert Client.objects.get(pk=clients[4].pk).phone == "021 1"
    assert Conflict.objects.filter(status="open").count() == 2


def test_a_typed_value_is_validated_and_a_decided_conflict_cannot_be_decided_again(
    admin_role_user,
):
    connection = make_xero()
    make_conflicts(connection, 1, field="email")
    conflict = Conflict.objects.get()
    with pytest.raises(Exception) as refused:
        conflict_services.conflict_resolve(
            conflict=conflict, resolution="typed", value="not an e-mail", actor=admin_role_user
        )
    assert "email" in str(refused.value)
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.OPEN
    conflict_services.conflict_resolve(
        conflict=conflict, resolution="typed", value=" New@Example.TEST ", actor=admin_role_user
    )
    conflict.refresh_from_db()
    assert conflict.resolved_value == "new@example.test"
    with pytest.raises(Exception, match="cannot be decided again"):
        conflict_services.conflict_resolve(
            conflict=conflict, resolution="keep_local", actor=admin_role_user
        )


def test_revert_of_an_auto_resolved_conflict_brings_the_local_value_back(admin_client_mfa):
    connection = make_xero()
    clients = make_conflicts(connection, 1, status=ConflictStatus.AUTO_RESOLVED)
    Client.objects.filter(pk=clients[0].pk).update(phone="021 2")  # remote won
    conflict = Conflict.objects.get()
    admin_client_mfa.post(
        "/admin/sync/conflict/?status__exact=auto_resolved",
        {"action": "revert", "_selected_action": [conflict.pk]},
    )
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.REVERTED
    assert Client.objects.get(pk=clients[0].pk).phone == "021 1"
    assert OutboxItem.objects.filter(object_id=clients[0].pk).exists()  # on its way back


def test_agents_see_the_badge_but_cannot_open_or_resolve_the_queue(agent_user, admin_client_mfa):
    agent_client = WebClient()
    agent_client.force_login(agent_user)
    connection = make_xero()
    clients = make_conflicts(connection, 1)
    page = agent_client.get(f"/admin/clients/client/{clients[0].pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 open sync conflict" in html and "/admin/sync/conflict/record/" not in html
    assert agent_client.get(QUEUE).status_code == 403
    binding = Binding.objects.get()
    conflict = Conflict.objects.get()
    refused = agent_client.post(
        f"/admin/sync/conflict/record/{binding.pk}/", {f"choice_{conflict.pk}": "keep_local"}
    )
    assert refused.status_code in (302, 403)
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.OPEN
    # The admin sees the same badge with the way to resolve it.
    html = admin_client_mfa.get(f"/admin/clients/client/{clients[0].pk}/change/").content.decode()
    assert "1 open sync conflict" in html and f"/admin/sync/conflict/record/{binding.pk}/" in html


def test_a_service_rate_conflict_taken_from_the_remote_is_stored_as_money(
    admin_client_mfa, admin_role_user
):
    from decimal import Decimal

    from apps.catalog.models import Service

    connection = make_zoho_books()
    service = Service.objects.create(name="Labour", rate=Decimal("520.00"), sku="SVC-1")
    binding = Binding.objects.create(
        connection=connection,
        entity="services",
        content_type=ContentType.objects.get_for_model(Service),
        object_id=service.pk,
        remote_id="item-1",
        base_snapshot={"rate": "500.00"},
        status=BindingStatus.CONFLICT,
    )
    conflict = Conflict.objects.create(
        binding=binding,
        connection=connection,
        entity="services",
        object_id=service.pk,
        field="rate",
        base_value="500.00",
        local_value="520.00",
        remote_value="545.50",
        policy="manual",
        status=ConflictStatus.OPEN,
    )
    page = admin_client_mfa.get(f"/admin/catalog/service/{service.pk}/change/").content.decode()
    assert "1 open sync conflict" in page
    _, html = queue_queries(admin_client_mfa)
    assert "services #" in html and "Labour" in html

    conflict_services.conflict_resolve(
        conflict=conflict, resolution=Resolution.TAKE_REMOTE, actor=admin_role_user
    )
    service.refresh_from_db()
    binding.refresh_from_db()
    assert service.rate == Decimal("545.50") and binding.status == BindingStatus.SYNCED
    history = admin_client_mfa.get(f"/admin/catalog/service/{service.pk}/history/")
    assert history.status_code == 200 and "545.50" in history.content.decode()
