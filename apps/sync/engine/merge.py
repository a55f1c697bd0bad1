"""The three-way, field-level merge of one bound record: base snapshot, local and remote values.

Pure: no database, no clock. Timestamps never decide (two systems' clocks lie, notes §2.7); a
field changed on one side only flows to the other, a field changed on both sides to different
values is a conflict settled by the field's policy.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MONEY_FIELDS = frozenset({"rate"})
PERCENT_FIELDS = frozenset({"tax_rate"})
EMAIL_FIELDS = frozenset({"email"})


class Policy:
    REMOTE_WINS = "remote_wins"
    LOCAL_WINS = "local_wins"
    MANUAL = "manual"
    CHOICES = (
        (REMOTE_WINS, "Remote wins (logged, revertible)"),
        (LOCAL_WINS, "Local wins (logged)"),
        (MANUAL, "Manual (hold the record for an admin)"),
    )
    ALL = (REMOTE_WINS, LOCAL_WINS, MANUAL)


# Client and catalogue fields: the books are the source of truth unless an admin says otherwise.
DEFAULT_POLICY = Policy.REMOTE_WINS
# Except a service's tax: bindings made before it was synced have no base for it, and the vendor's
# items we made then carry no tax because we never sent one; taking theirs would untax the
# catalogue, so ours is sent instead (a change on one side only still flows either way).
FIELD_POLICIES = {"tax_rate": Policy.LOCAL_WINS}


def normalize(name: str, value):
    """The comparable form of a canonical value: cosmetic differences are not changes."""
    if isinstance(value, bool):
        return value
    if name in PERCENT_FIELDS:
        try:
            return Decimal(str(value or 0)).quantize(Decimal("0.001"))
        except InvalidOperation:
            return str(value).strip()
    if name in MONEY_FIELDS:
        if value in (None, ""):
            return Decimal("0.00")
        try:
            return Decimal(str(value)).quantize(Decimal("0.01"))
        except InvalidOperation:
            return str(value).strip()
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        return text.lower() if name in EMAIL_FIELDS else text
    return value


def same(name: str, a, b) -> bool:
    return normalize(name, a) == normalize(name, b)


@dataclass(frozen=True)
class FieldConflict:
    """The same field changed on both sides to values that differ."""

    field: str
    base: object
    local: object
    remote: object
    policy: str
    held: bool  # manual: nothing applied; otherwise the policy settled it (auto-resolved)

    @property
    def winner(self):
        if self.policy == Policy.LOCAL_WINS:
            return self.local
        if self.policy == Policy.REMOTE_WINS:
            return self.remote
        return None


@dataclass
class MergeResult:
    to_local: dict = field(default_factory=dict)  # apply here (never echoed back)
    to_remote: dict = field(default_factory=dict)  # push to the vendor through the outbox
    new_base: dict = field(default_factory=dict)  # what both sides agree on after this merge
    conflicts: list[FieldConflict] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return any(c.held for c in self.conflicts)

    @property
    def converged(self) -> bool:
        """Nothing left to push and nothing held: the base is the whole truth."""
        return not self.to_remote and not self.held


def merge(
    *,
    base: Mapping,
    local: Mapping,
    remote: Mapping,
    policies: Mapping[str, str] | None = None,
    fields: Iterable[str] | None = None,
) -> MergeResult:
    """Merge the fields present in `remote` (or `fields`) of one record.

    The new base moves only where both sides end up agreeing: a value still to be pushed keeps
    its old base until the vendor has it (the outbox records the vendor's answer as the base).
    Under `manual` the record is held: nothing is applied on either side, the base stays.
    """
    policies = policies or {}
    names = list(fields) if fields is not None else list(remote)
    result = MergeResult(new_base=dict(base))
    for name in names:
        if name not in remote or name not in local:
            continue
        b, l_, r = base.get(name), local[name], remote[name]
        if same(name, l_, r):
            result.new_base[name] = r
            continue
        local_changed = name not in base or not same(name, l_, b)
        remote_changed = name not in base or not same(name, r, b)
        if not local_changed:
            result.to_local[name] = r
            result.new_base[name] = r
        elif not remote_changed:
            result.to_remote[name] = l_
        else:
            policy = policies.get(name, FIELD_POLICIES.get(name, DEFAULT_POLICY))
            result.conflicts.append(
                FieldConflict(
                    field=name,
                    base=b,
                    local=l_,
                    remote=r,
                    policy=policy,
                    held=policy == Policy.MANUAL,
                )
            )
            if policy == Policy.REMOTE_WINS:
                result.to_local[name] = r
                result.new_base[name] = r
            elif policy == Policy.LOCAL_WINS:
                result.to_remote[name] = l_
    if result.held:
        # Neither side changes for a held record until an admin decides.
        result.to_local, result.to_remote, result.new_base = {}, {}, dict(base)
    return result
