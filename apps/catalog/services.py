"""Writes for the catalogue: services and tax rates, created, changed, retired and brought back,
and the bulk imports that write what those write for many rows at once.

Every function runs in one transaction and records `actor` as the history user. A refused write
raises ValidationError (keyed by field) or ApplicationError and leaves the database unchanged.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower, Upper
from django.utils import timezone

from apps.catalog.models import Service, TaxRate
from apps.catalog.signals import services_saved_in_bulk
from apps.core.errors import ApplicationError
from apps.core.history import CHANGED, CREATED, history_insert

SKU_UNIQUE_CONSTRAINT = "catalog_service_sku_ci_unique"

SERVICE_EDITABLE_FIELDS = ("name", "description", "rate", "unit", "sku", "category", "tax_rate")
TAX_RATE_EDITABLE_FIELDS = ("name", "rate")


def _decimal(value: Any, *, field: str) -> Decimal:
    if isinstance(value, float):
        raise ValidationError({field: "Give the amount as text or a Decimal, not a float."})
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"“{value}” is not a number."}) from None


def service_normalize_sku(sku: str | None) -> str | None:
    """Strip spaces; a blank SKU is stored as NULL so that many services may have none."""
    sku = (sku or "").strip()
    return sku or None


def service_check_sku_available(*, sku: str | None, exclude_pk: int | None = None) -> None:
    """Refuse a SKU another service holds, in any letter case (SKUs are typed by people)."""
    sku = service_normalize_sku(sku)
    if sku is None:
        return
    holder = Service.objects.filter(sku__iexact=sku).exclude(pk=exclude_pk).first()
    if holder is not None:
        raise ValidationError({"sku": f"SKU “{sku}” is already used by “{holder.name}”."})


def _check_tax_rate(tax_rate: TaxRate | None, *, current: TaxRate | None = None) -> None:
    # A retired rate stays on the services that had it, but is not given to any more.
    if tax_rate is not None and not tax_rate.active and tax_rate != current:
        raise ValidationError({"tax_rate": f"Tax rate “{tax_rate.name}” is inactive."})


def _service_values(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(SERVICE_EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {name: f"“{name}” cannot be set on a service here." for name in unknown}
        )
    values = dict(data)
    for name in ("name", "description", "unit", "category"):
        if name in values:
            values[name] = (values[name] or "").strip()
    if "sku" in values:
        values["sku"] = service_normalize_sku(values["sku"])
    if "rate" in values:
        values["rate"] = _decimal(values["rate"], field="rate")
    return values


def _save(instance, *, actor) -> None:
    instance.full_clean()
    instance._history_user = actor
    instance.save()


def _is_sku_clash(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return SKU_UNIQUE_CONSTRAINT in str(error)
    errors = getattr(error, "error_dict", {}).get(NON_FIELD_ERRORS, [])
    return any(item.code == "sku_taken" for item in errors)


def _save_service(service: Service, *, actor) -> None:
    """Save through the model checks; a SKU taken meanwhile is a refusal on `sku`, not a 500.

    service_check_sku_available runs first, but another service can take the SKU before this
    one is written: the database's constraint then refuses it. The savepoint keeps the
    transaction readable after that, to name the holder.
    """
    try:
        with transaction.atomic():
            _save(service, actor=actor)
    except (ValidationError, IntegrityError) as error:
        if not _is_sku_clash(error):
            raise
        service_check_sku_available(sku=service.sku, exclude_pk=service.pk)  # names the holder
        raise ValidationError(
            {"sku": f"SKU “{service.sku}” is already used by another service."}
        ) from None


@transaction.atomic
def service_create(
    *,
    name: str,
    rate: Decimal | str | int,
    description: str = "",
    unit: str = "Each",
    sku: str | None = None,
    category: str = "General",
    tax_rate: TaxRate | None = None,
    actor=None,
) -> Service:
    """Add an active service to the catalogue."""
    values = _service_values(
        {
            "name": name,
            "rate": rate,
            "description": description,
            "unit": unit or "Each",
            "sku": sku,
            "category": category or "General",
            "tax_rate": tax_rate,
        }
    )
    service_check_sku_available(sku=values["sku"])
    _check_tax_rate(values["tax_rate"])
    service = Service(**values, active=True)
    _save_service(service, actor=actor)
    return service


@transaction.atomic
def service_update(*, service: Service, data: Mapping[str, Any], actor=None) -> Service:
    """Change the given fields. Quote lines copied the old values, so they do not move."""
    values = _service_values(data)
    changed = {name: value for name, value in values.items() if getattr(service, name) != value}
    if not changed:
        return service
    if "sku" in changed:
        service_check_sku_available(sku=changed["sku"], exclude_pk=service.pk)
    if "tax_rate" in changed:
        current = Service.objects.get(pk=service.pk).tax_rate
        _check_tax_rate(changed["tax_rate"], current=current)
    original = {name: getattr(service, name) for name in changed}
    for name, value in changed.items():
        setattr(service, name, value)
    try:
        _save_service(service, actor=actor)
    except ValidationError:
        for name, value in original.items():
            setattr(service, name, value)
        raise
    return service


def _set_active(instance, *, active: bool, actor, noun: str):
    locked = type(instance).objects.select_for_update().get(pk=instance.pk)
    if locked.active == active:
        state = "active" if active else "inactive"
        raise ApplicationError(f"{noun} “{locked.name}” is already {state}.")
    locked.active = active
    locked._history_user = actor
    locked.save(update_fields=["active", "updated_at"])
    instance.active, instance.updated_at = locked.active, locked.updated_at
    return instance


@transaction.atomic
def service_deactivate(*, service: Service, actor=None) -> Service:
    """Retire a service: it stays on existing quotes and invoices but is not offered any more."""
    return _set_active(service, active=False, actor=actor, noun="Service")


@transaction.atomic
def service_reactivate(*, service: Service, actor=None) -> Service:
    if service.tax_rate_id is not None:
        tax_rate = TaxRate.objects.get(pk=service.tax_rate_id)
        if not tax_rate.active:
            raise ApplicationError(
                f"Service “{service.name}” uses the inactive tax rate “{tax_rate.name}”; "
                "choose another tax rate first.",
                extra={"tax_rate": "inactive"},
            )
    return _set_active(service, active=True, actor=actor, noun="Service")


def _tax_rate_values(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(TAX_RATE_EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {name: f"“{name}” cannot be set on a tax rate here." for name in unknown}
        )
    values = dict(data)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
    if "rate" in values:
        values["rate"] = _decimal(values["rate"], field="rate")
    return values


@transaction.atomic
def tax_rate_create(*, name: str, rate: Decimal | str | int, actor=None) -> TaxRate:
    """Add a tax rate, in percent with up to three decimals (15, 7.125)."""
    values = _tax_rate_values({"name": name, "rate": rate})
    tax_rate = TaxRate(**values, active=True)
    _save(tax_rate, actor=actor)
    return tax_rate


@transaction.atomic
def tax_rate_update(*, tax_rate: TaxRate, data: Mapping[str, Any], actor=None) -> TaxRate:
    """Rename or re-rate. Existing quote and invoice lines keep the rate they copied."""
    values = _tax_rate_values(data)
    changed = {name: value for name, value in values.items() if getattr(tax_rate, name) != value}
    if not changed:
        return tax_rate
    original = {name: getattr(tax_rate, name) for name in changed}
    for name, value in changed.items():
        setattr(tax_rate, name, value)
    try:
        _save(tax_rate, actor=actor)
    except ValidationError:
        for name, value in original.items():
            setattr(tax_rate, name, value)
        raise
    return tax_rate


@transaction.atomic
def tax_rate_deactivate(*, tax_rate: TaxRate, actor=None) -> TaxRate:
    """Stop offering a rate; services that have it keep it until they are changed."""
    return _set_active(tax_rate, active=False, actor=actor, noun="Tax rate")


@transaction.atomic
def tax_rate_reactivate(*, tax_rate: TaxRate, actor=None) -> TaxRate:
    return _set_active(tax_rate, active=True, actor=actor, noun="Tax rate")


def _clean_fields(model, values: dict[str, Any]) -> dict[str, Any]:
    """Each given field checked as full_clean checks it; a refusal is keyed by field."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            values[name] = model._meta.get_field(name).clean(value, None)
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def service_import_values(
    data: Mapping[str, Any], *, current_tax_rate: TaxRate | None = None
) -> dict[str, Any]:
    """The values service_create or service_update would store for `data`, checked field by
    field as they check them (the SKU's availability aside: that needs every row, see
    services_import). `tax_rate` is a TaxRate; an inactive one is refused unless it is the
    service's `current_tax_rate`."""
    values = _service_values(data)
    tax_rate = values.pop("tax_rate", None)
    values = _clean_fields(Service, values)
    if "tax_rate" in data:
        _check_tax_rate(tax_rate, current=current_tax_rate)
        values["tax_rate"] = tax_rate
    return values


def tax_rate_import_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The values tax_rate_create or tax_rate_update would store for `data`, field by field."""
    return _clean_fields(TaxRate, _tax_rate_values(data))


def _require_rate(data: Mapping[str, Any]) -> None:
    if data.get("rate") in (None, ""):
        raise ValidationError({"rate": "A rate is required."})


def _bulk_write(model, *, created: list, updated: list, fields: set[str], actor, reason, now):
    # Updates first: a new row may take the SKU (or name) an existing one gives up.
    if updated:
        model.objects.bulk_update(updated, sorted({*fields, "updated_at"}), batch_size=500)
        history_insert(updated, history_type=CHANGED, user=actor, reason=reason, when=now)
    if created:
        created = model.objects.bulk_create(created, batch_size=500)
        history_insert(created, history_type=CREATED, user=actor, reason=reason, when=now)
    return created


def _apply(instance, values: dict[str, Any], now) -> set[str]:
    differing = {name: value for name, value in values.items() if getattr(instance, name) != value}
    for name, value in differing.items():
        setattr(instance, name, value)
    if differing:
        # bulk_update does not touch auto_now fields; the row did change, so its time moves.
        instance.updated_at = now
    return set(differing)


@transaction.atomic
def services_import(
    *,
    new: Sequence[Mapping[str, Any]],
    changed: Sequence[tuple[Service, Mapping[str, Any]]],
    actor=None,
    reason: str = "",
) -> tuple[list[Service], list[Service]]:
    """Create `new` services and apply `changed` values to existing ones, in a few statements.

    Writes what service_create and service_update write, in bulk: the rows, one history row per
    service written (`actor`, `reason`) and, through services_saved_in_bulk, what listeners
    (sync's outbox) keep for a saved service. A SKU is refused when another service holds it in
    any letter case, in the database or earlier in this batch. A refusal names the row by its
    index (`new[3].sku`) and writes nothing; services whose values do not differ are left alone.
    """
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    created: list[Service] = []
    updated: list[Service] = []
    fields: set[str] = set()
    # Who holds each SKU once this batch is written: the database's holders, then the batch's.
    moving = {service.pk for service, data in changed if "sku" in data}
    holders = dict(
        Service.objects.filter(sku__isnull=False)
        .exclude(pk__in=moving)
        .values_list(Upper("sku"), "pk")
    )
    claimed: dict[str, tuple[str, int | None]] = {}

    def claim(sku: str | None, *, label: str, pk: int | None) -> None:
        if sku is None:
            return
        key = sku.upper()
        holder = holders.get(key)
        if (holder is not None and holder != pk) or key in claimed:
            errors[f"{label}.sku"] = [f"SKU “{sku}” is already used by another service."]
        claimed[key] = (label, pk)

    for index, (service, data) in enumerate(changed):
        label = f"changed[{index}]"
        try:
            values = service_import_values(data, current_tax_rate=service.tax_rate)
        except ValidationError as error:
            errors.update({f"{label}.{k}": v for k, v in error.message_dict.items()})
            continue
        claim(values.get("sku", service.sku), label=label, pk=service.pk)
        differing = _apply(service, values, now)
        if differing:
            fields.update(differing)
            updated.append(service)
    for index, data in enumerate(new):
        label = f"new[{index}]"
        try:
            _require_rate(data)
            values = service_import_values(
                {
                    "name": "",
                    "unit": "Each",
                    "category": "General",
                    **data,
                    "tax_rate": data.get("tax_rate"),
                }
            )
        except ValidationError as error:
            errors.update({f"{label}.{k}": v for k, v in error.message_dict.items()})
            continue
        claim(values.get("sku"), label=label, pk=None)
        created.append(Service(**values, active=True))
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            created = _bulk_write(
                Service,
                created=created,
                updated=updated,
                fields=fields,
                actor=actor,
                reason=reason,
                now=now,
            )
    except IntegrityError as error:
        if SKU_UNIQUE_CONSTRAINT not in str(error):
            raise
        # Another service took a SKU after it was checked (a concurrent save or import): name
        # the rows that claimed a SKU now held by someone else. The savepoint kept this readable.
        held = dict(
            Service.objects.annotate(key=Upper("sku"))
            .filter(key__in=list(claimed))
            .values_list("key", "pk")
        )
        raise ValidationError(
            {
                f"{label}.sku": ["This SKU was just taken by another service."]
                for key, (label, pk) in claimed.items()
                if key in held and held[key] != pk
            }
            or {"sku": ["A SKU in this batch was just taken by another service."]}
        ) from None
    if created or updated:
        services_saved_in_bulk.send(sender=Service, instances=[*created, *updated])
    return created, updated


@transaction.atomic
def tax_rates_import(
    *,
    new: Sequence[Mapping[str, Any]],
    changed: Sequence[tuple[TaxRate, Mapping[str, Any]]],
    actor=None,
    reason: str = "",
) -> tuple[list[TaxRate], list[TaxRate]]:
    """Create `new` tax rates and apply `changed` values to existing ones, in a few statements,
    with a history row each (`actor`, `reason`). A name held by another rate (in any letter
    case, in the database or earlier in the batch) is refused; a refusal writes nothing."""
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    created: list[TaxRate] = []
    updated: list[TaxRate] = []
    fields: set[str] = set()
    renamed = {rate.pk for rate, data in changed if "name" in data}
    holders = dict(
        TaxRate.objects.exclude(pk__in=renamed).values_list(Lower("name"), "pk").iterator()
    )
    claimed: set[str] = set()

    def claim(name: str, *, label: str, pk: int | None) -> None:
        key = name.lower()
        holder = holders.get(key)
        if (holder is not None and holder != pk) or key in claimed:
            errors[f"{label}.name"] = [f"Tax rate “{name}” already exists."]
        claimed.add(key)

    for index, (tax_rate, data) in enumerate(changed):
        label = f"changed[{index}]"
        try:
            values = tax_rate_import_values(data)
        except ValidationError as error:
            errors.update({f"{label}.{k}": v for k, v in error.message_dict.items()})
            continue
        claim(values.get("name", tax_rate.name), label=label, pk=tax_rate.pk)
        differing = _apply(tax_rate, values, now)
        if differing:
            fields.update(differing)
            updated.append(tax_rate)
    for index, data in enumerate(new):
        label = f"new[{index}]"
        try:
            _require_rate(data)
            values = tax_rate_import_values({"name": "", **data})
        except ValidationError as error:
            errors.update({f"{label}.{k}": v for k, v in error.message_dict.items()})
            continue
        claim(values["name"], label=label, pk=None)
        created.append(TaxRate(**values, active=True))
    if errors:
        raise ValidationError(errors)
    created = _bulk_write(
        TaxRate,
        created=created,
        updated=updated,
        fields=fields,
        actor=actor,
        reason=reason,
        now=now,
    )
    return created, updated
