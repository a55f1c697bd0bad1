"""The merge inside the real pull (binder.apply_page, database-backed) over random edits on both
sides of random records (hypothesis, each example in its own transaction): after the pull both
sides agree or there is a conflict for exactly each field edited differently on both sides."""

from datetime import UTC, datetime

from django.contrib.contenttypes.models import ContentType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from apps.clients.models import Client
from apps.sync.conflicts.models import Conflict, ConflictPolicy, ConflictStatus
from apps.sync.engine import importer as binder
from apps.sync.engine.entities import client_snapshot as local_snapshot
from apps.sync.engine.merge import Policy, same
from apps.sync.engine.records import RemoteRecord
from apps.sync.models import Binding, BindingStatus, Entity, OutboxItem
from tests.sync.factories import make_zoho_books

# The fields Zoho Books maps (tax_number is not one of them).
FIELDS = ("name", "email", "phone", "mobile", "company")
VALUES = {
    "name": ["Ada", "Ada L", "Grace", "Alan"],
    "email": ["a@x.test", "b@x.test", "c@x.test"],
    "phone": ["", "021 555 0001", "021 555 0002"],
    "mobile": ["", "082 1", "082 2"],
    "company": ["", "Acme", "Initech"],
}
BASE = {"name": "Ada", "email": "a@x.test", "phone": "", "mobile": "", "company": ""}


@st.composite
def records(draw):
    """1-4 records, each with a random edit (or none) per field on each side."""
    cases = []
    for _ in range(draw(st.integers(1, 4))):
        local, remote = dict(BASE), dict(BASE)
        for name in FIELDS:
            if draw(st.booleans()):
                local[name] = draw(st.sampled_from(VALUES[name]))
            if draw(st.booleans()):
                remote[name] = draw(st.sampled_from(VALUES[name]))
        cases.append((local, remote))
    policy = {name: draw(st.sampled_from(Policy.ALL)) for name in FIELDS}
    return cases, policy


class PullMergeProperties(TestCase):
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(records())
    def test_random_edits_on_both_sides(self, example):
        cases, policy = example
        connection = make_zoho_books()
        for name, value in policy.items():
            ConflictPolicy.objects.create(entity=Entity.CLIENTS, field=name, policy=value)
        content_type = ContentType.objects.get_for_model(Client)
        mapped, bound = [], []
        for index, (local, remote) in enumerate(cases):
            client = Client.objects.create(**BASE)
            binding = Binding.objects.create(
                connection=connection,
                entity=Entity.CLIENTS,
                content_type=content_type,
                object_id=client.pk,
                remote_id=f"r{index}",
                base_snapshot={**BASE, "billing_address": "", "active": True},
                status=BindingStatus.SYNCED,
            )
            # The local edit as a user makes it (saved, so it is queued for the vendor too).
            Client.objects.filter(pk=client.pk).update(**local)
            record = RemoteRecord(f"r{index}", "", datetime(2026, 7, 1, tzinfo=UTC), data={})
            mapped.append((record, {**remote, "billing_address": "", "active": True}))
            bound.append((client, binding, local, remote))
        OutboxItem.objects.all().delete()

        binder.apply_page(connection=connection, entity=Entity.CLIENTS, mapped=mapped)

        for client, binding, local, remote in bound:
            client.refresh_from_db()
            binding.refresh_from_db()
            after = local_snapshot(client)
            differently = {
                n
                for n in FIELDS
                if local[n] != BASE[n] and remote[n] != BASE[n] and local[n] != remote[n]
            }
            conflicts = Conflict.objects.filter(binding=binding)
            assert {c.field for c in conflicts} == differently
            held = any(policy[n] == Policy.MANUAL for n in differently)
            if held:
                # Nothing overwritten here, nothing queued there, the base untouched.
                assert {n: after[n] for n in FIELDS} == local
                assert binding.status == BindingStatus.CONFLICT
                assert {n: binding.base_snapshot[n] for n in FIELDS} == BASE
                assert not OutboxItem.objects.filter(object_id=client.pk).exists()
                assert {c.status for c in conflicts} == {ConflictStatus.OPEN} | (
                    {ConflictStatus.AUTO_RESOLVED}
                    if any(policy[n] != Policy.MANUAL for n in differently)
                    else set()
                )
                continue
            assert binding.status == BindingStatus.SYNCED
            pushed = {n for n in FIELDS if local[n] != BASE[n] and remote[n] == BASE[n]} | {
                n for n in differently if policy[n] == Policy.LOCAL_WINS
            }
            for name in FIELDS:
                if name in pushed:
                    # Local value kept and on its way to the vendor; base waits for its answer.
                    assert same(name, after[name], local[name])
                    assert binding.base_snapshot[name] == BASE[name]
                else:
                    # Remote value here (applied, or already equal); base is what both hold.
                    assert same(name, after[name], remote[name])
                    assert same(name, binding.base_snapshot[name], remote[name])
            assert OutboxItem.objects.filter(object_id=client.pk).exists() == bool(pushed)
            for conflict in conflicts:
                assert conflict.status == ConflictStatus.AUTO_RESOLVED
                assert conflict.local_value == local[conflict.field]
                assert conflict.remote_value == remote[conflict.field]
                if conflict.policy == Policy.REMOTE_WINS:
                    assert conflict.resolved_value == remote[conflict.field]
