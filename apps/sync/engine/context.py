"""What an exporter is handed: the outbox item being sent, its connection and a ready adapter,
and a way to reach a linked connection (a Books organisation's CRM) with the same priority."""

from dataclasses import dataclass, field

from apps.sync.engine.connections import adapter_for
from apps.sync.models import Connection, OutboxItem, Priority


@dataclass
class PushContext:
    connection: Connection
    adapter: object
    item: OutboxItem | None = None
    priority: int = Priority.USER
    # The bound remote id, for updates and status actions.
    remote_id: str = ""
    bound: bool = False  # the create was bound as soon as the vendor answered
    # What a batch read once for the follow-ups of all its items (a connector's own keys), so
    # that `after` need not read it again per item: one call for the batch, not one each.
    prefetched: dict = field(default_factory=dict, repr=False)
    # Who holds the outbox lease these calls are made under (a linked connection's context
    # has no item of its own: the item's worker is still the one making its dependencies).
    owner: str = ""
    _linked: dict = field(default_factory=dict, repr=False)

    @property
    def lease_owner(self) -> str:
        return self.owner or (self.item.lease_owner if self.item is not None else "")

    @classmethod
    def for_item(cls, item: OutboxItem) -> "PushContext":
        return cls(
            connection=item.connection,
            adapter=adapter_for(item.connection, priority=item.priority, record=cls._record(item)),
            item=item,
            priority=item.priority,
        )

    @staticmethod
    def _record(item: OutboxItem | None):
        """Every call made for the item is logged as made for its record (the journal)."""
        if item is None:
            return None
        return (item.correlation_id, item.entity, item.object_id)

    @property
    def idempotency_key(self) -> str:
        return str(self.item.idempotency_key) if self.item else ""

    @property
    def intent(self) -> dict:
        return self.item.intent if self.item else {}

    def for_connection(self, connection: Connection) -> "PushContext":
        """A context on another connection (no item: what is made there is a dependency)."""
        if connection.pk not in self._linked:
            self._linked[connection.pk] = PushContext(
                connection=connection,
                adapter=adapter_for(
                    connection, priority=self.priority, record=self._record(self.item)
                ),
                priority=self.priority,
                owner=self.lease_owner,
            )
        return self._linked[connection.pk]
