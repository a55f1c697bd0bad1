"""The entity registry: for every entity the engine syncs, its local model, our reference, its
canonical snapshot (the field values both sides compare), natural key and how a canonical value
becomes a model value. One table; connectors map the snapshots to and from their payloads."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from apps.catalog.models import Service, TaxRate
from apps.clients.models import Client
from apps.core.money import round_money
from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote
from apps.sync.engine.taxes import local_tax_rate_for
from apps.sync.models import Entity

CLIENT_FIELDS = (
    "name",
    "email",
    "phone",
    "mobile",
    "company",
    "billing_address",
    "tax_number",
    "active",
)
SERVICE_FIELDS = ("name", "description", "rate", "unit", "sku", "active", "tax_rate")


def text(value) -> str:
    return str(value or "").strip()


def money_text(value) -> str:
    """A rate as a two-place Decimal string; vendors' JSON floats go through str first."""
    if value in (None, ""):
        return "0.00"
    try:
        return str(round_money(Decimal(str(value))))
    except InvalidOperation:
        return "0.00"


def percent_text(value) -> str:
    """A tax percentage as three-place text ("15.000"); "" for no tax (none, zero, not a number)."""
    if isinstance(value, TaxRate):
        value = value.rate
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return ""
    return str(number.quantize(Decimal("0.001"))) if number else ""


def client_snapshot(client) -> dict:
    """The canonical values of a local Client (a model instance or a dict of its fields)."""
    get = client.get if isinstance(client, dict) else lambda f: getattr(client, f)
    snapshot = {name: text(get(name)) for name in CLIENT_FIELDS if name != "active"}
    snapshot["email"] = snapshot["email"].lower()
    snapshot["active"] = bool(get("active"))
    return snapshot


def service_snapshot(service) -> dict:
    get = service.get if isinstance(service, dict) else lambda f: getattr(service, f)
    return {
        "name": text(get("name")),
        "description": text(get("description")),
        "rate": money_text(get("rate")),
        "unit": text(get("unit")) or "Each",
        "sku": text(get("sku")),
        "active": bool(get("active")),
        # The percentage, not the local row: the vendor's tax and ours agree when it is equal.
        "tax_rate": percent_text(get("tax_rate")),
    }


def client_reference(client: Client) -> str:
    return f"SD-C-{client.pk:06d}"


def service_reference(service: Service) -> str:
    return service.sku or f"SD-S-{service.pk:06d}"


def payment_reference(payment: Payment) -> str:
    return f"SD-P-{payment.pk:06d}"


def deal_reference(quote: Quote) -> str:
    return f"Syncdesk quote {quote.number}"


@dataclass(frozen=True)
class EntitySpec:
    key: str
    label: str
    model: type
    reference: Callable[[object], str]
    # Merged entities: field-by-field three-way merge on pull and before each update.
    snapshot: Callable[[object], dict] | None = None
    # Natural key matching an unbound remote record to a local one (case-insensitive).
    match_field: str = ""
    unique_match: bool = False  # the key is unique locally (SKU): a clash cannot be created
    # Only active remote records come in, unless already bound (so they are deactivated here).
    active_only: bool = False
    # Documents go out strictly in the order they were queued, per connection, and show as
    # pending (a binding without a remote id) until sent.
    document: bool = False

    @property
    def merged(self) -> bool:
        return self.snapshot is not None

    def to_model_value(self, name: str, value):
        if name == "rate":
            return Decimal(value)
        if name == "sku":
            return value or None
        if name == "tax_rate":
            return local_tax_rate_for(value)
        return value


ENTITIES = {
    spec.key: spec
    for spec in (
        EntitySpec(
            Entity.CLIENTS,
            "client",
            Client,
            client_reference,
            snapshot=client_snapshot,
            match_field="email",
        ),
        EntitySpec(
            # SKUs are unique in any letter case (catalog's UPPER(sku) constraint).
            Entity.SERVICES,
            "service",
            Service,
            service_reference,
            snapshot=service_snapshot,
            match_field="sku",
            unique_match=True,
            active_only=True,
        ),
        EntitySpec(Entity.QUOTES, "quote", Quote, lambda q: q.number, document=True),
        EntitySpec(Entity.INVOICES, "invoice", Invoice, lambda i: i.number, document=True),
        EntitySpec(Entity.PAYMENTS, "payment", Payment, payment_reference, document=True),
        EntitySpec(Entity.DEALS, "deal", Quote, deal_reference, document=True),
    )
}
DOCUMENT_ENTITIES = tuple(key for key, spec in ENTITIES.items() if spec.document)
MERGED_ENTITIES = frozenset(key for key, spec in ENTITIES.items() if spec.merged)


def entity(key: str) -> EntitySpec:
    return ENTITIES[key]
