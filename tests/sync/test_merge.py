"""The pure three-way merge: properties over random edits on both sides (hypothesis), and the
normalisation that keeps cosmetic differences from being conflicts."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.sync.engine.merge import Policy, merge, normalize, same

FIELDS = ("name", "email", "phone", "rate", "active")
VALUES = {
    "name": st.sampled_from(["Ada", "Ada L", "Grace", " Grace ", "Alan"]),
    "email": st.sampled_from(["a@x.test", "A@X.test", "b@x.test", "c@x.test "]),
    "phone": st.sampled_from(["", "021 555 0001", "021 555 0002", "021 555 0003"]),
    "rate": st.sampled_from(["450.00", "450", "520.00", "650.5"]),
    "active": st.booleans(),
}


@st.composite
def scenario(draw):
    """A base, a local and a remote copy where each field is edited on neither, one, or both
    sides, and a policy per field."""
    base = {name: draw(VALUES[name]) for name in FIELDS}
    local, remote = dict(base), dict(base)
    for name in FIELDS:
        if draw(st.booleans()):
            local[name] = draw(VALUES[name])
        if draw(st.booleans()):
            remote[name] = draw(VALUES[name])
    policies = {name: draw(st.sampled_from(Policy.ALL)) for name in FIELDS}
    return base, local, remote, policies


def edited_differently(base, local, remote):
    return {
        name
        for name in FIELDS
        if not same(name, local[name], base[name])
        and not same(name, remote[name], base[name])
        and not same(name, local[name], remote[name])
    }


def apply(side, changes):
    return {**side, **changes}


@settings(max_examples=400, deadline=None)
@given(scenario())
def test_after_a_merge_both_sides_agree_or_each_field_edited_differently_is_a_conflict(case):
    base, local, remote, policies = case
    result = merge(base=base, local=local, remote=remote, policies=policies)
    conflicting = edited_differently(base, local, remote)

    # A conflict for exactly each field edited differently on both sides, never another.
    assert {c.field for c in result.conflicts} == conflicting

    new_local = apply(local, result.to_local)
    new_remote = apply(remote, result.to_remote)
    if result.held:
        # Manual: nothing is ever overwritten, on either side, and the base stays.
        assert (result.to_local, result.to_remote) == ({}, {})
        assert result.new_base == base
        assert any(policies[c.field] == Policy.MANUAL for c in result.conflicts)
    else:
        assert all(same(n, new_local[n], new_remote[n]) for n in FIELDS)
        # The base moved only where the sides already agree without a push.
        for name in FIELDS:
            if name not in result.to_remote:
                assert same(name, result.new_base[name], new_remote[name])
            else:
                assert result.new_base[name] == base[name]
    for conflict in result.conflicts:
        assert conflict.policy == policies[conflict.field]
        assert conflict.held == (conflict.policy == Policy.MANUAL)
        if conflict.policy == Policy.REMOTE_WINS and not result.held:
            # Remote wins: the remote value is applied here, and logged with the local one.
            assert result.to_local[conflict.field] == remote[conflict.field]
            assert conflict.local == local[conflict.field]
        if conflict.policy == Policy.LOCAL_WINS and not result.held:
            assert result.to_remote[conflict.field] == local[conflict.field]


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_one_sided_edits_flow_to_the_other_side_and_never_back(case):
    base, local, remote, policies = case
    result = merge(base=base, local=local, remote=remote, policies=policies)
    if result.held:
        return
    for name in FIELDS:
        if not same(name, local[name], base[name]) and same(name, remote[name], base[name]):
            assert result.to_remote[name] == local[name] and name not in result.to_local
        if same(name, local[name], base[name]) and not same(name, remote[name], base[name]):
            assert result.to_local[name] == remote[name] and name not in result.to_remote


def test_a_phone_edited_here_and_an_email_edited_there_merge_without_a_conflict():
    base = {"phone": "021 555 0001", "email": "ada@x.test"}
    result = merge(
        base=base,
        local={"phone": "082 000 0000", "email": "ada@x.test"},
        remote={"phone": "021 555 0001", "email": "ada.l@x.test"},
    )
    assert result.conflicts == []
    assert result.to_local == {"email": "ada.l@x.test"}
    assert result.to_remote == {"phone": "082 000 0000"}
    assert result.new_base == {"phone": "021 555 0001", "email": "ada.l@x.test"}


def test_the_same_field_changed_to_different_values_under_manual_holds_the_record():
    result = merge(
        base={"phone": "1", "name": "Ada"},
        local={"phone": "2", "name": "Ada"},
        remote={"phone": "3", "name": "Ada Lovelace"},
        policies={"phone": Policy.MANUAL},
    )
    assert [(c.field, c.base, c.local, c.remote, c.held) for c in result.conflicts] == [
        ("phone", "1", "2", "3", True)
    ]
    # Even the uncontested remote name change waits: the whole record is held.
    assert (result.to_local, result.to_remote, result.new_base) == (
        {},
        {},
        {"phone": "1", "name": "Ada"},
    )


def test_cosmetic_differences_are_not_changes():
    assert normalize("email", " Ada@X.Test ") == "ada@x.test"
    assert normalize("rate", "450") == normalize("rate", 450) == Decimal("450.00")
    assert normalize("name", None) == normalize("name", "  ") == ""
    result = merge(
        base={"email": "ada@x.test", "rate": "450.00", "name": "Ada"},
        local={"email": "ADA@x.test", "rate": "450", "name": "Ada "},
        remote={"email": "ada@x.test ", "rate": "450.0", "name": " Ada"},
    )
    assert (result.to_local, result.to_remote, result.conflicts) == ({}, {}, [])


def test_a_field_missing_from_the_base_is_a_conflict_only_when_the_sides_differ():
    assert merge(base={}, local={"phone": "1"}, remote={"phone": "1"}).conflicts == []
    result = merge(base={}, local={"phone": "1"}, remote={"phone": "2"})
    assert [c.field for c in result.conflicts] == ["phone"]
    assert result.to_local == {"phone": "2"}  # remote wins by default


def test_only_fields_the_vendor_has_are_merged():
    # Xero has no company: a local company is never a change to push there.
    result = merge(base={"name": "A"}, local={"name": "A", "company": "Acme"}, remote={"name": "A"})
    assert (result.to_local, result.to_remote) == ({}, {})
