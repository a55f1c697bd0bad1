"""The connector registry. Connectors register themselves when the modules named in
`settings.SYNC_CONNECTORS` are imported (at app start, from apps.py), as Sentry's integration
manager does; the engine looks a connector up by its provider key and never imports one
(import-linter forbids it). Adding a vendor is adding a package and a line in that setting."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apps.sync.engine.records import RemoteRecord, TokenSet


@dataclass(frozen=True)
class PullSpec:
    """How an entity is pulled: the adapter resource and the mapper to canonical values, or a
    pull of the connector's own (`run(connection=, dry_run=) -> SyncRun`) for documents whose
    remote changes are applied through domain services rather than merged field by field."""

    resource: str = ""
    mapper: Callable[[RemoteRecord], dict] | None = None
    run: Callable[..., Any] | None = None
    # What the first connection's matching review may match on beyond the mapped values: the
    # vendor's own fields ({"tax_number": ..., "reference": ...}), read from the raw record.
    match_keys: Callable[[RemoteRecord], dict] | None = None


@dataclass(frozen=True)
class BatchForm:
    """How many creates or updates of one (entity, operation) go in one vendor call
    (engine/batch.py sends them; the outbox keeps every per-record guarantee).

    - `payload(ctx, obj)`: one element of the call (raise `Rejected` for a bad element: only
      that record is refused).
    - `send_many(ctxs, payloads, key)`: one call under the Idempotency-Key `key`; returns, per
      element and in the same order, the vendor's `RemoteRecord` or the `VendorError` of that
      element (matched by our reference, never by position when the vendor can tell). Raise a
      `VendorError` when the call as a whole failed (a 429, credentials refused, a time-out).
    - `lookup_many(ctxs, objs)`: creates found by our reference, in as few calls as the vendor
      allows; per element the record, None (not there) or an error (`NoLookupKey`).
    - `size`: the most elements one call takes.
    - `payloads(ctxs, objs)`: every element of a batch built at once (what they share read
      once, not per element); per element, in order, its payload or the `VendorError` that
      refuses or delays that record alone. When absent, `payload` is called per element.
    - `after_many(ctxs, objs, records)`: the exporter's `after` for every bound create of a
      batch at once (each item is finished only when its follow-up succeeded); per element
      None or the `VendorError` for which that item is retried. It runs again on a retry (the
      one-by-one `after` then), so it must check before it acts, like `after`.
    """

    payload: Callable[..., dict]
    send_many: Callable[..., list]
    lookup_many: Callable[..., list] | None = None
    size: int = 50
    payloads: Callable[..., list] | None = None
    after_many: Callable[..., list] | None = None


@dataclass(frozen=True)
class Exporter:
    """How one (entity, operation) reaches the vendor.

    `send(ctx, obj)` makes the create, writes the update or applies the status action named in
    `ctx.item.intent`, and returns the vendor's record; it raises the typed errors of
    engine.records. No exporter finishes, retries, binds or dead-letters an item: the outbox does.

    - `lookup(ctx, obj)`: a create's record found by our reference (before any retry after an
      uncertain outcome, and before a dependency is created); raise `NoLookupKey` when the
      record has nothing to look it up by.
    - `base(record)`: the canonical snapshot of the vendor's answer, kept as the binding's base.
    - `fetch(ctx, remote_id)`: the vendor's record now, for updates merged before they are sent.
    - `after(ctx, obj, record)`: an idempotent follow-up once the create is bound (an estimate
      marked sent); `record` is the vendor's answer, or None when an earlier attempt made it
      (`ctx.remote_id` names it). It runs again on a retry, so it must check before it acts.
    - `queued`: False for a create made only as another document's dependency (ensure_bound).
    - `idempotent`: resending is safe by itself (an upsert on a natural key): no lookup needed.
    - `batch`: creates or updates sent many per call (BatchForm); `send` stays the way one
      record goes (a dependency made by ensure_bound, a retry of a record bound meanwhile).
    """

    send: Callable[..., RemoteRecord]
    lookup: Callable[..., RemoteRecord | None] | None = None
    base: Callable[[RemoteRecord], dict] | None = None
    fetch: Callable[..., RemoteRecord] | None = None
    after: Callable[..., None] | None = None
    queued: bool = True
    idempotent: bool = False
    batch: BatchForm | None = None


@dataclass(frozen=True)
class WebhookSource:
    """A connector's inbound webhooks: `verify(body=, query=, headers=)` returns
    (connection, event), or (None, "") for a genuine delivery with nothing to store (answered
    200), or raises webhooks' Refused; `process(row)` re-fetches and applies a
    stored delivery and returns (status, result). `path` is the URL under /sync/webhooks/."""

    path: str
    url_name: str
    verify: Callable[..., tuple[Any, str]]
    process: Callable[..., tuple[str, str]]
    # Fields of a stored body that carry a shared secret (masked before storing).
    secret_fields: tuple[str, ...] = ()


class Connector:
    """One provider (a vendor product): its adapter, limits, pulls, exporters and webhooks."""

    key: str = ""
    label: str = ""
    vendor: str = ""  # who issues its credentials (the Accounts registered under this key)
    limits: dict = {}  # {"per_window", "concurrent", "per_day"}: the vendor's published limits
    pulls: dict[str, PullSpec] = {}
    exporters: dict[tuple[str, str], Exporter] = {}
    webhook: WebhookSource | None = None
    # Fields of its API's requests and answers that carry a secret (a webhook signing secret):
    # their values are masked in every call log, whatever the transport's list of key names.
    secret_fields: tuple[str, ...] = ()
    schedules: list = []  # apps.core.schedules.ScheduleSpec rows the connector needs
    # Documents name taxes and currencies by the vendor's ids (engine/taxes.py keeps the lists).
    reads_settings: bool = False
    # Documents reconciliation compares with ours (engine/reconcile.py), read by reconcile_lists.
    reconciles: tuple[str, ...] = ()
    # Of those, the entities whose vendor documents `document_fetch` can bring in here.
    imports_documents: tuple[str, ...] = ()

    def adapter(self, connection, client) -> Any:
        raise NotImplementedError

    def read_settings(self, adapter) -> Any:
        """The account's taxes and currencies (engine.taxes.VendorSettings), or None."""
        return None

    def reconcile_lists(self, adapter, *, entities, since=None) -> dict[str, list]:
        """Per entity, every vendor document (records.RemoteDocument) read from its list
        endpoint in pages of the largest size allowed; `since` (a date): issued from then."""
        return {}

    def document_fetch(self, adapter, *, entity: str, remote_id: str):
        """One vendor document in full (records.VendorDocument), to bring in one we lack."""
        return None

    def on_connect(self, connection) -> str:
        """After connecting (webhook subscriptions and the like); returns what it did."""
        return ""

    def settings_url(self, connection) -> str:
        """Where an Admin changes the connection's options (Connection.options); "" if none."""
        return ""

    def pushes(self, entity: str, operation: str) -> bool:
        exporter = self.exporters.get((entity, operation))
        return exporter is not None and exporter.queued


class Accounts:
    """A vendor's OAuth: the header a token goes in, refresh and revocation."""

    vendor: str = ""
    label: str = ""
    # How long a refresh token lives unused (in vendor time), None when it never dies of disuse:
    # Admins are warned before it would (engine/token_disuse.py).
    refresh_token_disuse_lifetime: timedelta | None = None

    def auth_headers(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def refresh(self, client, *, credential, refresh_token: str) -> TokenSet:
        raise NotImplementedError

    def disconnect(self, client, *, connection, credential, last: bool) -> None:
        """Revoke at the vendor what `connection` holds (`last`: no other live connection
        shares the credential)."""

    def connect_with_refresh_token(self, *, refresh_token: str, **options) -> list:
        """The CLI's `sync connect VENDOR --refresh-token T`: the connections made."""
        raise NotImplementedError

    def attach_chosen(self, *, credential, chosen: list[str], pending: dict) -> list:
        """The admin's second step: attach the accounts an Admin chose."""
        raise NotImplementedError

    def urlpatterns(self) -> list:
        """The connect flow's views, mounted under /sync/."""
        return []


@dataclass
class _Registry:
    connectors: dict[str, Connector] = field(default_factory=dict)
    accounts: dict[str, Accounts] = field(default_factory=dict)


_registry = _Registry()


def register(connector: Connector) -> Connector:
    _registry.connectors[connector.key] = connector
    return connector


def register_accounts(accounts: Accounts) -> Accounts:
    _registry.accounts[accounts.vendor] = accounts
    return accounts


def load(modules: list[str]) -> None:
    """Import each connector module named in settings; importing registers it."""
    for module in modules:
        importlib.import_module(module)


def connector(key: str) -> Connector:
    try:
        return _registry.connectors[key]
    except KeyError:
        raise LookupError(
            f"No connector is registered for provider {key!r} (settings.SYNC_CONNECTORS)."
        ) from None


def connectors() -> list[Connector]:
    return list(_registry.connectors.values())


def providers() -> list[str]:
    return list(_registry.connectors)


def provider_label(key: str) -> str:
    found = _registry.connectors.get(key)
    return found.label if found else key


def all_accounts() -> list[Accounts]:
    return list(_registry.accounts.values())


def accounts(vendor: str) -> Accounts:
    try:
        return _registry.accounts[vendor]
    except KeyError:
        raise LookupError(f"No accounts (OAuth) are registered for vendor {vendor!r}.") from None


def webhook_sources() -> list[tuple[Connector, WebhookSource]]:
    return [(c, c.webhook) for c in _registry.connectors.values() if c.webhook is not None]
