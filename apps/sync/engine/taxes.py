"""Taxes and currencies, mapped and never guessed: each account's taxes and currencies as the
vendor lists them (read at connect and daily), the mapping of every local tax rate to one vendor
tax (matched by percentage and name, or chosen by an Admin), and the lookups an exporter makes
for a line's tax and a document's currency. A rate with no mapping is a refusal naming the rate,
never a silent 0%."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog import services as catalog_services
from apps.catalog.models import TaxRate
from apps.sync.engine import registry
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.records import Rejected
from apps.sync.models import Connection, Priority, RemoteCurrency, RemoteTax, TaxMapping

ZERO = Decimal("0")


@dataclass(frozen=True)
class VendorTax:
    remote_id: str
    name: str
    rate: Decimal


@dataclass(frozen=True)
class VendorCurrency:
    remote_id: str
    code: str
    is_base: bool


@dataclass(frozen=True)
class VendorSettings:
    """What a connector's `read_settings(adapter)` returns."""

    taxes: list[VendorTax]
    currencies: list[VendorCurrency]


def _same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


# --- reading the vendor's lists -----------------------------------------------------------------
def vendor_settings_refresh(*, connection: Connection) -> dict | None:
    """Read the account's taxes and currencies and map what can be matched. Returns counts, or
    None when the connector keeps no tax list (its documents name taxes some other way)."""
    connector = registry.connector(connection.provider)
    adapter = adapter_for(connection, priority=Priority.USER)
    found = connector.read_settings(adapter)
    if found is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        seen = []
        for tax in found.taxes:
            RemoteTax.objects.update_or_create(
                connection=connection,
                remote_id=tax.remote_id,
                defaults={"name": tax.name, "rate": tax.rate, "active": True, "refreshed_at": now},
            )
            seen.append(tax.remote_id)
        RemoteTax.objects.filter(connection=connection).exclude(remote_id__in=seen).update(
            active=False
        )
        codes = []
        for currency in found.currencies:
            RemoteCurrency.objects.update_or_create(
                connection=connection,
                code=currency.code.upper(),
                defaults={
                    "remote_id": currency.remote_id,
                    "is_base": currency.is_base,
                    "refreshed_at": now,
                },
            )
            codes.append(currency.code.upper())
        RemoteCurrency.objects.filter(connection=connection).exclude(code__in=codes).delete()
        mapped = tax_mappings_match(connection=connection)
    return {"taxes": len(found.taxes), "currencies": len(found.currencies), "mapped": mapped}


def vendor_settings_refresh_all() -> dict[str, dict | None]:
    """The daily read, for every connected account whose connector keeps a tax list."""
    results = {}
    for connection in Connection.objects.filter(status="connected").select_related("credential"):
        if registry.connector(connection.provider).reads_settings:
            results[connection.name] = vendor_settings_refresh(connection=connection)
    return results


# --- the mapping --------------------------------------------------------------------------------
def _match(tax_rate: TaxRate, taxes: list[RemoteTax]) -> RemoteTax | None:
    """The vendor tax of the same percentage, by name when several have it; None if ambiguous."""
    same_rate = [t for t in taxes if t.rate == tax_rate.rate]
    named = [t for t in same_rate if _same_name(t.name, tax_rate.name)]
    if len(named) == 1:
        return named[0]
    return same_rate[0] if len(same_rate) == 1 else None


def _usable(mapping: TaxMapping) -> bool:
    remote = mapping.remote_tax
    return remote is not None and remote.active and remote.rate == mapping.tax_rate.rate


def tax_mappings_match(*, connection: Connection) -> int:
    """Map every local tax rate (non-zero) that has no usable mapping to the vendor tax of the
    same percentage (and name, when several share it). An Admin's usable choice is kept; one
    that stopped fitting (the vendor tax gone, a percentage changed) is matched afresh or left
    empty. Returns how many rates are mapped afterwards."""
    taxes = list(RemoteTax.objects.filter(connection=connection, active=True))
    mappings = {
        m.tax_rate_id: m
        for m in TaxMapping.objects.filter(connection=connection).select_related(
            "remote_tax", "tax_rate"
        )
    }
    mapped = 0
    for tax_rate in TaxRate.objects.exclude(rate=ZERO):
        mapping = mappings.get(tax_rate.pk) or TaxMapping(connection=connection, tax_rate=tax_rate)
        if mapping.pk and _usable(mapping):
            mapped += 1
            continue
        # Every rate gets a row, mapped or not, so the connection's page lists what is missing.
        mapping.remote_tax = _match(tax_rate, taxes)
        mapping.source = TaxMapping.Source.MATCHED
        mapping.save()
        mapped += mapping.remote_tax is not None
    return mapped


def tax_mapping_set(
    *, connection: Connection, tax_rate: TaxRate, remote_tax: RemoteTax | None
) -> TaxMapping:
    """An Admin's choice of vendor tax for a local rate; it must be of the same percentage (a
    different one would make the vendor's totals differ from ours)."""
    if remote_tax is not None:
        if remote_tax.connection_id != connection.pk:
            raise ValidationError({"remote_tax": "That tax belongs to another connection."})
        if remote_tax.rate != tax_rate.rate:
            raise ValidationError(
                {
                    "remote_tax": f"“{remote_tax}” is {remote_tax.rate.normalize()}%, and "
                    f"“{tax_rate.name}” is {tax_rate.rate.normalize()}%: choose a tax of the "
                    "same percentage."
                }
            )
        if not remote_tax.active:
            raise ValidationError({"remote_tax": f"“{remote_tax}” is no longer in the account."})
    mapping, _ = TaxMapping.objects.update_or_create(
        connection=connection,
        tax_rate=tax_rate,
        defaults={"remote_tax": remote_tax, "source": TaxMapping.Source.ADMIN},
    )
    return mapping


def mapping_problem(mapping: TaxMapping) -> str:
    """What stops a mapping from being used ("" when it is usable)."""
    return "" if _usable(mapping) else _problem(mapping.tax_rate, mapping.remote_tax)


def _problem(tax_rate: TaxRate, remote: RemoteTax | None) -> str:
    if remote is None:
        return "Not mapped: documents using this rate are refused."
    if not remote.active:
        return f"“{remote.name}” is no longer in the account."
    return f"“{remote.name}” is {remote.rate.normalize()}%, not {tax_rate.rate.normalize()}%."


# --- what an exporter asks ----------------------------------------------------------------------
def _unmapped(connection: Connection, tax_rate: TaxRate, remote: RemoteTax | None) -> Rejected:
    label = registry.provider_label(connection.provider)
    reason = _problem(tax_rate, remote).removesuffix(": documents using this rate are refused.")
    return Rejected(
        f"Tax rate “{tax_rate.name}” ({tax_rate.rate.normalize()}%) has no {label} tax on "
        f"connection “{connection.name}” ({reason.rstrip('.')}). Map it on the connection's "
        "page (Sync → Connections), then requeue this item.",
        status=None,
    )


def _local_rate(rate: Decimal, preferred: TaxRate | None) -> TaxRate | None:
    if preferred is not None and preferred.rate == rate:
        return preferred
    return TaxRate.objects.filter(rate=rate).order_by("-active", "name", "pk").first()


def tax_reference(
    *, connection: Connection, rate: Decimal, preferred: TaxRate | None = None
) -> str:
    """The vendor's id of the tax a line at `rate` percent goes with ("" for an untaxed line).

    The local rate is the line's service's when it has that percentage, else the local rate of
    that percentage. Without a usable mapping the vendor's list is read again once (a tax added
    there since); still none raises Rejected naming the rate.
    """
    rate = Decimal(rate)
    if not rate:
        return ""
    tax_rate = _local_rate(rate, preferred)
    if tax_rate is None:
        raise Rejected(
            f"A line is taxed at {rate.normalize()}%, and no local tax rate has that "
            "percentage: add the tax rate in the catalogue, map it on the connection's page "
            "(Sync → Connections), then requeue this item."
        )
    for attempt in range(2):
        mapping = (
            TaxMapping.objects.filter(connection=connection, tax_rate=tax_rate)
            .select_related("remote_tax", "tax_rate")
            .first()
        )
        if mapping is not None and _usable(mapping):
            return mapping.remote_tax.remote_id
        if attempt == 0:
            if RemoteTax.objects.filter(connection=connection).exists():
                tax_mappings_match(connection=connection)
            if not TaxMapping.objects.filter(
                connection=connection, tax_rate=tax_rate, remote_tax__isnull=False
            ).exists():
                vendor_settings_refresh(connection=connection)
    raise _unmapped(connection, tax_rate, mapping.remote_tax if mapping else None)


def currency_reference(*, connection: Connection, code: str) -> str:
    """The vendor's id of currency `code`, or "" when it is the account's base currency."""
    code = code.upper()
    for attempt in range(2):
        currency = RemoteCurrency.objects.filter(connection=connection, code=code).first()
        if currency is not None:
            return "" if currency.is_base else currency.remote_id
        if attempt == 0:
            vendor_settings_refresh(connection=connection)
    raise Rejected(
        f"Currency {code} is not enabled in {registry.provider_label(connection.provider)} "
        f"(connection “{connection.name}”): add it there, then requeue this item."
    )


def local_tax_rate_for(rate: str) -> TaxRate | None:
    """The local tax rate a pulled record's percentage means: the active local rate of that
    percentage, else one made from the vendor's tax of that percentage (its name)."""
    if rate in (None, ""):
        return None
    value = Decimal(str(rate))
    if not value:
        return None
    found = TaxRate.objects.filter(rate=value).order_by("-active", "name", "pk").first()
    if found is not None:
        return found
    remote = RemoteTax.objects.filter(rate=value, active=True).order_by("pk").first()
    name = remote.name if remote else f"Tax {value.normalize()}%"
    if TaxRate.objects.filter(name=name).exists():
        name = f"{name} ({value.normalize()}%)"
    return catalog_services.tax_rate_create(name=name[:100], rate=value)
